// Package reportcmd is `carebook report`: the practice's month (or any
// period) as one self-contained HTML page of charts, or as JSON.
package reportcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/internal/atomicfile"
	"github.com/carebook/carebook/report"
	"github.com/carebook/carebook/tools"
)

// ChannelReport names reports in the audit log.
const ChannelReport = "report"

// Options holds the report command's dependencies and flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)
	Clock   func() (func() time.Time, error)

	Month  string
	From   string
	To     string
	Output string
	Force  bool
	JSON   bool
}

// NewCmdReport builds `carebook report`.
func NewCmdReport(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Backend: f.ExistingBackend, Clock: f.Clock}
	cmd := &cobra.Command{
		Use:   "report [--month YYYY-MM | --from DATE --to DATE] -o report.html",
		Short: "Write a practice report: charts of appointments, patients, contacts, tags and consent",
		Long: `Write the practice's report for a month (default: last month) or a period, as one
HTML page of charts with their numbers in tables: appointments by status and by
provider with the no-show rate, new patients, contacts by channel and direction,
active patients by tag, and marketing consent in and out. Trends cover the 12
months up to the end of the period.

The page holds aggregates only: no names, MRNs, dates of birth or notes. A count
from 1 to 4 is shown as "< 5" (small-cell suppression), so a printed copy does not
disclose anyone. It needs nothing from the network: no script, no web font, no
link out, and a Content-Security-Policy that forbids every load, so it opens the
same from a USB stick. It is written readable only by you, and recorded in the
audit log as a read.

--json prints the same numbers, with the same suppression (null where the page
says "< 5"), for scripts.`,
		Example: `  carebook report -o report.html
  carebook report --month 2026-05 -o may.html
  carebook report --from 2026-01-01 --to 2026-03-31 -o q1.html --force
  carebook report --month 2026-05 --json | jq '.summary'`,
		Args: cmdutil.Args(0, 0, ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Month != "" && (opts.From != "" || opts.To != "") {
				return cmdutil.FlagErrorf("give --month or --from and --to, not both")
			}
			if (opts.From == "") != (opts.To == "") {
				return cmdutil.FlagErrorf("--from and --to go together")
			}
			if !opts.JSON && opts.Output == "" {
				return cmdutil.FlagErrorf("say where to write the report with -o FILE (or print JSON with --json)")
			}
			if opts.Force && opts.Output == "" {
				return cmdutil.FlagErrorf("--force replaces the file named by -o; there is none")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Month, "month", "", "the month to report, like 2026-05 (default: last month)")
	cmd.Flags().StringVar(&opts.From, "from", "", "the first day of the period (2026-01-01, 01/01/2026, \"90 days ago\")")
	cmd.Flags().StringVar(&opts.To, "to", "", "the last day of the period, included")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write to this file (mode 0600)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace the file if it exists")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the numbers as JSON instead of the page")
	return cmd
}

// Run makes the report: the period from the flags, the numbers from the
// store (an audited read), then the page or the JSON.
func Run(ctx context.Context, opts *Options) error {
	clock, err := opts.Clock()
	if err != nil {
		return err
	}
	now := clock()
	period, err := periodOf(opts, now)
	if err != nil {
		return err
	}
	// Refused before the database is read, so that a name already taken
	// costs no audited read; atomicfile checks again as it writes.
	if opts.Output != "" && !opts.Force {
		if _, err := os.Lstat(opts.Output); err == nil {
			return existsError(opts.Output)
		}
	}
	format := "html"
	if opts.JSON {
		format = "json"
	}
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	rep, err := b.Report(ctx, backend.ReportRequest{From: period.From, To: period.To, Format: format})
	if err != nil {
		return err
	}
	write := func(w io.Writer) error {
		_, err := w.Write(rep.Data)
		return err
	}
	if opts.Output == "" {
		return write(opts.IO.Out)
	}
	if err := atomicfile.Write(opts.Output, atomicfile.Options{NoReplace: !opts.Force}, write); err != nil {
		if errors.Is(err, atomicfile.ErrExists) {
			return existsError(opts.Output)
		}
		return fmt.Errorf("write report %s: %w", opts.Output, err)
	}
	if opts.IO.IsStdoutTTY() {
		fmt.Fprintf(opts.IO.Out, "Wrote the report for %s to %s.\n", period.Label(), opts.Output)
	}
	return nil
}

func existsError(path string) error {
	return fmt.Errorf("%s already exists; choose another name, or replace it with --force", path)
}

// periodOf reads the period from the flags: --month, --from and --to, or
// last month.
func periodOf(opts *Options, now time.Time) (report.Period, error) {
	switch {
	case opts.Month != "":
		p, err := report.Month(opts.Month, now.Location())
		if err != nil {
			return report.Period{}, cmdutil.BadFlag("month", opts.Month, "a month like 2026-05")
		}
		return p, nil
	case opts.From != "":
		from, err := tools.ParsePoint(opts.From, now)
		if err != nil {
			return report.Period{}, cmdutil.BadFlag("from", opts.From, cmdutil.DayUse)
		}
		to, err := tools.ParsePoint(opts.To, now)
		if err != nil {
			return report.Period{}, cmdutil.BadFlag("to", opts.To, cmdutil.DayUse)
		}
		p, err := report.Days(from, to)
		if err != nil {
			return report.Period{}, cmdutil.FlagErrorf("%v", err)
		}
		return p, nil
	}
	return report.LastMonth(now), nil
}
