// Package appointmentscmd is `carebook appointments`: the schedule for
// today or a range, without a model.
package appointmentscmd

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/complete"
	"github.com/carebook/carebook/cmd/present"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Options holds the appointments command's dependencies and flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)

	Today    bool
	From     string
	To       string
	When     string
	Provider string
	Type     string
	Status   string
	Patient  tools.PatientRef
	Limit    int
	JSON     bool
}

// NewCmdAppointments builds `carebook appointments`.
func NewCmdAppointments(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Backend: f.ExistingBackend}
	cmd := &cobra.Command{
		Use:   "appointments",
		Short: "Show the schedule: today's appointments, or a range's",
		Long: `Show appointments in time order: today's by default, or those of a range
(--from and --to, or --when in words), by provider, type and status. It needs
no model, so the front desk sees who is coming even when Ollama is down.

Days are absolute (2026-06-20, 06/20/2026) or relative (today, tomorrow,
"3 days ago"). --from alone runs from that day on; --to alone from today to
that day, inclusive. --when takes any range the action format reads: "next
week", "this month", "June 2026", "upcoming".`,
		Example: `  carebook appointments
  carebook appointments --when "next week" --provider "Dr. Patel"
  carebook appointments --from 2026-06-15 --to 2026-06-19 --status scheduled --json`,
		Args: cmdutil.Args(0, 0, ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			ranged := opts.From != "" || opts.To != ""
			switch {
			case opts.When != "" && (ranged || opts.Today):
				return cmdutil.FlagErrorf("give --when, or --from and --to, or --today: one of them")
			case opts.Today && ranged:
				return cmdutil.FlagErrorf("--today and --from/--to each give the range: use one")
			}
			if err := opts.checkValues(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Today, "today", false, "today's appointments (the default)")
	cmd.Flags().StringVar(&opts.From, "from", "", "from this day on (2026-06-15, today, tomorrow)")
	cmd.Flags().StringVar(&opts.To, "to", "", "up to and including this day")
	cmd.Flags().StringVar(&opts.When, "when", "", `a range in words ("next week", "this month", "June 2026")`)
	cmd.Flags().StringVar(&opts.Provider, "provider", "", "with this provider")
	cmd.Flags().StringVar(&opts.Type, "type", "", "of this appointment type")
	cmd.Flags().StringVar(&opts.Status, "status", "", cmdutil.Values(store.AppointmentStatuses))
	cmd.Flags().StringVar(&opts.Patient.Match, "patient", "", "one patient's (an MRN, an exact email or a name)")
	cmd.Flags().StringVar(&opts.Patient.Born, "born", "", "year or date of birth, to tell namesakes apart")
	cmd.Flags().IntVar(&opts.Limit, "limit", 0, "show at most this many (0: all)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON array of appointments")
	complete.Flag(cmd, "status", complete.Values(store.AppointmentStatuses...))
	complete.Flag(cmd, "patient", complete.MRNs(f.ExistingBackend))
	complete.Flag(cmd, "provider", complete.Providers(f.ExistingBackend))
	complete.Flag(cmd, "type", complete.AppointmentTypes(f.ExistingBackend))
	return cmd
}

// checkValues refuses a flag value of the wrong form as a usage error,
// before the query tool would (in the model's words and with exit 1). A
// provider or type nobody has is left to the tool: that is not the
// flag's form but the practice's data, as with a tag nobody carries.
func (o *Options) checkValues() error {
	if err := cmdutil.OneOf("status", o.Status, store.AppointmentStatuses); err != nil {
		return err
	}
	if o.Limit < 0 {
		return cmdutil.BadFlag("limit", strconv.Itoa(o.Limit), "a whole number, 0 or more (0: all)")
	}
	if err := cmdutil.CheckRange("when", o.When); err != nil {
		return err
	}
	for _, f := range []struct{ name, value string }{{"from", o.From}, {"to", o.To}} {
		if err := cmdutil.CheckDay(f.name, f.value); err != nil {
			return err
		}
	}
	if o.From != "" || o.To != "" {
		if _, err := tools.ParseRange(o.when(), time.Now()); err != nil {
			return cmdutil.FlagErrorf("--from %s and --to %s do not make a range: the end is before the start", cmdutil.Clip(o.From, 30), cmdutil.Clip(o.To, 30))
		}
	}
	return nil
}

// When is the range the flags give, as the query tool reads it.
func (o *Options) when() string {
	switch {
	case o.When != "":
		return o.When
	case o.From != "" && o.To != "":
		return o.From + " to " + o.To
	case o.From != "":
		return o.From + " onwards"
	case o.To != "":
		return "today to " + o.To
	}
	return "today"
}

// Run lists the appointments. It goes through the query tool, as a
// request to the model would, so the validation (a provider nobody has is
// an error naming those there are) and the audit row are the same.
func Run(ctx context.Context, opts *Options) error {
	args := tools.QueryArgs{Entity: tools.EntityAppointments, Limit: opts.Limit,
		Appointments: &tools.AppointmentWhere{When: opts.when(), Provider: opts.Provider, Type: opts.Type, Status: strings.ToLower(opts.Status)}}
	if opts.Patient.Match != "" {
		args.Patient = &opts.Patient
	}
	res, err := cmdutil.Query(ctx, opts.Backend, args)
	if err != nil {
		return err
	}
	if opts.JSON {
		return cmdutil.WriteJSONList(opts.IO.Out, res.Appointments)
	}
	present.Appointments(opts.IO, opts.IO.IsStdoutTTY(), res.Appointments, res.Total)
	return nil
}
