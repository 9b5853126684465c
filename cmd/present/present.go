// Package present shows plans and results to people and scripts, and runs
// the preview → confirm → execute sequence that every channel shares: the
// plain commands, ask, run and the REPL. Keeping it in one place is what
// makes "nothing is written without confirmation" true everywhere.
package present

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Options say how a plan is run and shown.
type Options struct {
	// Yes confirms writes without asking (--yes).
	Yes bool
	// JSON prints results as JSON for scripts.
	JSON bool
	// Quiet leaves out the preview and the result, for batch runs that
	// print their own report.
	Quiet bool
	// WithAction puts the action beside the result in JSON output.
	WithAction bool
}

// Opener opens the practice database for one unit of work and returns a
// function that releases it.
type Opener func(context.Context) (st *store.Store, release func(), err error)

// OpenEach opens the file for every unit of work and closes it after, so
// that other carebook processes can get in between.
func OpenEach(open func(context.Context) (*store.Store, error)) Opener {
	return func(ctx context.Context) (*store.Store, func(), error) {
		st, err := open(ctx)
		if err != nil {
			return nil, nil, err
		}
		return st, func() { st.Close() }, nil
	}
}

// Keep lends an open store to every unit of work, for a batch run with
// --yes, where nobody waits at a prompt and reopening per line would cost
// more than the work.
func Keep(st *store.Store) Opener {
	return func(context.Context) (*store.Store, func(), error) { return st, func() {}, nil }
}

// Run previews plan, asks for confirmation if it writes, executes it with
// one audit row, and prints the result. The database is opened only to
// execute, never while waiting for a person to answer, so that a pending
// question does not lock other carebook processes out; the plan re-checks
// its selection inside the write's transaction. A declined confirmation
// returns cmdutil.ErrCancelled and writes nothing but the audit row saying so.
func Run(ctx context.Context, ios *cmdutil.IOStreams, open Opener, plan *tools.Plan, audit store.AuditEntry, opts Options) (*tools.Result, error) {
	if plan.Write {
		if !opts.Quiet {
			Preview(previewOut(ios, opts), plan)
		}
		if err := Confirm(ios, plan, opts.Yes); err != nil {
			msg := "not confirmed; nothing was written"
			if errors.Is(err, cmdutil.ErrNeedsConfirmation) {
				msg = "needs --yes without a terminal; nothing was written"
			}
			audit.Action = plan.Action.JSON()
			if lerr := logOutcome(ctx, open, audit, store.OutcomeRefused, msg); lerr != nil {
				return nil, lerr
			}
			return nil, err
		}
	}
	st, release, err := open(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	res, err := plan.Execute(ctx, st, audit)
	if err != nil {
		return nil, err
	}
	if opts.Quiet {
		return res, nil
	}
	if opts.JSON && opts.WithAction {
		rj, err := ResultJSON(ctx, st, res)
		if err != nil {
			return nil, err
		}
		return res, cmdutil.WriteJSON(ios.Out, ActionAndResult{Action: plan.Action, Result: rj})
	}
	return res, Result(ctx, ios, st, res, opts.JSON)
}

// ActionAndResult is what `ask --json` prints.
type ActionAndResult struct {
	Action tools.Action      `json:"action"`
	Result *tools.ResultJSON `json:"result,omitempty"`
	Error  string            `json:"error,omitempty"`
}

// ResultJSON converts a result for scripts, naming changed patients by MRN.
func ResultJSON(ctx context.Context, st *store.Store, res *tools.Result) (*tools.ResultJSON, error) {
	var changed []string
	if len(res.Changed) > 0 {
		mrns, err := st.Reader().MRNs(ctx, res.Changed)
		if err != nil {
			return nil, err
		}
		for _, id := range res.Changed {
			changed = append(changed, mrns[id])
		}
	}
	rj := res.JSON(changed)
	return &rj, nil
}

func logOutcome(ctx context.Context, open Opener, audit store.AuditEntry, outcome store.Outcome, msg string) error {
	st, release, err := open(ctx)
	if err != nil {
		return err
	}
	defer release()
	return st.LogOutcome(ctx, audit, nil, 0, outcome, msg)
}

// previewOut is where the preview goes: stdout for people, stderr when
// stdout carries JSON for a script.
func previewOut(ios *cmdutil.IOStreams, opts Options) io.Writer {
	if opts.JSON {
		return ios.ErrOut
	}
	return ios.Out
}

// Confirm asks before a write. With yes it does not ask. Without a terminal
// it refuses, since a script that forgot --yes must not write by accident.
func Confirm(ios *cmdutil.IOStreams, plan *tools.Plan, yes bool) error {
	if yes {
		return nil
	}
	if !ios.CanPrompt() {
		return cmdutil.ErrNeedsConfirmation
	}
	question := "Go ahead?"
	if plan.NewTag {
		question = "The tag is new. Create it and go ahead?"
	}
	ok, err := ios.Confirm(question)
	if err != nil {
		return fmt.Errorf("confirm: %w", err)
	}
	if !ok {
		return cmdutil.ErrCancelled
	}
	return nil
}

// Preview prints what a write will do and to whom.
func Preview(w io.Writer, plan *tools.Plan) {
	fmt.Fprintln(w, plan.Summary+".")
	if len(plan.Targets) == 0 {
		return
	}
	t := cmdutil.NewTable(w, true, "MRN", "NAME", "BORN", "TAGS")
	for _, p := range plan.Targets {
		t.Row(p.MRN, p.FullName(), cmdutil.Date(p.DOB), strings.Join(p.Tags, ", "))
	}
	t.Flush()
	if more := plan.TargetCount - len(plan.Targets); more > 0 {
		fmt.Fprintf(w, "… and %d more.\n", more)
	}
}

// Result prints a result: a table on a terminal, tab-separated lines when
// piped, JSON with asJSON.
func Result(ctx context.Context, ios *cmdutil.IOStreams, st *store.Store, res *tools.Result, asJSON bool) error {
	if asJSON {
		rj, err := ResultJSON(ctx, st, res)
		if err != nil {
			return err
		}
		return cmdutil.WriteJSON(ios.Out, rj)
	}
	tty := ios.IsStdoutTTY()
	switch res.Kind {
	case tools.EntityPatients:
		Patients(ios.Out, tty, res.Patients)
	case tools.EntityAppointments:
		Appointments(ios.Out, tty, res.Appointments)
	case tools.EntityInteractions:
		Interactions(ios.Out, tty, res.Interactions)
	case tools.OutputCount:
		fmt.Fprintln(ios.Out, res.Count)
	case tools.OutputGroups:
		header := []string{strings.ToUpper(strings.ReplaceAll(res.GroupBy, "_", " ")), "COUNT"}
		rows, counts := make([][]string, len(res.Groups)), make([]int, len(res.Groups))
		for i, g := range res.Groups {
			key := g.Key
			if key == "" {
				key = "(none)"
			}
			rows[i], counts[i] = []string{key, strconv.Itoa(g.Count)}, g.Count
		}
		// A bar beside each count for people; scripts get the numbers alone.
		if tty {
			rows = cmdutil.WithBars(rows, counts, ios.TerminalWidth(), header...)
		}
		t := cmdutil.NewTable(ios.Out, tty, header...)
		for _, r := range rows {
			t.Row(r...)
		}
		return t.Flush()
	default:
		fmt.Fprintln(ios.Out, res.Message)
	}
	return nil
}

// Patients prints patients, one per line. The footer with the count is
// for people only, so that piped output is just rows.
func Patients(w io.Writer, tty bool, ps []store.Patient) {
	t := cmdutil.NewTable(w, tty, "MRN", "NAME", "BORN", "PHONE", "EMAIL", "STATUS", "TAGS")
	for _, p := range ps {
		t.Row(p.MRN, p.FullName(), cmdutil.Date(p.DOB), store.FormatPhone(p.Phone), p.Email, string(p.Status), strings.Join(p.Tags, ", "))
	}
	t.Flush()
	if tty {
		fmt.Fprintln(w, cmdutil.Plural(len(ps), "patient", "patients"))
	}
}

// Appointments prints appointments, one per line.
func Appointments(w io.Writer, tty bool, as []store.Appointment) {
	t := cmdutil.NewTable(w, tty, "ID", "MRN", "START", "TYPE", "PROVIDER", "STATUS")
	for _, a := range as {
		t.Row(tools.AppointmentRef(a), a.PatientMRN, cmdutil.DateTime(a.StartsAt), a.Type, a.Provider, string(a.Status))
	}
	t.Flush()
	if tty {
		fmt.Fprintln(w, cmdutil.Plural(len(as), "appointment", "appointments"))
	}
}

// Interactions prints interactions, one per line.
func Interactions(w io.Writer, tty bool, is []store.Interaction) {
	t := cmdutil.NewTable(w, tty, "ID", "MRN", "WHEN", "CHANNEL", "DIRECTION", "STAFF", "SUMMARY")
	for _, i := range is {
		t.Row(tools.InteractionRef(i), i.PatientMRN, cmdutil.DateTime(i.At), string(i.Channel), string(i.Direction), i.Staff, i.Summary)
	}
	t.Flush()
	if tty {
		fmt.Fprintln(w, cmdutil.Plural(len(is), "interaction", "interactions"))
	}
}
