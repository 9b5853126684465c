// Package exportcmd is `carebook export`: the practice's data as CSV or
// JSON, in the columns `carebook import` reads, so an export re-imports
// without loss.
package exportcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/complete"
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
	// Internal marks an export for the practice's own use: recorded as a
	// read, not as a disclosure to every patient in it.
	Internal bool
	// Force replaces an existing --output file.
	Force bool
}

// NewCmdExport builds `carebook export`.
func NewCmdExport(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Backend: f.ExistingBackend}
	var asJSON bool
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

--internal marks an export for the practice's own use (a spreadsheet for the
manager): recorded as a read, not as a disclosure to each patient in it. On a
terminal, an export without --to asks who receives it, and without --purpose
why.

-o FILE writes the file whole or not at all, mode 0600, and never replaces an
existing file unless --force is given. On a terminal, an export without -o is
refused rather than printed into the scroll-back: use -o - to print it anyway.
Piped, it goes to standard output.

A CSV cell that begins with =, +, -, @, a tab or a carriage return would run
as a formula when a spreadsheet opens the file, so it is written with a single
quote in front ('=…), which spreadsheets show as text (OWASP's advice on CSV
injection). carebook import removes that quote again.`,
		Example: `  carebook export patients -o patients.csv --internal
  carebook export interactions --json -o interactions.json --to "Dr. Lee" --purpose "continuity of care"
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
			if asJSON {
				if cmd.Flags().Changed("format") && opts.Format != "json" {
					return cmdutil.FlagErrorf("--json is --format json; give one of them")
				}
				opts.Format = "json"
			}
			if opts.Entity == "patient" && !cmd.Flags().Changed("format") {
				opts.Format = "json"
			}
			if opts.Internal && (opts.To != "" || opts.Profile != "") {
				return cmdutil.FlagErrorf("--internal is for the practice's own use: it takes no --to or --profile")
			}
			if opts.Output == "" && opts.IO.IsStdoutTTY() {
				return cmdutil.FlagErrorf("this would print patient data into the terminal's scroll-back; write it to a file with -o FILE (or -o - to print it here)")
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
	cmd.Flags().BoolVar(&asJSON, "json", false, "the same as --format json")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", `write to this file (mode 0600), or "-" for standard output`)
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace the --output file if it exists")
	cmd.Flags().BoolVar(&opts.Internal, "internal", false, "for the practice's own use: recorded as a read, not a disclosure")
	cmd.Flags().StringVar(&opts.Profile, "profile", "", `"marketing": name and email of opted-in, active patients only`)
	cmd.Flags().StringVar(&opts.To, "to", "", "who receives the export, for the disclosure record")
	cmd.Flags().StringVar(&opts.Purpose, "purpose", "", "why it is disclosed, for the disclosure record")
	complete.Flag(cmd, "format", complete.Values("csv", "json"))
	complete.Flag(cmd, "profile", complete.Values("marketing"))
	cmd.ValidArgsFunction = func(c *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch {
		case len(args) == 0:
			return complete.Values(tools.EntityPatients, tools.EntityAppointments, tools.EntityInteractions, "patient")(c, args, prefix)
		case len(args) == 1 && args[0] == "patient":
			return complete.MRNs(f.ExistingBackend)(c, args, prefix)
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return cmd
}

// askRecipient asks, on a terminal, who receives an export and why, when
// the flags did not say: the disclosure record (164.528) needs them. A
// script that leaves them out is recorded as "unspecified", as before.
func askRecipient(ctx context.Context, opts *Options) error {
	if opts.Internal || !opts.IO.CanPrompt() {
		return nil
	}
	if opts.To == "" {
		to, err := opts.IO.Ask(ctx, "Who receives this export? (--to, or --internal for the practice's own use) ")
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if opts.To = strings.TrimSpace(to); opts.To == "" {
			return cmdutil.FlagErrorf("an export is recorded as a disclosure: say who receives it with --to, or mark it --internal for the practice's own use")
		}
	}
	// A patient's own copy and a marketing list have their purpose already.
	if opts.Purpose == "" && opts.Entity != "patient" && opts.Profile == "" {
		purpose, err := opts.IO.Ask(ctx, "For what purpose? (--purpose; Enter to leave it unspecified) ")
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		opts.Purpose = strings.TrimSpace(purpose)
	}
	return nil
}

// Run writes the export. The backend audits the disclosure before a byte
// is written; a file is written whole or not at all.
func Run(ctx context.Context, opts *Options) error {
	if err := askRecipient(ctx, opts); err != nil {
		return err
	}
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	toStdout := opts.Output == "" || opts.Output == "-"
	req := backend.ExportRequest{Entity: opts.Entity, Patient: opts.Patient, Format: opts.Format, Profile: opts.Profile,
		To: opts.To, Purpose: opts.Purpose, Internal: opts.Internal}
	if !toStdout {
		req.File = opts.Output
	}
	if toStdout {
		if _, err := b.Export(ctx, req, opts.IO.Out); err != nil {
			return err
		}
		return nil
	}
	// The file is checked before the backend records the export: a
	// refusal to replace it leaves no disclosure behind.
	var view *backend.ExportView
	err = atomicfile.Write(opts.Output, atomicfile.Options{NoReplace: !opts.Force}, func(w io.Writer) error {
		var err error
		view, err = b.Export(ctx, req, w)
		return err
	})
	if errors.Is(err, atomicfile.ErrExists) {
		return fmt.Errorf("export: %s already exists; choose another name, or pass --force to replace it", opts.Output)
	}
	if err != nil {
		return fmt.Errorf("export %s to %s: %w", opts.Entity, opts.Output, err)
	}
	noun := strings.TrimSuffix(opts.Entity, "s")
	fmt.Fprintf(opts.IO.ErrOut, "Exported %s to %s.\n", cmdutil.Plural(view.Rows, noun, noun+"s"), opts.Output)
	return nil
}
