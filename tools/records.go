package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/carebook/carebook/importer"
	"github.com/carebook/carebook/store"
)

// The everyday-records tools: a patient's contact details and status, their
// marketing consent, follow-up tasks and recalls, and (from plain commands
// only) adding and merging patients. Each is previewed with the fields it
// changes, before and after, and its audit row notes the old and new
// values (store.Tx.Note), which the action alone does not hold.

// DuplicateError says a new record matches patients the practice has
// already (name and date of birth, email or phone). It lists them, as a
// list of namesakes is listed, so that the person can use the record that
// exists; AllowDuplicate adds the new one anyway.
type DuplicateError struct {
	Candidates []store.Duplicate
}

func (e *DuplicateError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s already %s this record; if it is the same person, use that record (carebook show MRN); if not, add it anyway with allow_duplicate (carebook patient add --allow-duplicate):",
		plural(len(e.Candidates), "patient", "patients"), map[bool]string{true: "matches", false: "match"}[len(e.Candidates) == 1])
	for _, d := range e.Candidates {
		keys := make([]string, len(d.Keys))
		for i, k := range d.Keys {
			keys[i] = string(k)
		}
		fmt.Fprintf(&b, "\n  %s  %s  born %s  (same %s)", d.Patient.MRN, d.Patient.FullName(), dateOrUnknown(d.Patient.DOB), strings.Join(keys, ", "))
	}
	return b.String()
}

// contact is a patient's contact details and status as an edit sets them:
// each non-nil field normalised and checked.
type contact struct {
	email, phone, city, language, status *string
}

// normaliseContact checks the values given; the messages never repeat them.
func normaliseContact(email, phone, city, language, status *string) (contact, error) {
	var c contact
	if email != nil {
		v := strings.TrimSpace(*email)
		if v != "" {
			if err := store.CheckLine(v, store.MaxEmailLen); err != nil {
				return c, invalidf("email %v", err)
			}
			e, ok := importer.NormalizeEmail(v)
			if !ok {
				return c, invalidf("email is not an email address (expected name@domain); check it and try again")
			}
			v = e
		}
		c.email = &v
	}
	if phone != nil {
		v := strings.TrimSpace(*phone)
		if v != "" {
			d, ok := importer.NormalizePhone(v)
			if !ok {
				return c, invalidf("phone is not a phone number (expected 7 to 15 digits, like (555) 123-4567); check it and try again")
			}
			v = d
		}
		c.phone = &v
	}
	if city != nil {
		v := strings.TrimSpace(*city)
		if err := store.CheckLine(v, store.MaxLabelLen); err != nil {
			return c, invalidf("city %v", err)
		}
		c.city = &v
	}
	if language != nil {
		v := strings.TrimSpace(*language)
		if err := store.CheckLine(v, store.MaxLabelLen); err != nil {
			return c, invalidf("language %v", err)
		}
		if v != "" {
			v = importer.NormalizeLanguage(v)
		}
		c.language = &v
	}
	if status != nil {
		v := strings.ToLower(strings.TrimSpace(*status))
		if !store.Status(v).Valid() {
			return c, invalidf("status must be active, inactive or deceased, not %q", *status)
		}
		c.status = &v
	}
	return c, nil
}

// contactFields are the fields an edit may change, in display order, with
// how each is read from a patient and shown to people.
var contactFields = []struct {
	name string
	get  func(store.Patient) string
	show func(string) string
}{
	{"email", func(p store.Patient) string { return p.Email }, nil},
	{"phone", func(p store.Patient) string { return p.Phone }, store.FormatPhone},
	{"city", func(p store.Patient) string { return p.City }, nil},
	{"language", func(p store.Patient) string { return p.Language }, nil},
	{"status", func(p store.Patient) string { return string(p.Status) }, nil},
}

func (c contact) value(field string) *string {
	switch field {
	case "email":
		return c.email
	case "phone":
		return c.phone
	case "city":
		return c.city
	case "language":
		return c.language
	}
	return c.status
}

// changes compares c with p: the fields that differ, for people, and the
// old and new stored values, for the audit row.
func (c contact) changes(p store.Patient) (shown []FieldChange, before, after map[string]string) {
	before, after = map[string]string{}, map[string]string{}
	for _, f := range contactFields {
		v := c.value(f.name)
		if v == nil || *v == f.get(p) {
			continue
		}
		old, now := f.get(p), *v
		before[f.name], after[f.name] = old, now
		if f.show != nil {
			old, now = f.show(old), f.show(now)
		}
		shown = append(shown, FieldChange{Field: f.name, Before: old, After: now})
	}
	return shown, before, after
}

func (c contact) update(fields map[string]string) store.PatientUpdate {
	var u store.PatientUpdate
	for name, v := range fields {
		v := v
		switch name {
		case "email":
			u.Email = &v
		case "phone":
			u.Phone = &v
		case "city":
			u.City = &v
		case "language":
			u.Language = &v
		case "status":
			s := store.Status(v)
			u.Status = &s
		}
	}
	return u
}

// note renders old and new values for an audit row's message.
func note(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// errChanged stops a write whose patient changed between its preview and
// its confirmation: it would not do what the person saw.
var errChanged = errors.New("the patient's record changed since the preview (another change came in); nothing was written, run the request again")

func needPatient(tool string, ref *PatientRef) error {
	if ref == nil {
		return invalidf("%s needs the patient (patient.match: an MRN, an email or a name)", tool)
	}
	return nil
}

// onePatient is a plan's one resolved patient, and its action naming them
// by MRN.
func onePatient(ctx context.Context, r store.Reader, p *Plan, ref PatientRef) (store.Patient, error) {
	pt, err := ResolvePatient(ctx, r, ref)
	if err != nil {
		return store.Patient{}, err
	}
	if p.Action, err = WithPatient(p.Action, pt.MRN); err != nil {
		return store.Patient{}, err
	}
	p.Targets, p.TargetCount = []store.Patient{pt}, 1
	return pt, nil
}

func prepareUpdatePatient(ctx context.Context, r store.Reader, a Action, env Env) (*Plan, error) {
	var args UpdatePatientArgs
	if err := decodeArgs(a, &args); err != nil {
		return nil, err
	}
	if err := needPatient(a.Tool, args.Patient); err != nil {
		return nil, err
	}
	c, err := normaliseContact(args.Email, args.Phone, args.City, args.Language, args.Status)
	if err != nil {
		return nil, err
	}
	if c == (contact{}) {
		return nil, invalidf("update_patient needs a field to change: email, phone, city, language or status")
	}
	p := &Plan{Action: a, Tool: a.Tool, Write: true}
	pt, err := onePatient(ctx, r, p, *args.Patient)
	if err != nil {
		return nil, err
	}
	shown, before, after := c.changes(pt)
	if len(shown) == 0 {
		// A write that would change nothing is said so and asked nothing,
		// as a tag already there is: not an error.
		p.NoOp, p.Summary = true, fmt.Sprintf("%s already has these values; nothing to do", pt.MRN)
		return p, nil
	}
	p.Changes = shown
	names := make([]string, len(shown))
	for i, ch := range shown {
		names[i] = ch.Field
	}
	p.Summary = fmt.Sprintf("Update %s %s: %s", pt.MRN, pt.FullName(), strings.Join(names, ", "))
	p.write = func(ctx context.Context, tx *store.Tx) (*Result, error) {
		fresh, err := tx.PatientByID(ctx, pt.ID)
		if err != nil {
			return nil, errChanged
		}
		// Every field the preview showed must still hold what it showed.
		for _, f := range contactFields {
			if old, ok := before[f.name]; ok && f.get(fresh) != old {
				return nil, errChanged
			}
		}
		if err := tx.UpdatePatient(ctx, pt.ID, c.update(after)); err != nil {
			return nil, err
		}
		tx.Note(note(map[string]any{"before": before, "after": after}))
		return &Result{Tool: a.Tool, Kind: "write", Changed: []int64{pt.ID}, Count: 1,
			Message: fmt.Sprintf("Updated %s: %s.", pt.MRN, strings.Join(names, ", "))}, nil
	}
	return p, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func prepareConsent(ctx context.Context, r store.Reader, a Action, env Env) (*Plan, error) {
	var args ConsentArgs
	if err := decodeArgs(a, &args); err != nil {
		return nil, err
	}
	if err := needPatient(a.Tool, args.Patient); err != nil {
		return nil, err
	}
	if args.Marketing == nil {
		return nil, invalidf("set_consent needs marketing: true (the patient opts in) or false (opts out)")
	}
	source := store.ConsentSource(strings.ToLower(strings.TrimSpace(args.Source)))
	if !source.Valid() {
		return nil, invalidf("source must be %s: how the decision reached the practice", joinStrings(store.StaffSources))
	}
	at := env.Now
	if args.At != "" {
		if err := store.CheckLine(args.At, store.MaxLabelLen); err != nil {
			return nil, invalidf("at %v", err)
		}
		t, err := ParsePoint(args.At, env.Now)
		if err != nil {
			return nil, &ValidationError{Msg: "at: " + err.Error()}
		}
		if t.After(env.Now) {
			return nil, invalidf("at is in the future; a consent decision is recorded once it is made")
		}
		at = t
	}
	marketing := *args.Marketing
	p := &Plan{Action: a, Tool: a.Tool, Write: true}
	pt, err := onePatient(ctx, r, p, *args.Patient)
	if err != nil {
		return nil, err
	}
	if pt.MarketingConsent == marketing {
		p.NoOp, p.Summary = true, fmt.Sprintf("%s has already %s marketing; nothing to do", pt.MRN, map[bool]string{true: "opted in to", false: "opted out of"}[marketing])
		return p, nil
	}
	p.Changes = []FieldChange{{Field: "marketing_consent", Before: yesNo(pt.MarketingConsent), After: yesNo(marketing)}}
	verb := "opting out of"
	if marketing {
		verb = "opting in to"
	}
	p.Summary = fmt.Sprintf("Record %s %s %s marketing (by %s, %s)", pt.MRN, pt.FullName(), verb, source, at.Format(time.DateOnly))
	p.write = func(ctx context.Context, tx *store.Tx) (*Result, error) {
		fresh, err := tx.PatientByID(ctx, pt.ID)
		if err != nil || fresh.MarketingConsent != pt.MarketingConsent {
			return nil, errChanged
		}
		if err := tx.SetConsent(ctx, pt.ID, marketing, at, source); err != nil {
			return nil, err
		}
		tx.Note(note(map[string]any{"before": map[string]bool{"marketing_consent": pt.MarketingConsent},
			"after": map[string]bool{"marketing_consent": marketing}, "source": source}))
		return &Result{Tool: a.Tool, Kind: "write", Changed: []int64{pt.ID}, Count: 1,
			Message: fmt.Sprintf("Recorded: %s %s marketing.", pt.MRN, map[bool]string{true: "opted in to", false: "opted out of"}[marketing])}, nil
	}
	return p, nil
}

// staffName checks an assignee: any name while the practice keeps no staff
// list (a practice of one), else one of its staff, spelled as listed.
func staffName(ctx context.Context, r store.Reader, name string) (string, error) {
	if err := store.CheckLine(name, store.MaxLabelLen); err != nil {
		return "", invalidf("assign_to %v", err)
	}
	staff, err := r.ListStaff(ctx)
	if err != nil || len(staff) == 0 {
		return name, err
	}
	var names []string
	for _, s := range staff {
		if strings.EqualFold(s.Name, name) {
			return s.Name, nil
		}
		if !s.Disabled {
			names = append(names, s.Name)
		}
	}
	return "", invalidf("there is no staff member %q to assign the task to (staff: %s)", name, strings.Join(names, ", "))
}

func prepareAddTask(ctx context.Context, r store.Reader, a Action, env Env) (*Plan, error) {
	var args AddTaskArgs
	if err := decodeArgs(a, &args); err != nil {
		return nil, err
	}
	t := store.NewTask{Kind: store.KindTask, Text: strings.TrimSpace(args.Text)}
	if t.Text == "" {
		return nil, invalidf("add_task needs text: what to do (for a recall, its reason)")
	}
	if err := store.CheckText(t.Text, store.MaxTextLen); err != nil {
		return nil, invalidf("text %v", err)
	}
	if args.Due != "" {
		if err := store.CheckLine(args.Due, store.MaxLabelLen); err != nil {
			return nil, invalidf("due %v", err)
		}
		due, err := ParseDue(args.Due, env.Now)
		if err != nil {
			return nil, &ValidationError{Msg: "due: " + err.Error()}
		}
		t.Due = due
	}
	if name := strings.TrimSpace(args.AssignTo); name != "" {
		var err error
		if t.AssignedTo, err = staffName(ctx, r, name); err != nil {
			return nil, err
		}
	}
	if args.Where != nil {
		// A recall: a reason and a due date for every patient the filter
		// selects, assigned to whoever picks it up unless named.
		t.Kind = store.KindRecall
		if t.Due.IsZero() {
			return nil, invalidf(`a recall for every patient a filter selects needs a due date (due), like "in 2 weeks"`)
		}
	} else if t.AssignedTo == "" {
		t.AssignedTo = env.Staff
	}
	sel, err := resolveSelection(ctx, r, a, args.Patient, args.Where, env)
	if err != nil {
		return nil, err
	}
	p := &Plan{Action: a, Tool: a.Tool, Write: true}
	if err := sel.canonical(p); err != nil {
		return nil, err
	}
	// The action the audit log keeps says the day, not "next tuesday".
	if !t.Due.IsZero() {
		if p.Action, err = withArg(p.Action, "due", t.Due.Format(time.DateOnly)); err != nil {
			return nil, err
		}
	}
	if err := previewTargets(ctx, r, p, sel); err != nil {
		return nil, err
	}
	what := "a task"
	if t.Kind == store.KindRecall {
		what = "a recall task"
	}
	p.Summary = fmt.Sprintf("Add %s for %s: %q", what, plural(len(sel.ids), "patient", "patients"), t.Text)
	if !t.Due.IsZero() {
		p.Summary += ", due " + FormatDue(t.Due)
	}
	if t.AssignedTo != "" {
		p.Summary += ", assigned to " + t.AssignedTo
	}
	p.write = func(ctx context.Context, tx *store.Tx) (*Result, error) {
		ids, err := sel.reselect(ctx, tx)
		if err != nil {
			return nil, err
		}
		newIDs, err := tx.AddTasks(ctx, t, ids)
		if err != nil {
			return nil, err
		}
		res := &Result{Tool: a.Tool, Kind: "write", Changed: ids, Count: len(newIDs)}
		switch len(newIDs) {
		case 0:
			res.Message = "Added no task: the filter selects no patient."
		case 1:
			res.Message = fmt.Sprintf("Added task %d.", newIDs[0])
		default:
			res.Message = fmt.Sprintf("Added %d tasks (%d to %d).", len(newIDs), newIDs[0], newIDs[len(newIDs)-1])
		}
		return res, nil
	}
	return p, nil
}

// withArg returns a with one argument set to v.
func withArg(a Action, key string, v any) (Action, error) {
	var args map[string]json.RawMessage
	if err := json.Unmarshal(a.Args, &args); err != nil || args == nil {
		return Action{}, fmt.Errorf("rewrite the %s action: its arguments are not an object", a.Tool)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return Action{}, err
	}
	args[key] = raw
	b, err := json.Marshal(args)
	if err != nil {
		return Action{}, fmt.Errorf("rewrite the %s action: %w", a.Tool, err)
	}
	return Action{Tool: a.Tool, Args: b}, nil
}

// findTask is the task a complete_task names: by id, or by the patient
// and words of its text among their open tasks.
func findTask(ctx context.Context, r store.Reader, args CompleteTaskArgs) (store.Task, store.Patient, error) {
	var pt store.Patient
	var err error
	if args.Patient != nil {
		if pt, err = ResolvePatient(ctx, r, *args.Patient); err != nil {
			return store.Task{}, pt, err
		}
	}
	if args.ID != 0 {
		ts, err := r.FindTasks(ctx, store.TaskQuery{Task: store.TaskFilter{IDs: []int64{args.ID}}}, 1)
		if err != nil {
			return store.Task{}, pt, err
		}
		if len(ts) == 0 {
			return store.Task{}, pt, invalidf("there is no task %d (task list shows them)", args.ID)
		}
		if args.Patient != nil && ts[0].PatientID != pt.ID {
			return store.Task{}, pt, privatef("task %d is not %s's; check the number (task list shows them)", args.ID, pt.MRN)
		}
		if args.Patient == nil {
			if pt, err = r.PatientByID(ctx, ts[0].PatientID); err != nil {
				return store.Task{}, pt, err
			}
		}
		return ts[0], pt, nil
	}
	open := true
	ts, err := r.FindTasks(ctx, store.TaskQuery{Task: store.TaskFilter{Open: &open}, Patients: store.PatientFilter{IDs: []int64{pt.ID}}}, 0)
	if err != nil {
		return store.Task{}, pt, err
	}
	words := strings.Fields(normalise(args.Task))
	ts = slices.DeleteFunc(ts, func(t store.Task) bool {
		text := foldAccents(strings.ToLower(t.Text))
		for _, w := range words {
			if !strings.Contains(text, foldAccents(w)) {
				return true
			}
		}
		return false
	})
	switch len(ts) {
	case 0:
		if len(words) == 0 {
			return store.Task{}, pt, privatef("%s has no open task", pt.MRN)
		}
		return store.Task{}, pt, privatef("%s has no open task with those words; task list --json shows them, or give the task's number", pt.MRN)
	case 1:
		return ts[0], pt, nil
	}
	var which []string
	for _, t := range ts {
		s := fmt.Sprint(t.ID)
		if !t.Due.IsZero() {
			s += " (due " + t.Due.Format(time.DateOnly) + ")"
		}
		which = append(which, s)
	}
	return store.Task{}, pt, privatef("%d open tasks of %s match; say which by its number: %s", len(ts), pt.MRN, strings.Join(which, ", "))
}

func prepareCompleteTask(ctx context.Context, r store.Reader, a Action, env Env) (*Plan, error) {
	var args CompleteTaskArgs
	if err := decodeArgs(a, &args); err != nil {
		return nil, err
	}
	if args.ID == 0 && args.Patient == nil {
		return nil, invalidf("complete_task needs the task's number (id), or the patient and words of the task")
	}
	if args.ID < 0 {
		return nil, invalidf("a task's number (id) is positive")
	}
	channel, summary := store.Channel(strings.ToLower(strings.TrimSpace(args.Channel))), strings.TrimSpace(args.Summary)
	if (channel == "") != (summary == "") {
		return nil, invalidf("to log the contact that did the task, give both channel and summary")
	}
	if channel != "" && !channel.Valid() {
		return nil, invalidf("channel must be one of %s, not %q", joinStrings(store.Channels), args.Channel)
	}
	if err := store.CheckText(summary, store.MaxTextLen); err != nil {
		return nil, invalidf("summary %v", err)
	}
	if err := store.CheckLine(args.Task, store.MaxTextLen); err != nil {
		return nil, invalidf("task %v", err)
	}
	t, pt, err := findTask(ctx, r, args)
	if err != nil {
		return nil, err
	}
	if !t.Open() && channel != "" {
		// The contact to log would be dropped by a "nothing to do".
		return nil, privatef("task %d is done already (task reopen %d opens it again); log the contact with carebook log", t.ID, t.ID)
	}
	// The audit log keeps the task by number and the patient by MRN.
	canon, err := NewAction(a.Tool, CompleteTaskArgs{Patient: &PatientRef{Match: pt.MRN}, ID: t.ID, Channel: string(channel), Summary: summary})
	if err != nil {
		return nil, err
	}
	p := &Plan{Action: canon, Tool: a.Tool, Write: true, Targets: []store.Patient{pt}, TargetCount: 1,
		Changes: []FieldChange{{Field: fmt.Sprintf("task %d", t.ID), Before: TaskOpen, After: TaskDone}}}
	if !t.Open() {
		p.Changes = nil
		p.NoOp, p.Summary = true, fmt.Sprintf("Task %d is done already; nothing to do", t.ID)
		return p, nil
	}
	p.Summary = fmt.Sprintf("Mark task %d of %s %s done: %q", t.ID, pt.MRN, pt.FullName(), t.Text)
	in := store.NewInteraction{At: env.Now, Channel: channel, Direction: store.DirectionOutbound, Staff: env.Staff, Summary: summary}
	if channel != "" {
		p.Summary += fmt.Sprintf(", and log %s %s %s: %q", article(string(in.Direction)), in.Direction, channel, summary)
	}
	p.write = func(ctx context.Context, tx *store.Tx) (*Result, error) {
		if _, err := tx.SetTaskDone(ctx, t.ID, true); err != nil {
			return nil, fmt.Errorf("%w (%v)", errChanged, err)
		}
		if channel != "" {
			if _, err := tx.LogInteraction(ctx, in, []int64{pt.ID}); err != nil {
				return nil, err
			}
		}
		tx.Note(note(map[string]any{"task": t.ID, "before": TaskOpen, "after": TaskDone}))
		msg := fmt.Sprintf("Task %d done.", t.ID)
		if channel != "" {
			msg = fmt.Sprintf("Task %d done; logged %s %s.", t.ID, in.Direction, channel)
		}
		return &Result{Tool: a.Tool, Kind: "write", Changed: []int64{pt.ID}, Count: 1, Message: msg}, nil
	}
	return p, nil
}

func prepareReopenTask(ctx context.Context, r store.Reader, a Action) (*Plan, error) {
	var args ReopenTaskArgs
	if err := decodeArgs(a, &args); err != nil {
		return nil, err
	}
	if args.ID <= 0 {
		return nil, invalidf("reopen_task needs the task's number (id), as task list shows it")
	}
	t, pt, err := findTask(ctx, r, CompleteTaskArgs{ID: args.ID})
	if err != nil {
		return nil, err
	}
	if t.Open() {
		return nil, privatef("task %d is open already", t.ID)
	}
	p := &Plan{Action: a, Tool: a.Tool, Write: true, Targets: []store.Patient{pt}, TargetCount: 1,
		Changes: []FieldChange{{Field: fmt.Sprintf("task %d", t.ID), Before: TaskDone, After: TaskOpen}}}
	p.Summary = fmt.Sprintf("Reopen task %d of %s %s: %q", t.ID, pt.MRN, pt.FullName(), t.Text)
	p.write = func(ctx context.Context, tx *store.Tx) (*Result, error) {
		if _, err := tx.SetTaskDone(ctx, t.ID, false); err != nil {
			return nil, fmt.Errorf("%w (%v)", errChanged, err)
		}
		tx.Note(note(map[string]any{"task": t.ID, "before": TaskDone, "after": TaskOpen}))
		return &Result{Tool: a.Tool, Kind: "write", Changed: []int64{pt.ID}, Count: 1, Message: fmt.Sprintf("Task %d is open again.", t.ID)}, nil
	}
	return p, nil
}

// newPatient reads and checks add_patient's arguments.
func newPatient(args AddPatientArgs, today time.Time) (store.Patient, error) {
	pt := store.Patient{FirstName: strings.TrimSpace(args.FirstName), LastName: strings.TrimSpace(args.LastName),
		MRN: strings.TrimSpace(args.MRN), Sex: importer.NormalizeSex(strings.TrimSpace(args.Sex)), Status: store.StatusActive}
	if pt.FirstName == "" || pt.LastName == "" {
		return pt, invalidf("add_patient needs a first and a last name")
	}
	for _, f := range []struct{ name, v string }{{"first_name", pt.FirstName}, {"last_name", pt.LastName}} {
		if err := store.CheckLine(f.v, store.MaxNameLen); err != nil {
			return pt, invalidf("%s %v", f.name, err)
		}
	}
	if err := store.CheckLine(pt.MRN, store.MaxIDLen); err != nil {
		return pt, invalidf("mrn %v", err)
	}
	if err := store.CheckLine(pt.Sex, store.MaxLabelLen); err != nil {
		return pt, invalidf("sex %v", err)
	}
	if v := strings.TrimSpace(args.DOB); v != "" {
		dob, yearless, ok := importer.ParseDateOfBirth(v)
		if !ok || yearless {
			return pt, invalidf("dob is not a date of birth (like 1975-09-30 or 09/30/1975); check it and try again")
		}
		if err := store.CheckBirth(dob, today); err != nil {
			return pt, invalidf("dob %v", err)
		}
		pt.DOB = dob
	}
	c, err := normaliseContact(&args.Email, &args.Phone, &args.City, &args.Language, nil)
	if err != nil {
		return pt, err
	}
	pt.Email, pt.Phone, pt.City, pt.Language = *c.email, *c.phone, *c.city, *c.language
	return pt, nil
}

func prepareAddPatient(ctx context.Context, r store.Reader, a Action, env Env) (*Plan, error) {
	var args AddPatientArgs
	if err := decodeArgs(a, &args); err != nil {
		return nil, err
	}
	pt, err := newPatient(args, Today(env.Now))
	if err != nil {
		return nil, err
	}
	if pt.MRN != "" {
		taken, err := r.FindPatients(ctx, store.PatientFilter{MRNs: []string{pt.MRN}}, 1)
		if err != nil {
			return nil, err
		}
		if len(taken) > 0 {
			return nil, invalidf("that MRN belongs to another patient already; choose another, or leave it out to have one generated")
		}
	}
	dups, err := r.LikelyDuplicates(ctx, pt.FirstName, pt.LastName, pt.DOB, pt.Email, pt.Phone)
	if err != nil {
		return nil, err
	}
	if len(dups) > 0 && !args.AllowDuplicate {
		return nil, &DuplicateError{Candidates: dups}
	}
	p := &Plan{Action: a, Tool: a.Tool, Write: true, Duplicates: dups}
	after := map[string]string{}
	for _, f := range []struct{ name, v, shown string }{
		{"mrn", pt.MRN, pt.MRN}, {"first_name", pt.FirstName, ""}, {"last_name", pt.LastName, ""},
		{"dob", dateOrEmpty(pt.DOB), ""}, {"sex", pt.Sex, ""}, {"email", pt.Email, ""},
		{"phone", pt.Phone, store.FormatPhone(pt.Phone)}, {"city", pt.City, ""}, {"language", pt.Language, ""},
	} {
		if f.name == "mrn" && f.v == "" {
			p.Changes = append(p.Changes, FieldChange{Field: "mrn", After: "(generated: " + store.GeneratedMRNPrefix + "…)"})
			continue
		}
		if f.v == "" {
			continue
		}
		after[f.name] = f.v
		shown := f.shown
		if shown == "" {
			shown = f.v
		}
		p.Changes = append(p.Changes, FieldChange{Field: f.name, After: shown})
	}
	p.Summary = "Add patient " + pt.FullName()
	if !pt.DOB.IsZero() {
		p.Summary += ", born " + pt.DOB.Format(time.DateOnly)
	}
	if len(dups) > 0 {
		p.Summary += fmt.Sprintf(" (%s already %s on %s)", plural(len(dups), "patient", "patients"),
			map[bool]string{true: "matches", false: "match"}[len(dups) == 1], "name and date of birth, email or phone")
	}
	p.write = func(ctx context.Context, tx *store.Tx) (*Result, error) {
		if !args.AllowDuplicate {
			// Someone may have added the same person since the preview.
			again, err := tx.LikelyDuplicates(ctx, pt.FirstName, pt.LastName, pt.DOB, pt.Email, pt.Phone)
			if err != nil {
				return nil, err
			}
			if len(again) > 0 {
				// Not listed here: a failed write's message goes to the
				// audit log, which names patients by id only.
				return nil, errors.New("a patient with this name and date of birth, email or phone was added since the preview; nothing was written, run the command again to see them")
			}
		}
		added, err := tx.InsertPatient(ctx, pt)
		if err != nil {
			return nil, err
		}
		after["mrn"] = added.MRN
		tx.Note(note(map[string]any{"after": after}))
		return &Result{Tool: a.Tool, Kind: "write", Changed: []int64{added.ID}, Count: 1,
			Message: fmt.Sprintf("Added patient %s (%s).", added.MRN, added.FullName())}, nil
	}
	return p, nil
}

func dateOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// mergeFill is what other's details fill in keep's blanks.
func mergeFill(keep, other store.Patient) (store.PatientFill, []FieldChange) {
	var f store.PatientFill
	var shown []FieldChange
	if keep.DOB.IsZero() && !other.DOB.IsZero() {
		f.DOB = other.DOB
		shown = append(shown, FieldChange{Field: "dob", After: other.DOB.Format(time.DateOnly)})
	}
	for _, x := range []struct {
		name     string
		kept, in string
		dst      *string
	}{
		{"sex", keep.Sex, other.Sex, &f.Sex}, {"email", keep.Email, other.Email, &f.Email}, {"phone", keep.Phone, other.Phone, &f.Phone},
		{"city", keep.City, other.City, &f.City}, {"language", keep.Language, other.Language, &f.Language},
	} {
		if x.kept == "" && x.in != "" {
			*x.dst = x.in
			v := x.in
			if x.name == "phone" {
				v = store.FormatPhone(v)
			}
			shown = append(shown, FieldChange{Field: x.name, After: v})
		}
	}
	if other.ConsentChangedAt.After(keep.ConsentChangedAt) && other.MarketingConsent != keep.MarketingConsent {
		shown = append(shown, FieldChange{Field: "marketing_consent", Before: yesNo(keep.MarketingConsent), After: yesNo(other.MarketingConsent)})
	}
	return f, shown
}

func prepareMerge(ctx context.Context, r store.Reader, a Action) (*Plan, error) {
	var args MergeArgs
	if err := decodeArgs(a, &args); err != nil {
		return nil, err
	}
	if args.Keep == nil || args.Other == nil {
		return nil, invalidf("merge_patients needs the record to keep (keep) and the one to merge into it (other)")
	}
	keep, err := ResolvePatient(ctx, r, *args.Keep)
	if err != nil {
		return nil, err
	}
	other, err := ResolvePatient(ctx, r, *args.Other)
	if err != nil {
		return nil, err
	}
	if keep.ID == other.ID {
		return nil, invalidf("keep and other name the same patient; name two records of one person")
	}
	if !keep.DOB.IsZero() && !other.DOB.IsZero() && !keep.DOB.Equal(other.DOB) {
		return nil, privatef("%s and %s have different dates of birth, so they may be two people; merge refuses them", keep.MRN, other.MRN)
	}
	only := store.PatientFilter{IDs: []int64{other.ID}}
	appts, err := r.CountAppointments(ctx, store.AppointmentQuery{Patients: only})
	if err != nil {
		return nil, err
	}
	inters, err := r.CountInteractions(ctx, store.InteractionQuery{Patients: only})
	if err != nil {
		return nil, err
	}
	tasks, err := r.CountTasks(ctx, store.TaskQuery{Patients: only})
	if err != nil {
		return nil, err
	}
	tags := 0
	for _, t := range other.Tags {
		if !slices.Contains(keep.Tags, t) {
			tags++
		}
	}
	canon, err := NewAction(a.Tool, MergeArgs{Keep: &PatientRef{Match: keep.MRN}, Other: &PatientRef{Match: other.MRN}})
	if err != nil {
		return nil, err
	}
	_, shown := mergeFill(keep, other)
	p := &Plan{Action: canon, Tool: a.Tool, Write: true, Targets: []store.Patient{keep, other}, TargetCount: 2, Changes: shown}
	p.Summary = fmt.Sprintf("Merge %s %s into %s %s: moves %s, %s, %s and %s; %s is removed", other.MRN, other.FullName(),
		keep.MRN, keep.FullName(), plural(tags, "tag", "tags"), plural(appts, "appointment", "appointments"),
		plural(inters, "interaction", "interactions"), plural(tasks, "task", "tasks"), other.MRN)
	p.write = func(ctx context.Context, tx *store.Tx) (*Result, error) {
		k, err := tx.PatientByID(ctx, keep.ID)
		if err != nil {
			return nil, errChanged
		}
		o, err := tx.PatientByID(ctx, other.ID)
		if err != nil {
			return nil, errChanged
		}
		fill, filled := mergeFill(k, o)
		moved, err := tx.MergePatients(ctx, k, o, fill)
		if err != nil {
			return nil, err
		}
		tx.Note(note(map[string]any{"merged": o.MRN, "into": k.MRN, "moved": map[string]int{"tags": moved.Tags,
			"appointments": moved.Appointments, "interactions": moved.Interactions, "tasks": moved.Tasks,
			"consent_changes": moved.ConsentEvents}, "filled": filled}))
		return &Result{Tool: a.Tool, Kind: "write", Changed: []int64{k.ID}, Count: 1,
			Message: fmt.Sprintf("Merged %s into %s.", o.MRN, k.MRN)}, nil
	}
	return p, nil
}

// foldAccents drops combining marks, as DuckDB's strip_accents does for
// the filters: "jose" finds "José".
func foldAccents(s string) string {
	out, _, err := transform.String(transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC), s)
	if err != nil {
		return s
	}
	return out
}
