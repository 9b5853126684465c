// Package eval measures how well requests become actions: it runs
// plain-language cases against a fresh database imported from a fixture and
// compares what happened with what was expected. The format of cases is
// described in eval/testdata/README.md (a copy of shared/eval/README.md).
package eval

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/carebook/carebook/importer"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// DefaultNow is the "now" every case runs at.
var DefaultNow = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)

// Case is one request and its expected outcome. Setup, when given, is
// actions run (and committed) before the request, on the same fresh
// database: tasks to list or complete, say.
type Case struct {
	ID      string            `json:"id"`
	Request string            `json:"request"`
	Setup   []json.RawMessage `json:"setup,omitempty"`
	Expect  Expect            `json:"expect"`
}

// Expect is what a case must produce.
type Expect struct {
	Kind              string              `json:"kind"`
	MRNs              []string            `json:"mrns,omitempty"`
	IDs               []string            `json:"ids,omitempty"`
	Value             *int                `json:"value,omitempty"`
	Groups            map[string]int      `json:"groups,omitempty"`
	TagsAdded         map[string][]string `json:"tags_added,omitempty"`
	TagsRemoved       map[string][]string `json:"tags_removed,omitempty"`
	InteractionsAdded []AddedInteraction  `json:"interactions_added,omitempty"`
	// PatientsChanged maps an MRN to the fields a write changed and their
	// new values, as `show --json` spells them (consent_changed_at aside).
	PatientsChanged map[string]map[string]string `json:"patients_changed,omitempty"`
	// TasksAdded lists one task per patient a write gave one.
	TasksAdded []AddedTask `json:"tasks_added,omitempty"`
	// TasksDone lists the MRN of each task a write marked done.
	TasksDone []string `json:"tasks_done,omitempty"`
	// ConsentAdded lists one consent decision per patient a write recorded.
	ConsentAdded []AddedConsent `json:"consent_added,omitempty"`
	Why          string         `json:"why,omitempty"`
}

// AddedTask is one task a write must add: its patient, kind and due day.
type AddedTask struct {
	MRN  string `json:"mrn"`
	Kind string `json:"kind"`
	Due  string `json:"due,omitempty"`
}

// AddedConsent is one consent decision a write must record.
type AddedConsent struct {
	MRN       string `json:"mrn"`
	Marketing bool   `json:"marketing"`
	Source    string `json:"source"`
}

// AddedInteraction is one interaction a write must add.
type AddedInteraction struct {
	MRN     string `json:"mrn"`
	Channel string `json:"channel"`
}

// LoadCases reads a JSON Lines file of cases.
func LoadCases(path string) ([]Case, error) {
	var cases []Case
	err := readJSONLines(path, func(line int, data []byte) error {
		var c Case
		if err := json.Unmarshal(data, &c); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if c.ID == "" || c.Expect.Kind == "" {
			return fmt.Errorf("line %d: a case needs an id and expect.kind", line)
		}
		cases = append(cases, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read cases %s: %w", path, err)
	}
	return cases, nil
}

// LoadGold reads a JSON Lines file of {"id": …, "action": …}.
func LoadGold(path string) (map[string]tools.Action, error) {
	gold := map[string]tools.Action{}
	err := readJSONLines(path, func(line int, data []byte) error {
		var g struct {
			ID     string          `json:"id"`
			Action json.RawMessage `json:"action"`
		}
		if err := json.Unmarshal(data, &g); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		a, err := tools.ParseAction(g.Action)
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		gold[g.ID] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read actions %s: %w", path, err)
	}
	return gold, nil
}

func readJSONLines(path string, fn func(line int, data []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(n, []byte(line)); err != nil {
			return err
		}
	}
	return sc.Err()
}

// LoadActions reads a JSON Lines file of {"id": …, "action": …} as answers
// to score: an action that does not parse is kept, and fails its case the
// way a model's answer that fails validation does; "action": null is no
// answer.
func LoadActions(path string) (ActionDecider, error) {
	actions := ActionDecider{}
	err := readJSONLines(path, func(line int, data []byte) error {
		var g struct {
			ID     string          `json:"id"`
			Action json.RawMessage `json:"action"`
		}
		if err := json.Unmarshal(data, &g); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if g.ID == "" {
			return fmt.Errorf("line %d: no id", line)
		}
		actions[g.ID] = g.Action
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read actions %s: %w", path, err)
	}
	return actions, nil
}

// ErrNoAction says the actions given have none for a case: the case fails,
// whatever it expects.
var ErrNoAction = errors.New("no action was given for this case")

// ActionDecider answers each case with an action given as JSON (from
// another model, or a person), parsed and validated as the model's would
// be.
type ActionDecider map[string]json.RawMessage

// Decide parses and prepares the case's action.
func (a ActionDecider) Decide(ctx context.Context, st *store.Store, env tools.Env, c Case) (*tools.Plan, error) {
	raw := a[c.ID]
	if len(raw) == 0 || string(raw) == "null" {
		return nil, ErrNoAction
	}
	action, err := tools.ParseAction(raw)
	if err != nil {
		return nil, err
	}
	return tools.PrepareForModel(ctx, st.Reader(), action, env)
}

// Decider turns a request into a plan against st: a model through the agent,
// or a table of gold actions.
type Decider interface {
	Decide(ctx context.Context, st *store.Store, env tools.Env, c Case) (*tools.Plan, error)
}

// GoldDecider answers each case with its gold action, which checks the
// executor alone.
type GoldDecider map[string]tools.Action

// Decide prepares the case's gold action.
func (g GoldDecider) Decide(ctx context.Context, st *store.Store, env tools.Env, c Case) (*tools.Plan, error) {
	a, ok := g[c.ID]
	if !ok {
		return nil, ErrNoAction
	}
	return tools.Prepare(ctx, st.Reader(), a, env)
}

// CaseResult is how one case went.
type CaseResult struct {
	ID     string `json:"id"`
	Pass   bool   `json:"pass"`
	Diff   string `json:"diff,omitempty"`
	Action string `json:"action,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Options configure Run.
type Options struct {
	FixtureDir string
	Now        time.Time
}

// Run executes every case against a fresh database and checks it.
func Run(ctx context.Context, cases []Case, d Decider, opts Options) ([]CaseResult, error) {
	if opts.Now.IsZero() {
		opts.Now = DefaultNow
	}
	var results []CaseResult
	for _, c := range cases {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		r, err := runCase(ctx, c, d, opts)
		if err != nil {
			return results, fmt.Errorf("case %s: %w", c.ID, err)
		}
		results = append(results, r)
	}
	return results, nil
}

// Score counts passes.
func Score(results []CaseResult) (pass, total int) {
	for _, r := range results {
		if r.Pass {
			pass++
		}
	}
	return pass, len(results)
}

// FreshStore imports the fixture (patients, appointments, interactions) into
// a new in-memory database.
func FreshStore(ctx context.Context, fixtureDir string, now time.Time) (*store.Store, error) {
	st, err := store.OpenMemory(ctx, store.Options{Now: func() time.Time { return now }, Actor: "eval", Host: "eval"})
	if err != nil {
		return nil, err
	}
	for _, kind := range []importer.Kind{importer.KindPatients, importer.KindAppointments, importer.KindInteractions} {
		path := filepath.Join(fixtureDir, string(kind)+".csv")
		f, err := os.Open(path)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("fixture: %w", err)
		}
		_, err = importer.Import(ctx, st, path, f, importer.Options{Kind: kind, Now: now})
		f.Close()
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("fixture %s: %w", path, err)
		}
	}
	return st, nil
}

// CaseStore is the database c's request is decided on, and the
// environment it runs in: a fresh import of the fixture at now, with c's
// setup actions run. The caller closes the store.
func CaseStore(ctx context.Context, fixtureDir string, now time.Time, c Case) (*store.Store, tools.Env, error) {
	st, err := FreshStore(ctx, fixtureDir, now)
	if err != nil {
		return nil, tools.Env{}, err
	}
	env := tools.Env{Now: now, Staff: "eval"}
	if err := setup(ctx, st, env, c.Setup); err != nil {
		st.Close()
		return nil, tools.Env{}, err
	}
	return st, env, nil
}

func runCase(ctx context.Context, c Case, d Decider, opts Options) (CaseResult, error) {
	st, env, err := CaseStore(ctx, opts.FixtureDir, opts.Now, c)
	if err != nil {
		return CaseResult{}, err
	}
	defer st.Close()
	before, err := snapshot(ctx, st)
	if err != nil {
		return CaseResult{}, err
	}
	out := CaseResult{ID: c.ID}
	var res *tools.Result
	plan, runErr := d.Decide(ctx, st, env, c)
	if plan != nil {
		out.Action = plan.Action.JSON()
	}
	if runErr == nil {
		res, runErr = plan.Execute(ctx, st, store.AuditEntry{Channel: "eval", Request: c.Request})
	}
	if runErr != nil {
		out.Error = runErr.Error()
	}
	after, err := snapshot(ctx, st)
	if err != nil {
		return CaseResult{}, err
	}
	out.Diff = check(c.Expect, plan, res, runErr, before.diff(after))
	out.Pass = out.Diff == ""
	return out, nil
}

// check returns "" when the outcome is what was expected, else what differed.
func check(want Expect, plan *tools.Plan, res *tools.Result, runErr error, changes changes) string {
	if errors.Is(runErr, ErrNoAction) {
		return runErr.Error()
	}
	wrote := !changes.empty()
	switch want.Kind {
	case "clarify":
		var amb *tools.AmbiguousError
		asked := plan != nil && plan.Tool == tools.ToolClarify || errors.As(runErr, &amb)
		switch {
		case wrote:
			return "wrote " + changes.String() + " instead of asking which patient"
		case !asked:
			return "did not ask which patient was meant" + errSuffix(runErr)
		}
		return ""
	case "refuse":
		refused := plan != nil && plan.Tool == tools.ToolRefuse || runErr != nil
		switch {
		case wrote:
			return "wrote " + changes.String() + " instead of refusing"
		case !refused:
			return "did not refuse"
		}
		return ""
	}
	if runErr != nil {
		return "failed: " + runErr.Error()
	}
	switch want.Kind {
	case "write":
		return diffWrite(want, changes)
	}
	if wrote {
		return "a read changed the database: " + changes.String()
	}
	switch want.Kind {
	case "patients":
		if res.Kind != "patients" {
			return "answered with " + res.Kind + ", want a list of patients"
		}
		var got []string
		for _, p := range res.Patients {
			got = append(got, p.MRN)
		}
		return diffSets("MRNs", want.MRNs, got)
	case "appointments":
		if res.Kind != "appointments" {
			return "answered with " + res.Kind + ", want a list of appointments"
		}
		var got []string
		for _, a := range res.Appointments {
			got = append(got, tools.AppointmentRef(a))
		}
		return diffSets("appointment ids", want.IDs, got)
	case "tasks":
		if res.Kind != "tasks" {
			return "answered with " + res.Kind + ", want a list of tasks"
		}
		var got []string
		for _, t := range res.Tasks {
			got = append(got, t.PatientMRN)
		}
		return diffSets("MRNs of the tasks", want.MRNs, got)
	case "interactions":
		if res.Kind != "interactions" {
			return "answered with " + res.Kind + ", want a list of interactions"
		}
		var got []string
		for _, i := range res.Interactions {
			got = append(got, tools.InteractionRef(i))
		}
		return diffSets("interaction ids", want.IDs, got)
	case "count":
		if res.Kind != "count" {
			return "answered with " + res.Kind + ", want a count"
		}
		if want.Value == nil || res.Count != *want.Value {
			return fmt.Sprintf("count %d, want %v", res.Count, deref(want.Value))
		}
		return ""
	case "groups":
		if res.Kind != "groups" {
			return "answered with " + res.Kind + ", want counts per group"
		}
		got := map[string]int{}
		for _, g := range res.Groups {
			got[g.Key] = g.Count
		}
		if !maps.Equal(got, want.Groups) {
			return fmt.Sprintf("groups %v, want %v", got, want.Groups)
		}
		return ""
	}
	return "unknown expectation kind " + want.Kind
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return " (error: " + err.Error() + ")"
}

func deref(v *int) any {
	if v == nil {
		return "nothing"
	}
	return *v
}

func diffSets(what string, want, got []string) string {
	missing, extra := setDiff(want, got), setDiff(got, want)
	if len(missing) == 0 && len(extra) == 0 {
		return ""
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		parts = append(parts, "unexpected "+strings.Join(extra, ", "))
	}
	return what + ": " + strings.Join(parts, "; ")
}

// setDiff lists the members of a not in b, sorted, once each.
func setDiff(a, b []string) []string {
	in := map[string]bool{}
	for _, v := range b {
		in[v] = true
	}
	var out []string
	for _, v := range a {
		if !in[v] {
			out = append(out, v)
			in[v] = true
		}
	}
	sort.Strings(out)
	return out
}

func diffWrite(want Expect, c changes) string {
	var problems []string
	compareTags := func(what string, want, got map[string][]string) {
		for _, tag := range sortedKeys(union(want, got)) {
			if d := diffSets(what+" "+tag, want[tag], got[tag]); d != "" {
				problems = append(problems, d)
			}
		}
	}
	compareTags("tag added", want.TagsAdded, c.tagsAdded)
	compareTags("tag removed", want.TagsRemoved, c.tagsRemoved)
	var wantI, gotI []string
	for _, i := range want.InteractionsAdded {
		wantI = append(wantI, i.MRN+" "+i.Channel)
	}
	for _, i := range c.interactionsAdded {
		gotI = append(gotI, i.MRN+" "+i.Channel)
	}
	slices.Sort(wantI)
	slices.Sort(gotI)
	if !slices.Equal(wantI, gotI) {
		problems = append(problems, fmt.Sprintf("interactions added %v, want %v", gotI, wantI))
	}
	if !maps.EqualFunc(want.PatientsChanged, c.patientsChanged, maps.Equal) {
		problems = append(problems, fmt.Sprintf("patients changed %v, want %v", c.patientsChanged, want.PatientsChanged))
	}
	if d := diffLists("tasks added", want.TasksAdded, c.tasksAdded); d != "" {
		problems = append(problems, d)
	}
	if d := diffSets("tasks done of", want.TasksDone, c.tasksDone); d != "" || len(want.TasksDone) != len(c.tasksDone) {
		problems = append(problems, fmt.Sprintf("tasks done of %v, want %v", c.tasksDone, want.TasksDone))
	}
	if d := diffLists("consent recorded", want.ConsentAdded, c.consentAdded); d != "" {
		problems = append(problems, d)
	}
	problems = append(problems, c.other...)
	return strings.Join(problems, "; ")
}

func union(a, b map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range a {
		out[k] = v
	}
	for k := range b {
		if _, ok := out[k]; !ok {
			out[k] = nil
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := slices.Collect(maps.Keys(m))
	sort.Strings(keys)
	return keys
}

// diffLists compares two lists as multisets of their printed members.
func diffLists[T any](what string, want, got []T) string {
	w, g := make([]string, len(want)), make([]string, len(got))
	for i, v := range want {
		w[i] = fmt.Sprintf("%+v", v)
	}
	for i, v := range got {
		g[i] = fmt.Sprintf("%+v", v)
	}
	slices.Sort(w)
	slices.Sort(g)
	if slices.Equal(w, g) {
		return ""
	}
	return fmt.Sprintf("%s %v, want %v", what, g, w)
}

// setup runs a case's setup actions, each committed, before the request.
func setup(ctx context.Context, st *store.Store, env tools.Env, actions []json.RawMessage) error {
	for i, raw := range actions {
		a, err := tools.ParseAction(raw)
		if err != nil {
			return fmt.Errorf("setup action %d: %w", i+1, err)
		}
		plan, err := tools.Prepare(ctx, st.Reader(), a, env)
		if err != nil {
			return fmt.Errorf("setup action %d: %w", i+1, err)
		}
		if _, err := plan.Execute(ctx, st, store.AuditEntry{Channel: "eval"}); err != nil {
			return fmt.Errorf("setup action %d: %w", i+1, err)
		}
	}
	return nil
}
