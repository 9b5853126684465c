// Package logcmd is `carebook log`: record a call, text, email, letter,
// visit or note with one patient.
package logcmd

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/complete"
	"github.com/carebook/carebook/cmd/present"
	"github.com/carebook/carebook/cmd/session"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Options holds the log command's dependencies and flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)

	Patient   tools.PatientRef
	Channel   string
	Direction string
	Summary   string
	At        string
	Staff     string
	Yes       bool
	DryRun    bool
	JSON      bool
}

// NewCmdLog builds `carebook log`.
func NewCmdLog(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Backend: f.ExistingBackend}
	cmd := &cobra.Command{
		Use:   "log PATIENT --channel CHANNEL --summary TEXT",
		Short: "Log a call, text, email, letter, visit or note with a patient",
		Long: `Log one interaction with a patient. PATIENT is an MRN, an exact email address
or a name. CHANNEL is one of ` + strings.Join(stringsOf(store.Channels), ", ") + `. The direction
defaults to outbound, the time to now, and the staff member to you. A time still
to come (--at tomorrow) is asked about on a terminal ("That is in the future
…. Log it anyway?"); with --yes a script means it. --dry-run shows what would
be logged, and logs nothing.`,
		Example: `  carebook log P1000 --channel call --summary "Left a voicemail about the refill"
  carebook log "Ann Lee" --channel sms --direction inbound --summary "Asked to reschedule" --at "2026-06-14"`,
		Args: cmdutil.Args(1, 1, "a PATIENT: an MRN, email or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Patient.Match = args[0]
			if strings.TrimSpace(opts.Summary) == "" {
				return cmdutil.FlagErrorf("--summary is required: say what happened")
			}
			if !store.Channel(strings.ToLower(opts.Channel)).Valid() {
				return cmdutil.BadFlag("channel", opts.Channel, "one of "+strings.Join(stringsOf(store.Channels), ", "))
			}
			if !store.Direction(strings.ToLower(opts.Direction)).Valid() {
				return cmdutil.BadFlag("direction", opts.Direction, "inbound or outbound")
			}
			if opts.At != "" {
				// Whether --at reads as a time does not depend on today;
				// the backend resolves it against its own clock.
				if _, err := tools.ParsePoint(opts.At, time.Now()); err != nil {
					return cmdutil.BadFlag("at", opts.At, `a date or a time from 1900 to 2100, like 2026-06-14, "yesterday" or 2026-06-14T09:30:00-05:00`)
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Channel, "channel", "", "call, sms, email, in-person, portal, letter or note (required)")
	cmd.Flags().StringVar(&opts.Summary, "summary", "", "what happened (required)")
	cmd.Flags().StringVar(&opts.Direction, "direction", "outbound", "inbound or outbound")
	cmd.Flags().StringVar(&opts.At, "at", "", `when, if not now ("2026-06-14", "yesterday", an RFC 3339 time)`)
	cmd.Flags().StringVar(&opts.Staff, "staff", "", "who handled it (default: you)")
	cmd.Flags().StringVar(&opts.Patient.Born, "born", "", "year or date of birth, to tell namesakes apart")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show what would be logged, and log nothing")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	cmd.ValidArgsFunction = complete.Only(1, complete.MRNs(f.ExistingBackend))
	complete.Flag(cmd, "channel", complete.Values(store.Channels...))
	complete.Flag(cmd, "direction", complete.Values(store.Directions...))
	complete.Flag(cmd, "staff", complete.Staff(f.ExistingBackend))
	return cmd
}

func stringsOf[T ~string](vals []T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

// Run logs the interaction after a preview and a confirmation. The
// backend names the patient by MRN in the action it records, whatever was
// typed.
func Run(ctx context.Context, opts *Options) error {
	action, err := tools.NewAction(tools.ToolLogInteraction, tools.LogArgs{
		Patient: &opts.Patient, Channel: opts.Channel, Direction: opts.Direction,
		Summary: opts.Summary, At: opts.At, Staff: opts.Staff,
	})
	if err != nil {
		return err
	}
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	s := &session.Session{IO: opts.IO, Backend: b, Channel: cmdutil.ChannelCLI}
	_, err = s.Prepare(ctx, action, session.Options{Options: present.Options{Yes: opts.Yes, DryRun: opts.DryRun, JSON: opts.JSON}})
	return err
}
