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
	"time"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/present"
	"github.com/carebook/carebook/cmd/session"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Options holds the run command's dependencies and flags.
type Options struct {
	IO         *cmdutil.IOStreams
	OpenStore  func(context.Context) (*store.Store, error)
	Clock      func() (func() time.Time, error)
	NewDecider func() (session.Decider, error)

	Path        string
	Yes         bool
	DryRun      bool
	StopOnError bool
	JSON        bool
}

// NewCmdRun builds `carebook run`.
func NewCmdRun(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, OpenStore: f.OpenStore, Clock: f.Clock,
		NewDecider: func() (session.Decider, error) { return f.NewAgent() }}
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
		Args: cobra.ExactArgs(1),
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
	return cmd
}

// LineReport is what became of one line.
type LineReport struct {
	Line    int    `json:"line"`
	Status  string `json:"status"` // ok, dry-run, failed, refused, skipped
	Tool    string `json:"tool,omitempty"`
	Summary string `json:"summary"`
	Count   int    `json:"count"`
}

type line struct {
	no   int
	text string
}

// Run runs the batch.
func Run(ctx context.Context, opts *Options) error {
	lines, err := readLines(opts.Path)
	if err != nil {
		return err
	}
	clock, err := opts.Clock()
	if err != nil {
		return err
	}
	actions := strings.EqualFold(filepath.Ext(opts.Path), ".jsonl")
	s := &session.Session{IO: opts.IO, Now: clock, Channel: cmdutil.ChannelRun}
	if actions {
		// No model and, with --yes, nobody at a prompt: one open file for the
		// whole batch is much faster than one per line, and each line is
		// still its own transaction.
		st, err := opts.OpenStore(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		s.Open = present.Keep(st)
		if !opts.Yes && !opts.DryRun && opts.IO.CanPrompt() {
			s.Open = present.OpenEach(opts.OpenStore)
			st.Close()
		}
	} else {
		if s.Decider, err = opts.NewDecider(); err != nil {
			return err
		}
		s.Open = present.OpenEach(opts.OpenStore)
	}

	var bar *cmdutil.ProgressBar
	if opts.IO.IsStderrTTY() && len(lines) > 20 {
		bar = cmdutil.NewProgressBar(opts.IO.ErrOut, "run")
	}
	reports := make([]LineReport, 0, len(lines))
	failed := 0
	var stopErr error
	lineOpts := session.Options{Options: present.Options{Yes: opts.Yes, Quiet: true}, DryRun: opts.DryRun}
	for i, l := range lines {
		if err := ctx.Err(); err != nil {
			stopErr = err
			break
		}
		rep := LineReport{Line: l.no}
		var out *session.Outcome
		var err error
		if actions {
			out, err = s.RunActionLine(ctx, []byte(l.text), lineOpts)
		} else {
			out, err = s.Ask(ctx, l.text, lineOpts)
		}
		describe(&rep, out, err, opts.DryRun)
		reports = append(reports, rep)
		bar.Update(int64(i+1), int64(len(lines)))
		if errors.Is(err, context.Canceled) {
			stopErr = err
			break
		}
		if rep.Status == "failed" || rep.Status == "refused" {
			failed++
			if opts.StopOnError {
				stopErr = fmt.Errorf("stopped at line %d (--stop-on-error)", l.no)
				break
			}
		}
	}
	bar.Done()
	for _, l := range lines[len(reports):] {
		reports = append(reports, LineReport{Line: l.no, Status: "skipped", Summary: "not run"})
	}
	if err := printReport(opts, reports); err != nil {
		return err
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
	case failed > 0:
		if !opts.JSON {
			fmt.Fprintf(opts.IO.ErrOut, "%s of %d failed.\n", cmdutil.Plural(failed, "line", "lines"), len(lines))
		}
		return cmdutil.ErrSilent
	}
	return nil
}

func describe(rep *LineReport, out *session.Outcome, err error, dryRun bool) {
	if out != nil && out.Plan != nil {
		rep.Tool = out.Plan.Tool
		rep.Summary = out.Plan.Summary
		rep.Count = out.Plan.TargetCount
	}
	var msg *session.MessageError
	switch {
	case errors.As(err, &msg):
		rep.Status, rep.Summary = "refused", msg.Message
		if msg.Tool == tools.ToolClarify {
			rep.Status = "unclear"
		}
	case errors.Is(err, cmdutil.ErrNeedsConfirmation):
		rep.Status, rep.Summary = "refused", "a change: re-run with --yes"
	case errors.Is(err, context.Canceled):
		rep.Status, rep.Summary = "failed", "cancelled; rolled back"
	case err != nil:
		rep.Status, rep.Summary = "failed", oneLine(err.Error())
	case dryRun:
		rep.Status = "dry-run"
	default:
		rep.Status = "ok"
		if out.Result != nil {
			rep.Count = out.Result.Count
			if out.Result.Message != "" {
				rep.Summary = out.Result.Message
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
