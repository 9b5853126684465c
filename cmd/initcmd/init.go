// Package initcmd is `carebook init`: a new, empty practice database.
package initcmd

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/store"
)

// Options holds the init command's dependencies.
type Options struct {
	IO        *cmdutil.IOStreams
	Path      func() string
	OpenStore func(context.Context) (*store.Store, error)
	// Refusal says why init must not run here (a server owns the
	// practice's database), or nil.
	Refusal func() error
	JSON    bool
}

// NewCmdInit builds `carebook init`.
func NewCmdInit(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Path: f.DatabasePath, OpenStore: f.CreateStore,
		Refusal: func() error { return f.FileRefusal("init") }}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a new, empty practice database",
		Long: `Create the practice database (--db, else $CAREBOOK_DB, else ./carebook.duckdb),
readable only by you (mode 0600). Running it on an existing database changes
nothing but upgrading its schema if this version of Carebook is newer. With a
server configured (--server, $CAREBOOK_SERVER, server in the configuration) it
refuses: the practice's database is the server's.`,
		Example: `  carebook init
  carebook init --db /srv/practice/carebook.duckdb`,
		Args: cmdutil.Args(0, 0, ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	return cmd
}

// Run creates the database, or opens (and so upgrades) an existing one.
func Run(ctx context.Context, opts *Options) error {
	if opts.Refusal != nil {
		if err := opts.Refusal(); err != nil {
			return err
		}
	}
	path := opts.Path()
	_, statErr := os.Stat(path)
	existed := statErr == nil
	if statErr != nil && !errors.Is(statErr, os.ErrNotExist) {
		return fmt.Errorf("init %s: %w", path, statErr)
	}
	st, err := opts.OpenStore(ctx)
	if err != nil {
		return err
	}
	cmdutil.TellOrphans(opts.IO.ErrOut, st.Orphans())
	counts, err := st.Reader().Counts(ctx)
	st.Close()
	if err != nil {
		return fmt.Errorf("init %s: %w", path, err)
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, map[string]any{
			"database": path, "created": !existed, "schema_version": store.SchemaVersion(),
			"patients": counts.Patients, "appointments": counts.Appointments, "interactions": counts.Interactions,
		})
	}
	if existed {
		fmt.Fprintf(opts.IO.Out, "%s already exists (%s); nothing to do.\n", path, cmdutil.Plural(counts.Patients, "patient", "patients"))
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "Created %s, readable only by you.\n", path)
	fmt.Fprintln(opts.IO.Out, "Next: carebook import patients FILE.csv (then appointments and interactions), or carebook demo --db demo.duckdb to try things out.")
	return nil
}
