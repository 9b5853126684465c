// Package forgetcmd is `carebook forget`: delete one patient for good.
package forgetcmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/complete"
	"github.com/carebook/carebook/cmd/present"
	"github.com/carebook/carebook/tools"
)

// Options holds the forget command's dependencies and flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)

	Patient tools.PatientRef
	Yes     bool
	DryRun  bool
	JSON    bool
}

// NewCmdForget builds `carebook forget`.
func NewCmdForget(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Backend: f.ExistingBackend}

	cmd := &cobra.Command{
		Use:   "forget PATIENT",
		Short: "Delete a patient and everything about them, for good",
		Long: `Delete one patient with their tags, appointments, interactions, tasks and
consent history, in one transaction, then rewrite the database file, so that the
file, its WAL, the audit head and the history hold no trace of them (the disk blocks the old file used are
freed, not overwritten: encryption at rest covers those; see carebook doctor). The audit log records the deletion by a hash of
the MRN and row counts, never the name. This cannot be undone (except from a
backup made before). Earlier audit rows about the patient keep their place
and hashes but lose their text, and lines of REPL history that name them
are removed. On a terminal it asks you to type the MRN to confirm; in a
script it needs --yes. --dry-run shows what would be deleted, and deletes
nothing.

The audit row holds a salted commitment to the MRN, not the MRN: the
receipt printed at the end (the salt) lets an auditor who holds the MRN
confirm that this row is that patient's deletion. Keep it if you may need
to prove the deletion; it is stored nowhere else.`,
		Example: `  carebook forget P1002
  carebook forget "Jon Smyth" --yes`,
		Args: cmdutil.Args(1, 1, "a PATIENT: an MRN, email or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Patient.Match = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Patient.Born, "born", "", "year or date of birth, to tell namesakes apart")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show what would be deleted, and delete nothing")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	cmd.ValidArgsFunction = complete.Only(1, complete.MRNs(f.ExistingBackend))
	return cmd
}

// Run forgets the patient: the backend previews, the person confirms by
// typing the MRN, the backend deletes and rewrites the file.
func Run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	reply, err := b.PrepareForget(ctx, backend.ForgetRequest{Channel: cmdutil.ChannelCLI, Patient: opts.Patient, DryRun: opts.DryRun})
	if err != nil {
		return err
	}
	out, err := present.Run(ctx, opts.IO, b, reply, present.Options{Yes: opts.Yes, DryRun: opts.DryRun, JSON: opts.JSON, Quiet: opts.JSON && !opts.DryRun})
	if err != nil {
		return err
	}
	gone := out.Forgotten
	if gone == nil {
		return nil
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, gone)
	}
	fmt.Fprintf(opts.IO.Out, "Forgotten: removed %s; redacted %s and removed %s; the database file was rewritten (%.1fs).\n",
		gone.Deleted(), cmdutil.Plural(gone.AuditRows, "earlier audit row", "earlier audit rows"),
		cmdutil.Plural(gone.HistoryLines, "history line", "history lines"), gone.Seconds)
	fmt.Fprintf(opts.IO.Out, "Deletion receipt: %s (with the MRN, it proves that audit row names this patient; it is stored nowhere).\n", gone.Receipt)
	return nil
}
