// Package democmd is `carebook demo`: a synthetic practice for trying
// Carebook and for the benchmarks. Nobody in it is real.
package democmd

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/demo"
	"github.com/carebook/carebook/store"
)

// Options holds the demo command's dependencies and flags.
type Options struct {
	IO        *cmdutil.IOStreams
	OpenStore func(context.Context) (*store.Store, error)
	Clock     func() (func() time.Time, error)
	// Refusal says why demo must not run here (a server owns the
	// practice's database), or nil.
	Refusal func() error

	Patients int
	Seed     uint64
	JSON     bool
}

// NewCmdDemo builds `carebook demo`.
func NewCmdDemo(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, OpenStore: f.CreateStore, Clock: f.Clock,
		Refusal: func() error { return f.FileRefusal("demo") }}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Fill a new database with a synthetic practice",
		Long: `Write a synthetic practice into a new, empty database: patients with believable
names, ages, tags, appointments and interactions (about 3 appointments and 10
interactions per patient). The same seed always gives the same practice.
Nobody in it is real. With a server configured (--server, $CAREBOOK_SERVER,
server in the configuration) it refuses: the practice's database is the
server's.`,
		Example: `  carebook demo --db demo.duckdb
  carebook demo --db big.duckdb --patients 100000 --seed 7`,
		Args: cmdutil.Args(0, 0, ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Patients < 1 {
				return cmdutil.BadFlag("patients", strconv.Itoa(opts.Patients), "a whole number, 1 or more")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Patients, "patients", 1000, "how many patients")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 1, "random seed; the same seed gives the same practice")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the summary as JSON")
	return cmd
}

// Run generates the practice.
func Run(ctx context.Context, opts *Options) error {
	if opts.Refusal != nil {
		if err := opts.Refusal(); err != nil {
			return err
		}
	}
	clock, err := opts.Clock()
	if err != nil {
		return err
	}
	st, err := opts.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	cmdutil.TellOrphans(opts.IO.ErrOut, st.Orphans())
	var progress func(stage string, done, total int)
	if opts.IO.IsStderrTTY() && !opts.JSON {
		bar := cmdutil.NewProgressBar(opts.IO.ErrOut, "demo")
		defer bar.Done()
		progress = func(stage string, done, total int) { bar.Update(int64(done), int64(total)) }
	}
	sum, err := demo.Generate(ctx, st, demo.Options{Patients: opts.Patients, Seed: opts.Seed, Now: clock(), Progress: progress})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, map[string]any{
			"database": st.Path(), "patients": sum.Patients, "appointments": sum.Appointments,
			"interactions": sum.Interactions, "tags": sum.Tags, "seconds": sum.Elapsed.Seconds(),
		})
	}
	fmt.Fprintf(opts.IO.Out, "Wrote a synthetic practice to %s: %d patients, %d appointments, %d interactions, %d tags (%.1fs).\n",
		st.Path(), sum.Patients, sum.Appointments, sum.Interactions, sum.Tags, sum.Elapsed.Seconds())
	return nil
}
