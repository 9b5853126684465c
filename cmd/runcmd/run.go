// Package runcmd is `carebook run`: a batch of requests or actions.
package runcmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/present"
	"github.com/carebook/carebook/cmd/session"
	"github.com/carebook/carebook/tools"
)

// Options holds the run command's dependencies and flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)

	Path        string
	Yes         bool
	DryRun      bool
	StopOnError bool
	JSON        bool
}

// NewCmdRun builds `carebook run`.
func NewCmdRun(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Backend: f.ExistingBackend}
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run a batch of requests (.txt) or actions (.jsonl)",
		Long: `Run a file line by line, in order. A .jsonl file holds one action per line,
in the format the README documents (no model needed); any other file holds one
plain-language request per line for the model. Blank lines and lines starting
with # are skipped.

Each line is all or nothing. A line that fails is reported and the batch goes
on, unless --stop-on-error. Changes need --yes. Ctrl-C stops after the line in
progress is rolled back. A report of every line ends the run.`,
		Example: `  carebook run morning.txt --dry-run
  carebook run actions.jsonl --yes --json > report.json`,
		Args: cmdutil.Args(1, 1, "a FILE: one request per line (.txt), or one action per line (.jsonl)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Path = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "make the changes without asking")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "check and preview every line; change nothing")
	cmd.Flags().BoolVar(&opts.StopOnError, "stop-on-error", false, "stop at the first line that fails")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	cmdutil.AddModelFlags(cmd, f)
	return cmd
}

// LineReport is what became of one line.
type LineReport struct {
	Line int `json:"line"`
	// ID is the line's "id", when a .jsonl line carries one.
	ID string `json:"id,omitempty"`
	// Status is ok, dry-run, failed, declined (the model refused),
	// unclear (the model asked a question), not-confirmed (the person
	// said no) or skipped.
	Status  string `json:"status"`
	Tool    string `json:"tool,omitempty"`
	Summary string `json:"summary"`
	Count   int    `json:"count"`
	// Result is the line's answer: rows, a count, groups, changed MRNs.
	Result *tools.ResultJSON `json:"result,omitempty"`
	// what is what the line asked ("Count patients"), over its answer.
	what string
}

// Line statuses.
const (
	statusOK           = "ok"
	statusDryRun       = "dry-run"
	statusFailed       = "failed"
	statusDeclined     = "declined"
	statusUnclear      = "unclear"
	statusNotConfirmed = "not-confirmed"
	statusSkipped      = "skipped"
)

type line struct {
	no   int
	text string
	id   string
}

// runner runs one batch and keeps its count.
type runner struct {
	opts    *Options
	lines   []line
	start   time.Time
	reports []LineReport
	// counts are the reports by status.
	counts map[string]int
	// quiet: nothing is asked line by line, so the report shows the
	// answers (on a terminal without --yes, present shows each as it goes).
	quiet bool
	bar   *cmdutil.ProgressBar
}

// Run runs the batch. A .jsonl file confirmed with --yes (or a dry run,
// or no terminal to ask on) goes to the backend as one batch, committed in
// small groups; on a terminal without --yes each line is previewed and
// confirmed on its own. A .txt file asks the model line by line.
func Run(ctx context.Context, opts *Options) error {
	actions := strings.EqualFold(filepath.Ext(opts.Path), ".jsonl")
	lines, err := readLines(opts.Path, actions)
	if err != nil {
		return err
	}
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	r := &runner{opts: opts, lines: lines, start: time.Now(), reports: make([]LineReport, 0, len(lines)), counts: map[string]int{},
		quiet: opts.Yes || opts.DryRun || !opts.IO.CanPrompt()}
	batch := actions && r.quiet
	if batch && opts.IO.IsStderrTTY() && len(lines) > 20 {
		r.bar = cmdutil.NewProgressBar(opts.IO.TerminalErr(), "run")
	}
	var stopErr error
	if batch {
		stopErr = r.runBatch(ctx, b)
	} else {
		stopErr = r.runEach(ctx, b, actions)
	}
	r.bar.Done()
	for _, l := range lines[len(r.reports):] {
		r.reports = append(r.reports, LineReport{Line: l.no, ID: l.id, Status: statusSkipped, Summary: "not run"})
		r.counts[statusSkipped]++
	}
	if err := r.printReport(); err != nil {
		return err
	}
	n := r.counts
	switch {
	case errors.Is(stopErr, context.Canceled):
		return &cmdutil.PartlyDoneError{Msg: fmt.Sprintf("cancelled: %s done before, the line in progress rolled back, the rest not run (see the report)", cmdutil.Plural(n[statusOK], "line", "lines"))}
	case stopErr != nil:
		return stopErr
	case n[statusFailed]+n[statusDeclined]+n[statusUnclear]+n[statusNotConfirmed] > 0:
		if !opts.JSON {
			fmt.Fprintln(opts.IO.ErrOut, summary(n, len(lines)))
		}
		return cmdutil.ErrSilent
	}
	return nil
}

// summary says what was not done, failures apart from what the model
// declined and what the person did not confirm.
func summary(n map[string]int, total int) string {
	var parts []string
	if n[statusFailed] > 0 {
		parts = append(parts, fmt.Sprintf("%s of %d failed", cmdutil.Plural(n[statusFailed], "line", "lines"), total))
	}
	if d := n[statusDeclined] + n[statusUnclear]; d > 0 {
		msg := fmt.Sprintf("the model declined %s", cmdutil.Plural(d, "line", "lines"))
		if n[statusUnclear] > 0 {
			msg += fmt.Sprintf(" (asked a question on %d)", n[statusUnclear])
		}
		parts = append(parts, msg)
	}
	if n[statusNotConfirmed] > 0 {
		parts = append(parts, fmt.Sprintf("%s not confirmed", cmdutil.Plural(n[statusNotConfirmed], "line", "lines")))
	}
	msg := strings.Join(parts, "; ")
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

// done records a line's report, shows its answer, and moves the progress.
func (r *runner) done(rep LineReport) {
	r.reports = append(r.reports, rep)
	r.counts[rep.Status]++
	if r.quiet && !r.opts.JSON && rep.Result != nil && isAnswer(rep.Result) {
		r.bar.Clear()
		out := r.opts.IO.Out
		fmt.Fprintf(out, "%s: %s\n", lineName(rep.Line, rep.ID), rep.what)
		present.Result(r.opts.IO, rep.Result, false)
		fmt.Fprintln(out)
	}
	if r.bar != nil {
		r.bar.UpdateText(int64(len(r.reports)), int64(len(r.lines)), fmt.Sprintf("%d of %d lines: %s", len(r.reports), len(r.lines), r.progress()))
	}
}

// isAnswer says a result is a query's answer, shown the way ask shows it;
// a write's result is its sentence in the report.
func isAnswer(res *tools.ResultJSON) bool {
	switch res.Kind {
	case tools.EntityPatients, tools.EntityAppointments, tools.EntityInteractions, tools.OutputCount, tools.OutputGroups:
		return true
	}
	return false
}

func lineName(no int, id string) string {
	if id != "" {
		return fmt.Sprintf("Line %d (%s)", no, id)
	}
	return fmt.Sprintf("Line %d", no)
}

// progress says how far the batch is: done and failed so far, and about
// how long the rest will take at the pace so far.
func (r *runner) progress() string {
	n := r.counts
	done := len(r.reports)
	msg := fmt.Sprintf("%d done, %d failed", n[statusOK]+n[statusDryRun], n[statusFailed])
	if d := n[statusDeclined] + n[statusUnclear]; d > 0 {
		msg += fmt.Sprintf(", %d declined", d)
	}
	if left := len(r.lines) - done; done > 0 && left > 0 {
		per := time.Since(r.start) / time.Duration(done)
		msg += ", " + roughly(per*time.Duration(left)) + " left"
	}
	return msg
}

// roughly rounds an estimate to what it is worth. Under five seconds it
// would round to "0s" while a model call is still pending: that reads as
// stuck, so it says "a few seconds".
func roughly(d time.Duration) string {
	switch {
	case d < 5*time.Second:
		return "a few seconds"
	case d < time.Minute:
		return fmt.Sprintf("about %ds", int(d.Round(5*time.Second).Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("about %dm", int(d.Round(time.Minute).Minutes()))
	}
	return fmt.Sprintf("about %.1fh", d.Hours())
}

// runBatch hands the file to the backend in one batch.
func (r *runner) runBatch(ctx context.Context, b backend.Backend) error {
	opts := r.opts
	req := backend.BatchRequest{Channel: cmdutil.ChannelRun, Yes: opts.Yes, DryRun: opts.DryRun, StopOnError: opts.StopOnError}
	ids := map[int]string{}
	for _, l := range r.lines {
		req.Lines = append(req.Lines, backend.BatchLine{Line: l.no, Action: l.text})
		ids[l.no] = l.id
	}
	var stop error
	err := b.Batch(ctx, req, func(res backend.LineResult) {
		rep := LineReport{Line: res.Line, ID: ids[res.Line]}
		describe(&rep, &backend.Reply{Plan: res.Plan, Result: res.Result}, backend.FromWire(res.Error), opts.DryRun)
		r.done(rep)
		if rep.Status == statusFailed && opts.StopOnError {
			stop = fmt.Errorf("stopped at line %d (--stop-on-error)", res.Line)
		}
	})
	if err != nil {
		return err
	}
	return stop
}

// runEach runs line by line: a request for the model (.txt), or an action
// previewed and confirmed on its own (.jsonl on a terminal).
func (r *runner) runEach(ctx context.Context, b backend.Backend, actions bool) error {
	opts := r.opts
	s := &session.Session{IO: opts.IO, Backend: b, Channel: cmdutil.ChannelRun}
	// Without --yes on a terminal, the preview of each write is shown and
	// asked about, and each answer shown as it comes; otherwise the answers
	// are shown as each line ends.
	lineOpts := session.Options{Options: present.Options{Yes: opts.Yes, DryRun: opts.DryRun, Quiet: r.quiet}}
	for i, l := range r.lines {
		if err := ctx.Err(); err != nil {
			return err
		}
		rep := LineReport{Line: l.no, ID: l.id}
		if !r.quiet {
			fmt.Fprintf(opts.IO.Out, "%s:\n", lineName(l.no, l.id))
		}
		// The spinner says where the batch is while the model thinks.
		s.Status = fmt.Sprintf("line %d of %d", i+1, len(r.lines))
		if i > 0 {
			s.Status += " (" + r.progress() + ")"
		}
		s.Status += ": "
		var reply *backend.Reply
		var err error
		if actions {
			reply, err = s.PrepareLine(ctx, l.text, lineOpts)
		} else {
			reply, err = s.Ask(ctx, l.text, lineOpts)
		}
		describe(&rep, reply, err, opts.DryRun)
		r.done(rep)
		if errors.Is(err, context.Canceled) || errors.Is(err, backend.ErrCancelled) && !errors.Is(err, backend.ErrDeclined) {
			return context.Canceled
		}
		if rep.Status == statusFailed && opts.StopOnError {
			return fmt.Errorf("stopped at line %d (--stop-on-error)", l.no)
		}
	}
	return nil
}

func describe(rep *LineReport, reply *backend.Reply, err error, dryRun bool) {
	if reply != nil && reply.Plan != nil {
		rep.Tool = reply.Plan.Tool
		rep.Summary = reply.Plan.Summary
		rep.Count = reply.Plan.TargetCount
	}
	var msg *backend.MessageError
	switch {
	case errors.As(err, &msg):
		modelSaid(rep, msg.Tool, msg.Message)
	case errors.Is(err, backend.ErrNeedsConfirmation):
		rep.Status, rep.Summary = statusFailed, "a change: re-run with --yes"
	case errors.Is(err, backend.ErrDeclined):
		rep.Status, rep.Summary = statusNotConfirmed, "not confirmed; nothing was done"
	case errors.Is(err, context.Canceled), errors.Is(err, backend.ErrCancelled):
		rep.Status, rep.Summary = statusFailed, "cancelled; rolled back"
	case err != nil:
		// The lines of a message are kept: an ambiguous name lists its
		// candidates one per line.
		rep.Status, rep.Summary = statusFailed, err.Error()
	case reply != nil && reply.Result != nil && (reply.Result.Kind == tools.ToolClarify || reply.Result.Kind == tools.ToolRefuse):
		modelSaid(rep, reply.Result.Kind, reply.Result.Message)
	case reply != nil && reply.Plan != nil && (reply.Plan.Tool == tools.ToolClarify || reply.Plan.Tool == tools.ToolRefuse):
		modelSaid(rep, reply.Plan.Tool, reply.Plan.Message)
	case dryRun:
		rep.Status = statusDryRun
	default:
		rep.Status = statusOK
		if reply != nil && reply.Result != nil {
			rep.Result = reply.Result
			rep.Count = reply.Result.Count
			switch {
			case reply.Result.Message != "":
				rep.Summary = reply.Result.Message
			case isAnswer(reply.Result):
				rep.what = rep.Summary
				rep.Summary = answerSummary(rep.Summary, reply.Result)
			}
		}
	}
}

// modelSaid reports the model's refusal or question: declined by the
// model, not failed, in the words present uses.
func modelSaid(rep *LineReport, tool, message string) {
	rep.Status, rep.Summary = statusDeclined, present.ModelSentence(tool, message)
	if tool == tools.ToolClarify {
		rep.Status = statusUnclear
	}
}

// answerSummary says what a query found, for the report's line.
func answerSummary(summary string, res *tools.ResultJSON) string {
	switch res.Kind {
	case tools.OutputCount:
		return fmt.Sprintf("%s: %d", summary, res.Count)
	case tools.OutputGroups:
		return fmt.Sprintf("%s: %s", summary, cmdutil.Plural(len(res.Groups), "group", "groups"))
	}
	n := strconv.Itoa(res.Count)
	if res.Total > res.Count {
		n += fmt.Sprintf(" of %d", res.Total)
	}
	return fmt.Sprintf("%s: %s", summary, n)
}

func (r *runner) printReport() error {
	if r.opts.JSON {
		return cmdutil.WriteJSON(r.opts.IO.Out, r.reports)
	}
	withIDs := slices.ContainsFunc(r.reports, func(rep LineReport) bool { return rep.ID != "" })
	header := []string{"LINE", "STATUS", "RESULT"}
	if withIDs {
		header = []string{"LINE", "ID", "STATUS", "RESULT"}
	}
	t := cmdutil.NewTableFor(r.opts.IO, header...)
	for _, rep := range r.reports {
		// A message of several lines keeps them, under the first.
		for i, text := range strings.Split(strings.TrimRight(rep.Summary, "\n"), "\n") {
			row := []string{strconv.Itoa(rep.Line), rep.Status, text}
			if withIDs {
				row = []string{strconv.Itoa(rep.Line), rep.ID, rep.Status, text}
			}
			if i > 0 {
				for c := range len(row) - 1 {
					row[c] = ""
				}
			}
			t.Row(row...)
		}
	}
	return t.Flush()
}

// readLines reads the batch up front, so that a file that cannot be read
// fails before anything runs. A line of a .jsonl file may carry an "id"
// (echoed in the report), beside the action's tool and args or around it
// ({"id": …, "action": {…}}, as the eval files have it).
func readLines(path string, actions bool) ([]line, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", path, err)
	}
	defer f.Close()
	var lines []line
	r := bufio.NewReader(f)
	for no := 1; ; no++ {
		text, err := r.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("run %s: line %d: %w", path, no, err)
		}
		if t := strings.TrimSpace(strings.TrimPrefix(text, "\ufeff")); t != "" && !strings.HasPrefix(t, "#") {
			l := line{no: no, text: t}
			if actions {
				l.text, l.id = splitID(t)
			}
			lines = append(lines, l)
		}
		if err != nil {
			break
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("run %s: the file has no requests", path)
	}
	return lines, nil
}
