// Package present is the terminal side of every plan: it shows a preview,
// asks for the confirmation, has the backend execute or decline the plan,
// and prints the result, for every channel (the plain commands, ask, run
// and the REPL). Keeping it in one place is what makes "nothing is written
// without a preview and a confirmation" true everywhere. It decides and
// writes nothing itself: that is the backend's.
package present

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/tools"
)

// Options say how a reply is taken to its end and shown.
type Options struct {
	// Yes confirms writes without asking (--yes).
	Yes bool
	// DryRun shows what would happen and does nothing.
	DryRun bool
	// JSON prints results as JSON for scripts.
	JSON bool
	// Quiet leaves out the preview and the result, for batch runs that
	// print their own report.
	Quiet bool
	// WithAction puts the action beside the result in JSON output.
	WithAction bool
}

// Run takes a reply from Prepare, Ask or Choose to its end. A result is
// printed. A plan waiting for its confirmation is previewed first, then
// confirmed (type-ahead is thrown away before the question) and executed,
// or declined: ErrDeclined, and the backend records that nothing was done.
// A dry run's plan is shown, and nothing else happens.
func Run(ctx context.Context, ios *cmdutil.IOStreams, b backend.Planner, reply *backend.Reply, opts Options) (*backend.Reply, error) {
	plan := reply.Plan
	switch {
	case reply.Result != nil:
		if plan != nil && plan.Write && !opts.Quiet {
			Preview(ios, previewOnStderr(opts), plan)
		}
		return reply, show(ios, reply, opts)
	case plan == nil:
		return reply, nil
	case plan.NoOp:
		// Nothing would change: say so, ask nothing, exit 0.
		if opts.Quiet {
			return reply, nil
		}
		return reply, nothingToDo(ios, plan, opts)
	case plan.ID == "":
		// A dry run: nothing to execute.
		if opts.Quiet {
			return reply, nil
		}
		return reply, dryRun(ios, plan, opts)
	}
	if !opts.Quiet {
		Preview(ios, previewOnStderr(opts), plan)
	}
	req := backend.ExecuteRequest{PlanID: plan.ID}
	err := Confirm(ctx, ios, plan, opts.Yes)
	switch {
	case err == nil:
		req.Confirmed = true
	case errors.Is(err, backend.ErrNeedsConfirmation):
		req.Reason = backend.KindNeedsConfirm
	}
	if err != nil {
		// Ctrl-C at the question has cancelled ctx, and the refusal must
		// still reach the backend's audit log (over a socket too), briefly.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, xerr := b.Execute(rctx, req, nil)
		// The backend recorded the refusal; its own error adds nothing
		// unless the record failed.
		if xerr != nil && !errors.Is(xerr, backend.ErrDeclined) && !errors.Is(xerr, backend.ErrNeedsConfirmation) {
			return nil, errors.Join(err, xerr)
		}
		return nil, err
	}
	out, xerr := b.Execute(ctx, req, nil)
	if xerr != nil {
		return nil, xerr
	}
	out.Model, out.Digest = reply.Model, reply.Digest
	if out.Plan == nil {
		out.Plan = plan
	}
	return out, show(ios, out, opts)
}

func show(ios *cmdutil.IOStreams, reply *backend.Reply, opts Options) error {
	if opts.Quiet {
		return messageError(reply.Result)
	}
	if opts.JSON && opts.WithAction {
		var action *tools.Action
		if reply.Plan != nil {
			action = &reply.Plan.Action
		}
		if err := cmdutil.WriteJSON(ios.Out, ActionAndResult{Action: action, Result: reply.Result}); err != nil {
			return err
		}
		return messageError(reply.Result)
	}
	return Result(ios, reply.Result, opts.JSON)
}

// messageError is the model's clarify or refuse, as an error: the request
// was not done.
func messageError(res *tools.ResultJSON) error {
	if res != nil && (res.Kind == tools.ToolClarify || res.Kind == tools.ToolRefuse) {
		return &backend.MessageError{Tool: res.Kind, Message: res.Message}
	}
	return nil
}

func dryRun(ios *cmdutil.IOStreams, plan *tools.PlanView, opts Options) error {
	if opts.JSON {
		if err := cmdutil.WriteJSON(ios.Out, struct {
			Action  tools.Action         `json:"action"`
			Write   bool                 `json:"write"`
			Summary string               `json:"summary"`
			Targets []tools.PatientBrief `json:"targets,omitempty"`
			Count   int                  `json:"target_count,omitempty"`
			DryRun  bool                 `json:"dry_run"`
		}{plan.Action, plan.Write, plan.Summary, plan.Targets, plan.TargetCount, true}); err != nil {
			return err
		}
		if plan.Tool == tools.ToolClarify || plan.Tool == tools.ToolRefuse {
			return &backend.MessageError{Tool: plan.Tool, Message: plan.Message}
		}
		return nil
	}
	if plan.Tool == tools.ToolClarify || plan.Tool == tools.ToolRefuse {
		// The model declined: the same sentence, and the same exit code,
		// as without --dry-run.
		return Result(ios, &tools.ResultJSON{Tool: plan.Tool, Kind: plan.Tool, Message: plan.Message}, false)
	}
	fmt.Fprintln(ios.Out, plan.Action.JSON())
	switch {
	case plan.Write:
		Preview(ios, false, plan)
	default:
		fmt.Fprintln(ios.Out, plan.Summary+".")
	}
	fmt.Fprintln(ios.Out, "Dry run: nothing was changed.")
	return nil
}

// nothingToDo tells the person that a write would change nothing.
func nothingToDo(ios *cmdutil.IOStreams, plan *tools.PlanView, opts Options) error {
	if opts.JSON {
		return cmdutil.WriteJSON(ios.Out, struct {
			Action      tools.Action `json:"action"`
			Write       bool         `json:"write"`
			Summary     string       `json:"summary"`
			NothingToDo bool         `json:"nothing_to_do"`
		}{plan.Action, plan.Write, plan.Summary, true})
	}
	fmt.Fprintln(ios.Out, plan.Summary+".")
	return nil
}

// ActionAndResult is what `ask --json` prints.
type ActionAndResult struct {
	Action *tools.Action     `json:"action,omitempty"`
	Result *tools.ResultJSON `json:"result,omitempty"`
	Error  string            `json:"error,omitempty"`
}

// previewOnStderr says the preview goes to stderr: stdout carries JSON
// for a script.
func previewOnStderr(opts Options) bool { return opts.JSON }

// Confirm asks before a write, after its preview. With yes it does not
// ask. Without a terminal it refuses, since a script that forgot --yes must
// not write by accident. Whatever was typed before the question (while the
// model was thinking) is thrown away: a "y" typed then must not answer a
// question nobody saw. forget asks for the MRN to be typed.
func Confirm(ctx context.Context, ios *cmdutil.IOStreams, plan *tools.PlanView, yes bool) error {
	if yes {
		return nil
	}
	if !ios.CanPrompt() {
		return backend.ErrNeedsConfirmation
	}
	ios.DiscardTypeAhead()
	if plan.ConfirmText != "" {
		answer, err := ios.Ask(ctx, fmt.Sprintf("This cannot be undone. Type %s to confirm: ", plan.ConfirmText))
		if err != nil {
			return fmt.Errorf("confirm: %w", err)
		}
		if strings.TrimSpace(answer) != plan.ConfirmText {
			return backend.ErrDeclined
		}
		return nil
	}
	question := "Go ahead?"
	switch {
	case plan.FutureAt != "":
		// A time still to come is most often a slip (a date typed for
		// last week with the wrong month): it gets its own question.
		question = fmt.Sprintf("That is in the future (%s). Log it anyway?", plan.FutureAt)
	case plan.NewTag && plan.SimilarTag != "":
		question = fmt.Sprintf("The tag is new (did you mean %s?). Create it and go ahead?", plan.SimilarTag)
	case plan.NewTag:
		question = "The tag is new. Create it and go ahead?"
	}
	ok, err := ios.Confirm(ctx, question)
	if err != nil {
		return fmt.Errorf("confirm: %w", err)
	}
	if !ok {
		return backend.ErrDeclined
	}
	return nil
}

// Preview prints what a write will do and to whom, on stdout, or on
// stderr when stdout carries JSON: possible duplicates of a new patient
// first, then the fields it changes, before and after, then the patients.
// Its tables follow the stream they are printed on, as every table does:
// aligned and fitted on a terminal, whole tab-separated rows in a pipe or
// a log, where a row cut at 80 columns would lose a patient's tags.
func Preview(ios *cmdutil.IOStreams, onStderr bool, plan *tools.PlanView) {
	w, tty := ios.Out, ios.IsStdoutTTY()
	if onStderr {
		w, tty = ios.ErrOut, ios.IsStderrTTY()
	}
	if len(plan.Duplicates) > 0 {
		fmt.Fprintf(w, "Warning: %s already on record may be this person:\n", cmdutil.Plural(len(plan.Duplicates), "patient", "patients"))
		t := cmdutil.NewTable(w, tty, "MRN", "NAME", "BORN", "SAME")
		for _, d := range plan.Duplicates {
			t.Row(d.MRN, d.Name, d.DOB, strings.Join(d.Keys, ", "))
		}
		t.Flush()
	}
	fmt.Fprintln(w, plan.Summary+".")
	if len(plan.Changes) > 0 {
		t := cmdutil.NewTable(w, tty, "FIELD", "BEFORE", "AFTER")
		for _, c := range plan.Changes {
			t.Row(c.Field, orNone(c.Before), orNone(c.After))
		}
		t.Flush()
	}
	if len(plan.Targets) == 0 {
		return
	}
	t := cmdutil.NewTable(w, tty, "MRN", "NAME", "BORN", "TAGS").Fit(ios.TerminalWidth())
	for _, p := range plan.Targets {
		t.Row(p.MRN, p.Name, p.DOB, strings.Join(p.Tags, ", "))
	}
	t.Flush()
	if more := plan.TargetCount - len(plan.Targets); more > 0 {
		fmt.Fprintf(w, "… and %d more.\n", more)
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Result prints a result: a table on a terminal, tab-separated lines when
// piped, JSON with asJSON. A clarify or refuse is the model's sentence,
// labelled, and an error (the request was not done).
func Result(ios *cmdutil.IOStreams, res *tools.ResultJSON, asJSON bool) error {
	if res == nil {
		return nil
	}
	if asJSON {
		if err := cmdutil.WriteJSON(ios.Out, res); err != nil {
			return err
		}
		return messageError(res)
	}
	tty := ios.IsStdoutTTY()
	switch res.Kind {
	case tools.EntityPatients:
		Patients(ios, res.Patients, res.Total)
	case tools.EntityAppointments:
		Appointments(ios, tty, res.Appointments, res.Total)
	case tools.EntityInteractions:
		Interactions(ios, tty, res.Interactions, res.Total)
	case tools.EntityTasks:
		Tasks(ios.Out, tty, res.Tasks)
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
		t := cmdutil.NewTableFor(ios, header...)
		for _, r := range rows {
			t.Row(r...)
		}
		return t.Flush()
	case tools.ToolClarify, tools.ToolRefuse:
		fmt.Fprintln(ios.Out, ModelSentence(res.Kind, res.Message))
		return messageError(res)
	default:
		fmt.Fprintln(ios.Out, res.Message)
	}
	return nil
}

// maxMessage cuts a model's sentence to a sane length.
const maxMessage = 300

// Patients prints patients, one per line. The footer with the count is
// for people only ("3 of 240 patients" when a limit cut the list short),
// so that piped output is just rows.
func Patients(ios *cmdutil.IOStreams, ps []tools.PatientJSON, total int) {
	t := cmdutil.NewTableFor(ios, "MRN", "NAME", "BORN", "PHONE", "EMAIL", "STATUS", "TAGS")
	for _, p := range ps {
		t.Row(p.MRN, fullName(p), p.DOB, p.Phone, p.Email, p.Status, strings.Join(p.Tags, ", "))
	}
	t.Flush()
	if ios.IsStdoutTTY() {
		fmt.Fprintln(ios.Out, footer(len(ps), total, "patient", "patients"))
	}
}

// footer counts the rows shown, and of how many when a limit cut them.
func footer(n, total int, one, many string) string {
	if total > n {
		return fmt.Sprintf("%d of %s", n, cmdutil.Plural(total, one, many))
	}
	return cmdutil.Plural(n, one, many)
}

func fullName(p tools.PatientJSON) string {
	return strings.TrimSpace(p.FirstName + " " + p.LastName)
}

// Appointments prints appointments, one per line; tty chooses aligned
// columns (show asks for them whatever stdout is).
// The patient's name comes last, after the columns scripts cut by
// position.
func Appointments(ios *cmdutil.IOStreams, tty bool, as []tools.AppointmentJSON, total int) {
	t := cmdutil.NewTable(ios.Out, tty, "ID", "MRN", "START", "TYPE", "PROVIDER", "STATUS", "PATIENT").Fit(ios.TerminalWidth())
	for _, a := range as {
		t.Row(a.ID, a.MRN, minute(a.Start), a.Type, a.Provider, a.Status, a.Patient)
	}
	t.Flush()
	if tty {
		fmt.Fprintln(ios.Out, footer(len(as), total, "appointment", "appointments"))
	}
}

// PatientAppointments prints one patient's appointments, as show does:
// the MRN and name are the record's, said once above, not on every row.
func PatientAppointments(ios *cmdutil.IOStreams, as []tools.AppointmentJSON) {
	t := cmdutil.NewTableFor(ios, "ID", "START", "TYPE", "PROVIDER", "STATUS")
	for _, a := range as {
		t.Row(a.ID, minute(a.Start), a.Type, a.Provider, a.Status)
	}
	t.Flush()
	fmt.Fprintln(ios.Out, footer(len(as), 0, "appointment", "appointments"))
}

// PatientInteractions is PatientAppointments for the contact log.
func PatientInteractions(ios *cmdutil.IOStreams, is []tools.InteractionJSON) {
	t := cmdutil.NewTableFor(ios, "ID", "WHEN", "CHANNEL", "DIRECTION", "STAFF", "SUMMARY")
	for _, i := range is {
		t.Row(i.ID, minute(i.At), i.Channel, i.Direction, i.Staff, i.Summary)
	}
	t.Flush()
	fmt.Fprintln(ios.Out, footer(len(is), 0, "interaction", "interactions"))
}

// Interactions prints interactions, one per line.
func Interactions(ios *cmdutil.IOStreams, tty bool, is []tools.InteractionJSON, total int) {
	t := cmdutil.NewTable(ios.Out, tty, "ID", "MRN", "WHEN", "CHANNEL", "DIRECTION", "STAFF", "SUMMARY").Fit(ios.TerminalWidth())
	for _, i := range is {
		t.Row(i.ID, i.MRN, minute(i.At), i.Channel, i.Direction, i.Staff, i.Summary)
	}
	t.Flush()
	if tty {
		fmt.Fprintln(ios.Out, footer(len(is), total, "interaction", "interactions"))
	}
}

// Tasks prints tasks, one per line, open ones by due day first.
func Tasks(w io.Writer, tty bool, ts []tools.TaskJSON) {
	t := cmdutil.NewTable(w, tty, "ID", "MRN", "DUE", "ASSIGNED", "STATUS", "TASK")
	for _, x := range ts {
		t.Row(strconv.FormatInt(x.ID, 10), x.MRN, x.Due, x.AssignedTo, x.Status, x.Text)
	}
	t.Flush()
	if tty {
		fmt.Fprintln(w, cmdutil.Plural(len(ts), "task", "tasks"))
	}
}

// minute shows a wall-clock time (2006-01-02T15:04:05) to the minute.
func minute(s string) string {
	if len(s) >= 16 {
		return strings.Replace(s[:16], "T", " ", 1)
	}
	return s
}

// ChoosePatient offers a numbered choice between namesakes and returns
// the index of the one typed. The backend audited the list when it made
// it. What was typed while the request ran is thrown away first: a number
// typed ahead must not pick a patient.
func ChoosePatient(ctx context.Context, ios *cmdutil.IOStreams, candidates []tools.PatientBrief) (int, error) {
	fmt.Fprintf(ios.Out, "%d patients match. Which one?\n", len(candidates))
	for i, p := range candidates {
		born := p.DOB
		if born == "" {
			born = "unknown"
		}
		fmt.Fprintf(ios.Out, "  %d) %s  %s  born %s\n", i+1, p.MRN, p.Name, born)
	}
	ios.DiscardTypeAhead()
	answer, err := ios.Ask(ctx, fmt.Sprintf("Number (1-%d, Enter to cancel): ", len(candidates)))
	if err != nil {
		return -1, err
	}
	answer = strings.TrimSpace(answer)
	if answer == "" {
		return -1, cmdutil.ErrCancelled
	}
	n, err := strconv.Atoi(answer)
	if err != nil || n < 1 || n > len(candidates) {
		return -1, fmt.Errorf("%q is not one of 1-%d; nothing was done", answer, len(candidates))
	}
	return n - 1, nil
}

// Choose offers the numbered choice when err is a name that matched
// several patients and a person can answer (ios.ChoosePatient is set, as
// in the REPL), and returns the MRN chosen. Otherwise it returns err.
func Choose(ctx context.Context, ios *cmdutil.IOStreams, err error) (string, error) {
	var amb *backend.AmbiguousError
	if ios.ChoosePatient == nil || !errors.As(err, &amb) {
		return "", err
	}
	i, cerr := ios.ChoosePatient(ctx, amb.Candidates)
	if cerr != nil {
		return "", cerr
	}
	return amb.Candidates[i].MRN, nil
}

// ModelSentence is the model's clarify or refuse as Carebook says it: a
// question from Carebook, or what it won't do, cut to a sane length and
// kept to one line.
func ModelSentence(tool, message string) string {
	message = cmdutil.Clip(strings.Join(strings.Fields(message), " "), maxMessage)
	if tool == tools.ToolClarify {
		return "Carebook asks: " + message
	}
	return "Carebook won't do this: " + message
}
