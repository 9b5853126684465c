// Package importcmd is `carebook import`: a cloud-CRM CSV export into the
// practice database, all or nothing.
package importcmd

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/importer"
	"github.com/carebook/carebook/internal/charset"
)

// Options holds the import command's dependencies and flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)

	Kind importer.Kind
	Path string
	// Encoding is --encoding as typed: the file's encoding when it has no
	// byte order mark.
	Encoding string
	Map      []string
	DryRun   bool
	SkipBad  bool
	JSON     bool
}

// NewCmdImport builds `carebook import`.
func NewCmdImport(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Backend: f.CreatingBackend}
	cmd := &cobra.Command{
		Use:   "import {patients|appointments|interactions} FILE.csv",
		Short: "Import a CSV export of patients, appointments or interactions",
		Long: `Import a CSV export from a cloud CRM or a spreadsheet. Columns are mapped
automatically (generic practice exports, HubSpot contacts, Mailchimp audiences);
--map overrides a column. The file imports all or nothing: a bad row stops it,
unless --skip-bad is given. Re-importing the same file changes nothing.

Import patients first, then appointments and interactions, which name patients
by MRN.`,
		Example: `  carebook import patients export/patients.csv
  carebook import patients contacts.csv --map "Member ID=mrn" --map "Notes=ignore"
  carebook import appointments appointments.csv --dry-run`,
		Args: cmdutil.Args(2, 2, "what to import (patients, appointments or interactions) and the CSV FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := importer.ParseKind(args[0])
			if err != nil {
				return &cmdutil.FlagError{Err: err}
			}
			opts.Kind, opts.Path = kind, args[1]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.Map, "map", nil, `map a column to a field: "Header=field" (field "ignore" drops it)`)
	cmd.Flags().StringVar(&opts.Encoding, "encoding", "", "the file's encoding when it is not UTF-8 and has no byte order mark: "+charset.Names)
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "check every row and write nothing")
	cmd.Flags().BoolVar(&opts.SkipBad, "skip-bad", false, "import the good rows and list the bad ones")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	return cmd
}

// Run imports one file. The file is read here and sent to the backend,
// which imports it in one transaction.
func Run(ctx context.Context, opts *Options) error {
	overrides, err := parseMap(opts.Map)
	if err != nil {
		return err
	}
	if _, err := charset.Parse(opts.Encoding); err != nil {
		return &cmdutil.FlagError{Err: err}
	}
	file, err := os.Open(opts.Path)
	if err != nil {
		return fmt.Errorf("import %s: %w", opts.Path, err)
	}
	defer file.Close()
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	req := backend.ImportRequest{Kind: string(opts.Kind), FileName: opts.Path, Map: overrides, Encoding: opts.Encoding,
		DryRun: opts.DryRun, SkipBad: opts.SkipBad, Size: -1}
	var progress func(backend.Progress)
	if fi, err := file.Stat(); err == nil {
		req.Size = fi.Size()
		if opts.IO.IsStderrTTY() && !opts.JSON && fi.Size() > 1<<20 {
			bar := cmdutil.NewProgressBar(opts.IO.TerminalErr(), "import "+string(opts.Kind))
			defer bar.Done()
			progress = func(p backend.Progress) { bar.Update(p.Done, p.Total) }
		}
	}
	res, err := b.Import(ctx, req, file, progress)
	if res == nil {
		return err
	}
	if opts.JSON {
		if jerr := cmdutil.WriteJSON(opts.IO.Out, res); jerr != nil {
			return jerr
		}
		if err != nil {
			return cmdutil.ErrSilent
		}
		return nil
	}
	printBad(opts.IO, res.Bad)
	if err != nil {
		return err
	}
	printSummary(opts.IO, res)
	return nil
}

func parseMap(pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		header, field, ok := strings.Cut(p, "=")
		if !ok || strings.TrimSpace(header) == "" || strings.TrimSpace(field) == "" {
			return nil, cmdutil.FlagErrorf(`--map takes "Header=field", not %q`, p)
		}
		out[strings.TrimSpace(header)] = strings.TrimSpace(field)
	}
	return out, nil
}

const maxBadShown = 50

func printBad(ios *cmdutil.IOStreams, bad []backend.RowErrorView) {
	for i, b := range bad {
		if i == maxBadShown {
			fmt.Fprintf(ios.ErrOut, "… and %d more bad rows\n", len(bad)-maxBadShown)
			break
		}
		fmt.Fprintf(ios.ErrOut, "line %d: %s\n", b.Line, b.Message)
	}
}

func printSummary(ios *cmdutil.IOStreams, res *backend.ImportView) {
	verb := "Imported"
	if res.DryRun {
		verb = "Checked (dry run, nothing written)"
	}
	fmt.Fprintf(ios.Out, "%s %s: %s — %d new, %d updated, %d unchanged", verb, res.File,
		cmdutil.Plural(res.Rows, "row", "rows"), res.Inserted, res.Updated, res.Unchanged)
	if res.Kind == string(importer.KindPatients) {
		fmt.Fprintf(ios.Out, "; %d tag links added", res.TagLinks)
	}
	fmt.Fprintln(ios.Out, ".")
	if n := len(res.Bad); n > 0 {
		fmt.Fprintf(ios.Out, "Skipped %s (listed above).\n", cmdutil.Plural(n, "bad row", "bad rows"))
	}
	if n := res.Notes; n > 0 {
		fmt.Fprintf(ios.Out, "The file has %s, which import does not keep: carebook migrate imports the same file and keeps each note as a note interaction.\n",
			cmdutil.Plural(n, "note", "notes"))
	}
	// Every skipped column is named, for scripts too: a column left out by
	// mistake is otherwise noticed only when its data is needed.
	if len(res.Skipped) > 0 {
		fmt.Fprintf(ios.Out, "Columns not imported: %s (map one with --map \"Header=field\").\n", quoteAll(res.Skipped))
	}
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
