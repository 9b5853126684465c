package tools

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/carebook/carebook/store"
)

// PreviewLimit is how many patients a write preview lists by name.
const PreviewLimit = 10

// Plan is a validated, resolved action, ready to preview and execute.
type Plan struct {
	Action Action
	Tool   string
	// Write is true when executing changes the database and so needs a
	// confirmation first.
	Write bool
	// Summary says in one line what executing will do.
	Summary string
	// Targets are the first PreviewLimit patients a write touches, and
	// TargetCount how many in all.
	Targets     []store.Patient
	TargetCount int
	// NewTag is set when a tag action would create a tag that does not
	// exist yet, so that a typo is caught before it is written.
	NewTag bool
	// SimilarTag is an existing tag a new one is within a small edit
	// distance of: "did you mean recall-due?" before it is created.
	SimilarTag string
	// NoOp says executing would change nothing (every patient has the tag
	// already, none has the tag to remove): the person is told so, and
	// nothing is asked or written.
	NoOp bool
	// FutureAt is set when an interaction is logged at a time still to
	// come, as the preview shows it, so that the confirmation asks about it.
	FutureAt string
	// Message is the sentence of a clarify or refuse action.
	Message string
	// Changes are the fields a write changes on one patient, before and
	// after (an edit, a merge's filled blanks, a new patient's details).
	Changes []FieldChange
	// Duplicates are existing patients a new record may be: the preview
	// lists them first.
	Duplicates []store.Duplicate

	// Exactly one of read and write is set. read answers from the
	// database and says which patients its answer shows; write changes it
	// in the caller's transaction.
	read  func(ctx context.Context, r store.Reader) (res *Result, shown []int64, err error)
	write func(ctx context.Context, tx *store.Tx) (*Result, error)
}

// Result is what executing a plan produced.
type Result struct {
	Tool string `json:"tool"`
	// Kind is patients, appointments, interactions, count, groups, write,
	// clarify or refuse.
	Kind         string              `json:"kind"`
	Patients     []store.Patient     `json:"-"`
	Appointments []store.Appointment `json:"-"`
	Interactions []store.Interaction `json:"-"`
	Tasks        []store.Task        `json:"-"`
	Count        int                 `json:"count"`
	// Total is how many matched when a limit cut the list short (the list
	// holds Count of them); 0 when the list is whole.
	Total   int                `json:"total,omitempty"`
	Groups  []store.GroupCount `json:"-"`
	GroupBy string             `json:"group_by,omitempty"`
	// Changed lists the patients a write changed.
	Changed []int64 `json:"-"`
	Message string  `json:"message,omitempty"`
}

// Prepare validates an action against its schema and the database, and
// resolves it: names to patients, relative dates to times, filters to the
// patients they select. Nothing is written.
//
// r is the database as the caller sees it: st.Reader(), or a transaction's
// reader when a batch prepares each line in the transaction that writes it.
func Prepare(ctx context.Context, r store.Reader, a Action, env Env) (*Plan, error) {
	switch a.Tool {
	case ToolQuery:
		return prepareQuery(ctx, r, a, env)
	case ToolTag, ToolUntag:
		return prepareTag(ctx, r, a, env)
	case ToolLogInteraction:
		return prepareLog(ctx, r, a, env)
	case ToolClarify, ToolRefuse:
		return prepareMessage(a)
	case ToolRenameTag:
		return prepareRenameTag(ctx, r, a)
	case ToolDeleteTag:
		return prepareDeleteTag(ctx, r, a)
	case ToolUpdatePatient:
		return prepareUpdatePatient(ctx, r, a, env)
	case ToolSetConsent:
		return prepareConsent(ctx, r, a, env)
	case ToolAddTask:
		return prepareAddTask(ctx, r, a, env)
	case ToolCompleteTask:
		return prepareCompleteTask(ctx, r, a, env)
	case ToolReopenTask:
		return prepareReopenTask(ctx, r, a)
	case ToolAddPatient:
		return prepareAddPatient(ctx, r, a, env)
	case ToolMergePatients:
		return prepareMerge(ctx, r, a)
	}
	return nil, invalidf("there is no tool %q (tools: %s)", a.Tool, strings.Join(AllTools, ", "))
}

// PrepareForModel is Prepare for an action a model chose: a tool the
// model may not choose (adding or merging patients, reopening a task) is
// refused with a sentence it can act on. The schema offers it none of
// these, but the schema is no security boundary.
func PrepareForModel(ctx context.Context, r store.Reader, a Action, env Env) (*Plan, error) {
	if !ForModel(a.Tool) && slices.Contains(AllTools, a.Tool) {
		return nil, invalidf("%s is not done from a plain-language request: it is a plain command (carebook patient add, patient merge, task reopen, tag rename, tag delete); choose another tool, or refuse", a.Tool)
	}
	return Prepare(ctx, r, a, env)
}

// Execute runs the plan. Every execution, read or write, appends one audit
// row; a write and its row commit in one transaction, and a read's row is
// written before its answer is returned: a read that cannot be logged is
// not shown.
func (p *Plan) Execute(ctx context.Context, st *store.Store, audit store.AuditEntry) (*Result, error) {
	audit.Action = p.Action.JSON()
	if p.write != nil {
		var res *Result
		unit := p.Unit(ctx, audit, &res)
		if err := st.Write(ctx, unit.Entry, unit.Fn); err != nil {
			return nil, err
		}
		return res, nil
	}
	res, shown, err := p.read(ctx, st.Reader())
	if err != nil {
		st.LogOutcome(context.WithoutCancel(ctx), audit, nil, 0, store.OutcomeError, err.Error())
		return nil, err
	}
	outcome := store.OutcomeOK
	if res.Kind == ToolRefuse {
		outcome = store.OutcomeRefused
	}
	msg := ""
	if res.Kind == ToolClarify || res.Kind == ToolRefuse {
		msg = res.Message
	}
	if err := st.LogOutcome(ctx, audit, shown, res.Count, outcome, msg); err != nil {
		return nil, err
	}
	return res, nil
}

// Grouped says whether the plan can be one unit of a group commit: a write,
// or a query (whose answer is read in the group's transaction, so that it
// sees the lines before it, and whose audit row commits with the group
// before the answer is shown). A model's clarify or refuse is not.
func (p *Plan) Grouped() bool { return p.write != nil || p.Tool == ToolQuery }

// Unit is the plan as one unit of a group commit (store.WriteEach): *res
// is set once its work is done in the transaction. It panics for a plan
// that is not Grouped.
func (p *Plan) Unit(ctx context.Context, audit store.AuditEntry, res **Result) store.Unit {
	if !p.Grouped() {
		panic("tools: Unit of a plan that is not grouped")
	}
	audit.Action = p.Action.JSON()
	if p.write == nil {
		return store.Unit{Entry: audit, Fn: func(tx *store.Tx) error {
			r, shown, err := p.read(ctx, tx.Reader)
			if err != nil {
				return err
			}
			tx.Touch(shown...)
			tx.AddRows(r.Count)
			*res = r
			return nil
		}}
	}
	return store.Unit{Entry: audit, Fn: func(tx *store.Tx) error {
		r, err := p.write(ctx, tx)
		if err == nil {
			*res = r
		}
		return err
	}}
}

func prepareMessage(a Action) (*Plan, error) {
	var args MessageArgs
	if err := decodeArgs(a, &args); err != nil {
		return nil, err
	}
	msg := strings.TrimSpace(args.Message)
	if msg == "" {
		return nil, invalidf("%s needs a message for the user", a.Tool)
	}
	kind := a.Tool
	p := &Plan{Action: a, Tool: a.Tool, Message: msg, Summary: msg}
	p.read = func(context.Context, store.Reader) (*Result, []int64, error) {
		return &Result{Tool: kind, Kind: kind, Message: msg}, nil, nil
	}
	return p, nil
}

// selection is the patients a write targets: one resolved patient, or a
// filter that must select at least one.
type selection struct {
	filter store.PatientFilter
	ids    []int64
	// patients holds the resolved patient of a one-patient selection, so
	// that the preview does not look them up again.
	patients []store.Patient
}

func resolveSelection(ctx context.Context, r store.Reader, a Action, ref *PatientRef, where *PatientWhere, env Env) (selection, error) {
	tool := a.Tool
	switch {
	case ref != nil && where != nil:
		return selection{}, invalidf("%s takes either one patient or a filter (where), not both", tool)
	case ref == nil && where == nil:
		return selection{}, invalidf("%s needs a patient, or a filter (where) selecting patients", tool)
	case ref != nil:
		p, err := ResolvePatient(ctx, r, *ref)
		if err != nil {
			return selection{}, err
		}
		return selection{filter: store.PatientFilter{IDs: []int64{p.ID}}, ids: []int64{p.ID}, patients: []store.Patient{p}}, nil
	}
	vocab, err := r.Vocabulary(ctx, vocabFor(a.Args)...)
	if err != nil {
		return selection{}, err
	}
	f, err := resolveWhere(ctx, r, where, env, vocab)
	if err != nil {
		return selection{}, err
	}
	if f.IsEmpty() {
		return selection{}, invalidf("%s with an empty filter would change every patient; add a condition to where", tool)
	}
	ids, err := r.PatientIDs(ctx, f)
	if err != nil {
		return selection{}, err
	}
	return selection{filter: f, ids: ids}, nil
}

// canonical names a one-patient selection's patient by MRN in the plan's
// action, whatever was typed: the audit log keeps the action.
func (s selection) canonical(p *Plan) error {
	if len(s.patients) != 1 {
		return nil
	}
	a, err := WithPatient(p.Action, s.patients[0].MRN)
	if err != nil {
		return err
	}
	p.Action = a
	return nil
}

// ErrSelectionChanged says a write's patients are no longer those its plan
// selected: another change came in between. Nothing was written.
var ErrSelectionChanged = errors.New("the patients selected changed since the preview (another change came in); nothing was written, run the request again")

// reselect runs the selection again inside the write's transaction. If the
// patients differ from those the user confirmed (another process changed
// the data in between), the write stops rather than touch anyone unseen.
func (s selection) reselect(ctx context.Context, tx *store.Tx) ([]int64, error) {
	ids, err := tx.PatientIDs(ctx, s.filter)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(ids, s.ids) {
		return nil, ErrSelectionChanged
	}
	return ids, nil
}

func previewTargets(ctx context.Context, r store.Reader, p *Plan, sel selection) error {
	ids := sel.ids
	p.TargetCount = len(ids)
	if len(sel.patients) == len(ids) && len(ids) > 0 {
		p.Targets = sel.patients
		return nil
	}
	first := ids[:min(len(ids), PreviewLimit)]
	if len(first) == 0 {
		return nil
	}
	ps, err := r.FindPatients(ctx, store.PatientFilter{IDs: first}, 0)
	if err != nil {
		return err
	}
	p.Targets = ps
	return nil
}

func prepareTag(ctx context.Context, r store.Reader, a Action, env Env) (*Plan, error) {
	var args TagArgs
	if err := decodeArgs(a, &args); err != nil {
		return nil, err
	}
	tag := strings.ToLower(strings.TrimSpace(args.Tag))
	if !store.ValidTagName(tag) {
		return nil, invalidf("tag %q is not lowercase-kebab (like refill-overdue)", args.Tag)
	}
	sel, err := resolveSelection(ctx, r, a, args.Patient, args.Where, env)
	if err != nil {
		return nil, err
	}
	exists, err := r.TagExists(ctx, tag)
	if err != nil {
		return nil, err
	}
	if a.Tool == ToolUntag && !exists {
		return nil, invalidf("there is no tag %q to remove", tag)
	}
	p := &Plan{Action: a, Tool: a.Tool, Write: true, NewTag: a.Tool == ToolTag && !exists}
	if p.NewTag {
		if p.SimilarTag, err = similarTag(ctx, r, tag); err != nil {
			return nil, err
		}
	}
	if err := sel.canonical(p); err != nil {
		return nil, err
	}
	if err := previewTargets(ctx, r, p, sel); err != nil {
		return nil, err
	}
	already := 0
	switch {
	case len(sel.patients) == 1:
		// The resolved patient carries their tags already.
		if slices.Contains(sel.patients[0].Tags, tag) {
			already = 1
		}
	case exists && len(sel.ids) > 0:
		has, err := r.TaggedAmong(ctx, tag, sel.ids)
		if err != nil {
			return nil, err
		}
		already = len(has)
	}
	who := plural(len(sel.ids), "patient", "patients")
	if a.Tool == ToolTag {
		p.Summary = fmt.Sprintf("Tag %s as %s", who, tag)
		if p.NewTag && p.SimilarTag != "" {
			p.Summary += fmt.Sprintf(" (new tag; did you mean %s?)", p.SimilarTag)
		} else if p.NewTag {
			p.Summary += " (new tag)"
		} else if already > 0 {
			p.Summary += fmt.Sprintf(" (%d already tagged)", already)
		}
	} else {
		p.Summary = fmt.Sprintf("Remove tag %s from %s", tag, who)
		if n := len(sel.ids) - already; n > 0 {
			p.Summary += fmt.Sprintf(" (%d do not have it)", n)
		}
	}
	if noop := noOpSentence(a.Tool, tag, p.Targets, len(sel.ids), already); noop != "" {
		p.NoOp, p.Summary = true, noop
	}
	p.write = func(ctx context.Context, tx *store.Tx) (*Result, error) {
		res := &Result{Tool: a.Tool, Kind: "write"}
		ids, err := sel.reselect(ctx, tx)
		if err != nil {
			return nil, err
		}
		if a.Tool == ToolTag {
			res.Changed, err = tx.AddTag(ctx, tag, ids)
		} else {
			res.Changed, err = tx.RemoveTag(ctx, tag, ids)
		}
		if err != nil {
			return nil, err
		}
		res.Count = len(res.Changed)
		if a.Tool == ToolTag {
			res.Message = fmt.Sprintf("Tagged %s as %s.", plural(res.Count, "patient", "patients"), tag)
		} else {
			res.Message = fmt.Sprintf("Removed tag %s from %s.", tag, plural(res.Count, "patient", "patients"))
		}
		return res, nil
	}
	return p, nil
}

func prepareLog(ctx context.Context, r store.Reader, a Action, env Env) (*Plan, error) {
	var args LogArgs
	if err := decodeArgs(a, &args); err != nil {
		return nil, err
	}
	in := store.NewInteraction{
		Channel:   store.Channel(strings.ToLower(strings.TrimSpace(args.Channel))),
		Direction: store.Direction(strings.ToLower(strings.TrimSpace(args.Direction))),
		Staff:     strings.TrimSpace(args.Staff),
		Summary:   strings.TrimSpace(args.Summary),
		At:        env.Now,
	}
	if in.Direction == "" {
		in.Direction = store.DirectionOutbound
	}
	if in.Staff == "" {
		in.Staff = env.Staff
	}
	if !in.Channel.Valid() {
		return nil, invalidf("channel must be one of %s, not %q", joinStrings(store.Channels), args.Channel)
	}
	if !in.Direction.Valid() {
		return nil, invalidf("direction must be inbound or outbound, not %q", args.Direction)
	}
	if in.Summary == "" {
		return nil, invalidf("log_interaction needs a summary of what happened")
	}
	// The store's limits, as an import checks them; the messages never
	// repeat the value.
	if err := store.CheckText(in.Summary, store.MaxTextLen); err != nil {
		return nil, invalidf("summary %v", err)
	}
	if err := store.CheckLine(in.Staff, store.MaxLabelLen); err != nil {
		return nil, invalidf("staff %v", err)
	}
	if args.At != "" {
		if err := store.CheckLine(args.At, store.MaxLabelLen); err != nil {
			return nil, invalidf("at %v", err)
		}
		at, err := ParsePoint(args.At, env.Now)
		if err != nil {
			return nil, &ValidationError{Msg: "at: " + err.Error()}
		}
		if err := store.CheckWhen(at); err != nil {
			return nil, invalidf("at %v", err)
		}
		in.At = at
	}
	sel, err := resolveSelection(ctx, r, a, args.Patient, args.Where, env)
	if err != nil {
		return nil, err
	}
	p := &Plan{Action: a, Tool: a.Tool, Write: true}
	if in.At.After(env.Now) {
		p.FutureAt = in.At.Format("2006-01-02 15:04")
	}
	if err := sel.canonical(p); err != nil {
		return nil, err
	}
	if err := previewTargets(ctx, r, p, sel); err != nil {
		return nil, err
	}
	p.Summary = fmt.Sprintf("Log %s %s %s for %s at %s: %q", article(string(in.Direction)), in.Direction, in.Channel,
		plural(len(sel.ids), "patient", "patients"), in.At.Format("2006-01-02 15:04"), in.Summary)
	p.write = func(ctx context.Context, tx *store.Tx) (*Result, error) {
		res := &Result{Tool: a.Tool, Kind: "write"}
		ids, err := sel.reselect(ctx, tx)
		if err != nil {
			return nil, err
		}
		if _, err := tx.LogInteraction(ctx, in, ids); err != nil {
			return nil, err
		}
		res.Changed = ids
		res.Count = len(res.Changed)
		res.Message = fmt.Sprintf("Logged %s %s for %s.", in.Direction, in.Channel, plural(res.Count, "patient", "patients"))
		return res, nil
	}
	return p, nil
}

func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
