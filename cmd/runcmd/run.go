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
	"strconv"
	"strings"

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
	ID      string `json:"id,omitempty"`
	Status  string `json:"status"` // ok, dry-run, failed, declined, unclear, skipped
	Tool    string `json:"tool,omitempty"`
	Summary string `json:"summary"`
	Count   int    `json:"count"`
	// Result is the line's answer: rows, a count, groups, changed MRNs.
	Result *tools.ResultJSON `json:"result,omitempty"`
}

type line struct {
	no   int
	text string
	id   string
}

// Run runs the batch. A .jsonl file confirmed with --yes (or a dry run,
// or no terminal to ask on) goes to the backend as one batch, committed in
// small groups; on a terminal without --yes each line is previewed and
// confirmed on its own. A .txt file asks the model line by line.
func Run(ctx context.Context, opts *Options) error {
	lines, err := readLines(opts.Path)
	if err != nil {
		return err
	}
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	actions := strings.EqualFold(filepath.Ext(opts.Path), ".jsonl")
	var bar *cmdutil.ProgressBar
	if opts.IO.IsStderrTTY() && len(lines) > 20 {
		bar = cmdutil.NewProgressBar(opts.IO.TerminalErr(), "run")
	}
	reports := make([]LineReport, 0, len(lines))
	report := func(r LineReport) {
		reports = append(reports, r)
		bar.Update(int64(len(reports)), int64(len(lines)))
	}
	var stopErr error
	if actions && (opts.Yes || opts.DryRun || !opts.IO.CanPrompt()) {
		stopErr = runBatch(ctx, b, lines, opts, report)
	} else {
		stopErr = runEach(ctx, b, lines, actions, opts, report)
	}
	bar.Done()
	for _, l := range lines[len(reports):] {
		reports = append(reports, LineReport{Line: l.no, ID: l.id, Status: "skipped", Summary: "not run"})
	}
	if err := printReport(opts, reports); err != nil {
		return err
	}
	failed, declined := 0, 0
	for _, r := range reports {
		switch r.Status {
		case "failed":
			failed++
		case "declined", "unclear":
			declined++
		}
	}
	switch {
	case errors.Is(stopErr, context.Canceled):
		done := 0
		for _, r := range reports {
			if r.Status == "ok" {
				done++
			}
		}
		return &cmdutil.PartlyDoneError{Msg: fmt.Sprintf("cancelled: %s done before, the line in progress rolled back, the rest not run (see the report)", cmdutil.Plural(done, "line", "lines"))}
	case stopErr != nil:
		return stopErr
	case failed > 0 || declined > 0:
		if !opts.JSON {
			msg := fmt.Sprintf("%s of %d failed", cmdutil.Plural(failed, "line", "lines"), len(lines))
			if declined > 0 {
				msg += fmt.Sprintf("; the model declined %s", cmdutil.Plural(declined, "line", "lines"))
			}
			fmt.Fprintln(opts.IO.ErrOut, msg+".")
		}
		return cmdutil.ErrSilent
	}
	return nil
}

// runBatch hands the file to the backend in one batch.
func runBatch(ctx context.Context, b backend.Backend, lines []line, opts *Options, report func(LineReport)) error {
	req := backend.BatchRequest{Channel: cmdutil.ChannelRun, Yes: opts.Yes, DryRun: opts.DryRun, StopOnError: opts.StopOnError}
	ids := map[int]string{}
	for _, l := range lines {
		req.Lines = append(req.Lines, backend.BatchLine{Line: l.no, Action: l.text})
		ids[l.no] = l.id
	}
	var stop error
	err := b.Batch(ctx, req, func(r backend.LineResult) {
		rep := LineReport{Line: r.Line, ID: ids[r.Line]}
		describe(&rep, &backend.Reply{Plan: r.Plan, Result: r.Result}, backend.FromWire(r.Error), opts.DryRun)
		report(rep)
		if rep.Status == "failed" && opts.StopOnError {
			stop = fmt.Errorf("stopped at line %d (--stop-on-error)", r.Line)
		}
	})
	if err != nil {
		return err
	}
	return stop
}

// runEach runs line by line: a request for the model (.txt), or an action
// previewed and confirmed on its own (.jsonl on a terminal).
func runEach(ctx context.Context, b backend.Backend, lines []line, actions bool, opts *Options, report func(LineReport)) error {
	s := &session.Session{IO: opts.IO, Backend: b, Channel: cmdutil.ChannelRun}
	// Without --yes on a terminal, the preview of each write is shown and
	// asked about; everything else is in the report.
	quiet := opts.Yes || opts.DryRun || !opts.IO.CanPrompt()
	lineOpts := session.Options{Options: present.Options{Yes: opts.Yes, DryRun: opts.DryRun, Quiet: quiet}}
	for _, l := range lines {
		if err := ctx.Err(); err != nil {
			return err
		}
		rep := LineReport{Line: l.no, ID: l.id}
		var reply *backend.Reply
		var err error
		if actions {
			if !quiet {
				fmt.Fprintf(opts.IO.Out, "Line %d:\n", l.no)
			}
			reply, err = s.PrepareLine(ctx, l.text, lineOpts)
		} else {
			reply, err = s.Ask(ctx, l.text, lineOpts)
		}
		describe(&rep, reply, err, opts.DryRun)
		report(rep)
		if errors.Is(err, context.Canceled) || errors.Is(err, backend.ErrCancelled) && !errors.Is(err, backend.ErrDeclined) {
			return context.Canceled
		}
		if rep.Status == "failed" && opts.StopOnError {
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
		rep.Status, rep.Summary = "declined", msg.Message
		if msg.Tool == tools.ToolClarify {
			rep.Status = "unclear"
		}
	case errors.Is(err, backend.ErrNeedsConfirmation):
		rep.Status, rep.Summary = "failed", "a change: re-run with --yes"
	case errors.Is(err, backend.ErrDeclined):
		rep.Status, rep.Summary = "declined", "not confirmed; nothing was done"
	case errors.Is(err, context.Canceled), errors.Is(err, backend.ErrCancelled):
		rep.Status, rep.Summary = "failed", "cancelled; rolled back"
	case err != nil:
		rep.Status, rep.Summary = "failed", oneLine(err.Error())
	case reply != nil && reply.Result != nil && (reply.Result.Kind == tools.ToolClarify || reply.Result.Kind == tools.ToolRefuse):
		rep.Status, rep.Summary = "declined", reply.Result.Message
		if reply.Result.Kind == tools.ToolClarify {
			rep.Status = "unclear"
		}
	case dryRun:
		rep.Status = "dry-run"
	default:
		rep.Status = "ok"
		if reply != nil && reply.Result != nil {
			rep.Result = reply.Result
			rep.Count = reply.Result.Count
			if reply.Result.Message != "" {
				rep.Summary = reply.Result.Message
			}
		}
	}
}

// oneLine keeps a report row on one line: an ambiguous name's candidates
// are joined with semicolons.
func oneLine(s string) string {
	parts := strings.Split(s, "\n")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, "; ")
}

func printReport(opts *Options, reports []LineReport) error {
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, reports)
	}
	t := cmdutil.NewTable(opts.IO.Out, opts.IO.IsStdoutTTY(), "LINE", "STATUS", "RESULT")
	for _, r := range reports {
		t.Row(strconv.Itoa(r.Line), r.Status, r.Summary)
	}
	return t.Flush()
}

// readLines reads the batch up front, so that a file that cannot be read
// fails before anything runs.
func readLines(path string) ([]line, error) {
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
			lines = append(lines, line{no: no, text: t})
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
