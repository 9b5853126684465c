// Package exportcmd is `carebook export`: the practice's data as CSV or
// JSON, in the columns `carebook import` reads, so an export re-imports
// without loss.
package exportcmd

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/internal/atomicfile"
	"github.com/carebook/carebook/tools"
)

// Options holds the export command's dependencies and flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)

	Entity  string
	Patient tools.PatientRef // for "export patient P"
	Format  string
	Output  string
	Profile string // "" or "marketing"
	To      string // the recipient, for the disclosure record
	Purpose string
}

// NewCmdExport builds `carebook export`.
func NewCmdExport(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Backend: f.ExistingBackend}
	cmd := &cobra.Command{
		Use:   "export {patients|appointments|interactions|patient PATIENT}",
		Short: "Export patients, appointments or interactions as CSV or JSON",
		Long: `Export every patient, appointment or interaction. CSV uses the column names
carebook import reads, so the file imports again without loss. An export holds
patient data: it is written readable only by you, and recorded in the audit log
as a disclosure, with --to (who receives it) and --purpose.

"export patient PATIENT --format json" is one patient's full record (demographics,
tags, appointments, interactions): the copy a patient may ask for (HIPAA right of
access, 45 CFR 164.524).

"export patients --profile marketing" is the minimum-necessary list for a
marketing tool: first name, last name and email of active patients who opted in
to marketing and are not deceased. Nothing clinical: no tags, no appointments,
no notes.

A CSV cell that begins with =, +, -, @, a tab or a carriage return would run
as a formula when a spreadsheet opens the file, so it is written with a single
quote in front ('=…), which spreadsheets show as text (OWASP's advice on CSV
injection). carebook import removes that quote again.`,
		Example: `  carebook export patients -o patients.csv
  carebook export interactions --format json > interactions.json
  carebook export patient P1002 --format json --to "the patient" -o p1002.json
  carebook export patients --profile marketing --to Mailchimp -o newsletter.csv`,
		Args: cmdutil.Args(1, 2, "what to export: patients, appointments, interactions, or patient PATIENT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Entity = args[0]
			switch {
			case opts.Entity == "patient" && len(args) == 2:
				opts.Patient.Match = args[1]
			case opts.Entity == "patient":
				return cmdutil.FlagErrorf("export patient needs the patient: an MRN, an email or a name")
			case len(args) == 2:
				return cmdutil.FlagErrorf("only export patient takes a second argument")
			case opts.Entity == tools.EntityPatients, opts.Entity == tools.EntityAppointments, opts.Entity == tools.EntityInteractions:
			default:
				return cmdutil.FlagErrorf("export patients, appointments, interactions or patient PATIENT, not %q", opts.Entity)
			}
			if opts.Profile != "" && (opts.Profile != "marketing" || opts.Entity != tools.EntityPatients) {
				return cmdutil.BadFlag("profile", opts.Profile, `"marketing", with export patients`)
			}
			if opts.Profile == "marketing" && opts.To == "" {
				return cmdutil.FlagErrorf("a marketing list is a disclosure: say who receives it with --to")
			}
			if opts.Entity == "patient" && !cmd.Flags().Changed("format") {
				opts.Format = "json"
			}
			if opts.Format != "csv" && opts.Format != "json" {
				return cmdutil.BadFlag("format", opts.Format, "csv or json")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "csv", "csv or json")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write to this file (mode 0600) instead of standard output")
	cmd.Flags().StringVar(&opts.Profile, "profile", "", `"marketing": name and email of opted-in, active patients only`)
	cmd.Flags().StringVar(&opts.To, "to", "", "who receives the export, for the disclosure record")
	cmd.Flags().StringVar(&opts.Purpose, "purpose", "", "why it is disclosed, for the disclosure record")
	return cmd
}

// Run writes the export. The backend audits the disclosure before a byte
// is written; a file is written whole or not at all.
func Run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	req := backend.ExportRequest{Entity: opts.Entity, Patient: opts.Patient, Format: opts.Format, Profile: opts.Profile,
		To: opts.To, Purpose: opts.Purpose, File: opts.Output}
	if opts.Output == "" {
		if _, err := b.Export(ctx, req, opts.IO.Out); err != nil {
			return err
		}
		return nil
	}
	var view *backend.ExportView
	err = atomicfile.Write(opts.Output, atomicfile.Options{}, func(w io.Writer) error {
		var err error
		view, err = b.Export(ctx, req, w)
		return err
	})
	if err != nil {
		return fmt.Errorf("export %s to %s: %w", opts.Entity, opts.Output, err)
	}
	noun := strings.TrimSuffix(opts.Entity, "s")
	fmt.Fprintf(opts.IO.ErrOut, "Exported %s to %s.\n", cmdutil.Plural(view.Rows, noun, noun+"s"), opts.Output)
	return nil
}
