// Package consentcmd is `carebook consent`: record a patient's marketing
// consent decision.
package consentcmd

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/complete"
	"github.com/carebook/carebook/cmd/session"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Options holds the consent command's dependencies and flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)

	Patient   tools.PatientRef
	Marketing bool
	Source    string
	At        string
	cmdutil.WriteFlags
}

// NewCmdConsent builds `carebook consent`.
func NewCmdConsent(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Backend: f.ExistingBackend}
	sources := make([]string, len(store.StaffSources))
	for i, s := range store.StaffSources {
		sources[i] = string(s)
	}
	cmd := &cobra.Command{
		Use:   "consent PATIENT marketing on|off --source " + strings.Join(sources, "|"),
		Short: "Record a patient's marketing consent",
		Long: `Record that a patient opted in to marketing (on) or out of it (off), how the
decision reached the practice (--source), when (--at, default now), and who
recorded it. The marketing export honours it at once; carebook show prints the
history of the patient's decisions.`,
		Example: `  carebook consent P1000 marketing off --source phone
  carebook consent "Ann Lee" marketing on --source form --at 2026-06-12 --yes`,
		Args: cmdutil.Args(3, 3, "a PATIENT (an MRN, email or name), then marketing on or off"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Patient.Match = args[0]
			if strings.ToLower(args[1]) != "marketing" {
				return cmdutil.FlagErrorf("consent records marketing consent: carebook consent PATIENT marketing on|off --source SOURCE")
			}
			switch strings.ToLower(args[2]) {
			case "on", "yes", "in":
				opts.Marketing = true
			case "off", "no", "out":
				opts.Marketing = false
			default:
				return cmdutil.FlagErrorf("say on (opted in) or off (opted out), not %q", args[2])
			}
			if opts.Source == "" {
				return cmdutil.FlagErrorf("consent needs --source: %s, how the decision reached the practice", strings.Join(sources, ", "))
			}
			if err := cmdutil.OneOf("source", opts.Source, sources); err != nil {
				return err
			}
			if err := cmdutil.CheckDay("at", opts.At); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Source, "source", "", strings.Join(sources, ", ")+" (required)")
	cmd.Flags().StringVar(&opts.At, "at", "", `when the patient decided, if not now ("2026-06-14", "yesterday")`)
	complete.Flag(cmd, "source", complete.Values(sources...))
	cmd.Flags().StringVar(&opts.Patient.Born, "born", "", "year or date of birth, to tell namesakes apart")
	opts.WriteFlags.Bind(cmd)
	cmd.ValidArgsFunction = complete.Each(complete.MRNs(f.ExistingBackend), complete.Values("marketing"), complete.Values("on", "off"))
	return cmd
}

// Run records the decision after a preview and a confirmation.
func Run(ctx context.Context, opts *Options) error {
	marketing := opts.Marketing
	action, err := tools.NewAction(tools.ToolSetConsent, tools.ConsentArgs{Patient: &opts.Patient, Marketing: &marketing,
		Source: strings.ToLower(opts.Source), At: opts.At})
	if err != nil {
		return err
	}
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	_, err = session.RunAction(ctx, opts.IO, b, action, opts.WriteFlags)
	return err
}
