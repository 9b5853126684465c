// Package forgetcmd is `carebook forget`: delete one patient for good.
package forgetcmd

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/history"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Options holds the forget command's dependencies and flags.
type Options struct {
	IO        *cmdutil.IOStreams
	OpenStore func(context.Context) (*store.Store, error)
	// HistoryFile is the REPL history file to scrub ("" for none).
	HistoryFile string

	Patient tools.PatientRef
	Yes     bool
	JSON    bool
}

// NewCmdForget builds `carebook forget`.
func NewCmdForget(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, OpenStore: f.OpenStore}

	cmd := &cobra.Command{
		Use:   "forget PATIENT",
		Short: "Delete a patient and everything about them, for good",
		Long: `Delete one patient with their tags, appointments and interactions, in one
transaction, then rewrite the database file so that the deleted bytes are gone
from the disk, not just unlinked. The audit log records the deletion by a hash of
the MRN and row counts, never the name. This cannot be undone (except from a
backup made before). Earlier audit rows about the patient keep their place
and hashes but lose their text, and lines of REPL history that name them
are removed.`,
		Example: `  carebook forget P1002
  carebook forget "Jon Smyth" --yes`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Patient.Match = args[0]
			// The history file is scrubbed whether or not history is on
			// now: it may have been on before.
			if abs, err := filepath.Abs(f.DatabasePath()); err == nil {
				opts.HistoryFile = history.Path(abs)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Patient.Born, "born", "", "year or date of birth, to tell namesakes apart")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	return cmd
}

// Run forgets the patient and compacts the file.
func Run(ctx context.Context, opts *Options) error {
	st, err := opts.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	r := st.Reader()
	p, err := tools.ResolvePatient(ctx, r, opts.Patient)
	if err != nil {
		return err
	}
	only := store.PatientFilter{IDs: []int64{p.ID}}
	nAppts, err := r.CountAppointments(ctx, store.AppointmentQuery{Patients: only})
	if err != nil {
		return err
	}
	nInter, err := r.CountInteractions(ctx, store.InteractionQuery{Patients: only})
	if err != nil {
		return err
	}
	out := opts.IO.Out
	if opts.JSON {
		out = opts.IO.ErrOut
	}
	fmt.Fprintf(out, "Forget %s (%s, born %s) for good: %s, %s, %s.\n", p.FullName(), p.MRN, cmdutil.Date(p.DOB),
		cmdutil.Plural(len(p.Tags), "tag", "tags"), cmdutil.Plural(nAppts, "appointment", "appointments"),
		cmdutil.Plural(nInter, "interaction", "interactions"))
	if !opts.Yes {
		if !opts.IO.CanPrompt() {
			return cmdutil.ErrNeedsConfirmation
		}
		ok, err := opts.IO.Confirm("This cannot be undone. Go ahead?")
		if err != nil {
			return err
		}
		if !ok {
			return cmdutil.ErrCancelled
		}
	}
	start := time.Now()
	gone, err := st.Forget(ctx, store.AuditEntry{Channel: cmdutil.ChannelCLI}, p.ID)
	if err != nil {
		return err
	}
	scrubbed := 0
	if opts.HistoryFile != "" {
		n, err := history.Scrub(opts.HistoryFile, p.NamedIn)
		if err != nil {
			return fmt.Errorf("the patient is deleted, but their lines could not be removed from the REPL history: %w", err)
		}
		scrubbed = n
	}
	// The deletion is committed; only the rewrite is left. It must not be
	// skipped because of a late Ctrl-C.
	if err := st.Compact(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("the patient is deleted, but rewriting the file failed, so their bytes may remain on disk until it is done; run `carebook forget` again for another patient or contact support: %w", err)
	}
	elapsed := time.Since(start)
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, struct {
			store.Forgotten
			HistoryLines int     `json:"history_lines_removed"`
			Compacted    bool    `json:"compacted"`
			Seconds      float64 `json:"seconds"`
		}{gone, scrubbed, true, elapsed.Seconds()})
	}
	fmt.Fprintf(opts.IO.Out, "Forgotten: removed %s, %s and %s; redacted %s and removed %s; the database file was rewritten (%.1fs). The audit log records MRN hash %s.\n",
		cmdutil.Plural(gone.Tags, "tag", "tags"), cmdutil.Plural(gone.Appointments, "appointment", "appointments"),
		cmdutil.Plural(gone.Interactions, "interaction", "interactions"),
		cmdutil.Plural(gone.AuditRows, "earlier audit row", "earlier audit rows"),
		cmdutil.Plural(scrubbed, "history line", "history lines"), elapsed.Seconds(), gone.MRNHash[:16])
	return nil
}
