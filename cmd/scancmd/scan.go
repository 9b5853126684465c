// Package scancmd is `carebook scan`: find PHI in CSV exports from cloud
// CRMs before deciding what to move to Carebook.
package scancmd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/internal/charset"
	"github.com/carebook/carebook/phiscan"
)

// ScanOptions holds the scan command's dependencies and flags.
type ScanOptions struct {
	IO *cmdutil.IOStreams

	Files        []string
	JSON         bool
	ShowExamples bool
	SampleRows   int
	// Encoding is --encoding as typed: the files' encoding when they have
	// no byte order mark.
	Encoding string
}

// NewCmdScan builds `carebook scan`.
func NewCmdScan(f *cmdutil.Factory, runF func(*ScanOptions) error) *cobra.Command {
	opts := &ScanOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "scan FILE.csv [FILE.csv...]",
		Short: "Find PHI in CSV exports from a cloud CRM",
		Long: `Scan CSV exports from HubSpot, Mailchimp, Keap or any spreadsheet for protected
health information: identifiers (names, emails, phones, addresses, dates of
birth, MRNs, insurance member IDs), clinical columns, billing columns, and tags
or notes that mention conditions, medications, allergies or visit types.

For each file it says what every column holds and why, whether the file holds
PHI, what to do (migrate, strip or split), and which columns a marketing tool
may keep. The report names columns and counts rows; it never prints a cell.
--show-examples adds three values per column, and only on a terminal.

Scan reads the files only: it opens no database and makes no network call.`,
		Example: `  carebook scan hubspot-contacts.csv
  carebook scan mailchimp-audience.csv keap-contacts.csv --json`,
		Args: cmdutil.Args(1, -1, "at least one CSV FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			if opts.ShowExamples && !opts.IO.IsStdoutTTY() {
				return cmdutil.FlagErrorf("--show-examples prints patient data, so it works only when standard output is a terminal, not a file or a pipe")
			}
			if opts.SampleRows < 0 {
				return cmdutil.BadFlag("sample-rows", strconv.Itoa(opts.SampleRows), "a whole number, 0 or more")
			}
			if runF != nil {
				return runF(opts)
			}
			return scanRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the reports as JSON")
	cmd.Flags().BoolVar(&opts.ShowExamples, "show-examples", false, "show up to three values per column (terminal only: they are patient data)")
	cmd.Flags().IntVar(&opts.SampleRows, "sample-rows", phiscan.DefaultSampleRows, "rows, from the top, that classify columns by value")
	cmd.Flags().StringVar(&opts.Encoding, "encoding", "", "the files' encoding when they are not UTF-8 and have no byte order mark: "+charset.Names)
	return cmd
}

// scanRun scans every file and prints the reports of those that could be
// read; a file that could not be read is an error after the others.
func scanRun(ctx context.Context, opts *ScanOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	enc, err := charset.Parse(opts.Encoding)
	if err != nil {
		return &cmdutil.FlagError{Err: err}
	}
	scanOpts := phiscan.Options{SampleRows: opts.SampleRows, ShowExamples: opts.ShowExamples, Encoding: enc}
	reports := []*phiscan.FileReport{}
	var errs []error
	for _, path := range opts.Files {
		rep, err := phiscan.ScanFile(ctx, path, scanOpts)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, err)
			continue
		}
		reports = append(reports, rep)
	}
	if opts.JSON {
		if err := cmdutil.WriteJSON(opts.IO.Out, reports); err != nil {
			return err
		}
		return errors.Join(errs...)
	}
	for i, rep := range reports {
		if i > 0 {
			fmt.Fprintln(opts.IO.Out)
		}
		if err := printReport(opts.IO, rep); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

func printReport(ios *cmdutil.IOStreams, rep *phiscan.FileReport) error {
	out := ios.Out
	fmt.Fprintf(out, "%s: %s, %s\n", rep.File, cmdutil.Plural(rep.Rows, "row", "rows"), cmdutil.Plural(len(rep.Columns), "column", "columns"))
	// Not fitted to the terminal: what a column mentions is the finding,
	// and a wrapped line loses less of it than a cut one.
	t := cmdutil.NewTable(out, ios.IsStdoutTTY(), "COLUMN", "FINDS", "WHY", "MENTIONS")
	for _, c := range rep.Columns {
		finds := string(c.Category)
		if c.Flagged() && c.Kind != "" {
			finds += "/" + c.Kind
		}
		t.Row(c.Header, finds, c.Reason, phiscan.MentionsText(c.Mentions))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	holds := "no"
	if rep.HoldsPHI {
		holds = "yes"
	}
	fmt.Fprintf(out, "Holds PHI: %s\n", holds)
	fmt.Fprintf(out, "Recommendation: %s (%s)\n", rep.Recommendation, rep.Recommendation.Describe())
	keep := "nothing"
	if len(rep.MarketingMayKeep) > 0 {
		keep = strings.Join(rep.MarketingMayKeep, ", ")
	}
	fmt.Fprintf(out, "A marketing tool may keep: %s\n", keep)
	for _, a := range rep.Advice {
		fmt.Fprintf(out, "  %s\n", a)
	}
	var ex []phiscan.ColumnReport
	for _, c := range rep.Columns {
		if len(c.Examples) > 0 {
			ex = append(ex, c)
		}
	}
	if len(ex) > 0 {
		fmt.Fprintln(out, "Examples (patient data, shown because of --show-examples):")
		for _, c := range ex {
			fmt.Fprintf(out, "  %s: %s\n", c.Header, strings.Join(c.Examples, " | "))
		}
	}
	return nil
}
