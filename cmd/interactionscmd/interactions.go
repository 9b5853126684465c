// Package interactionscmd is `carebook interactions`: the contact log
// (calls, texts, emails, letters, visits, notes), without a model.
package interactionscmd

import (
	"context"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/complete"
	"github.com/carebook/carebook/cmd/present"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Options holds the interactions command's dependencies and flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)

	Patient   tools.PatientRef
	Channel   string
	Direction string
	Staff     string
	Since     string
	When      string
	Limit     int
	JSON      bool
}

// NewCmdInteractions builds `carebook interactions`.
func NewCmdInteractions(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Backend: f.ExistingBackend}
	cmd := &cobra.Command{
		Use:   "interactions",
		Short: "Show the contact log: calls, texts, emails, letters, visits, notes",
		Long: `Show logged interactions, newest first: every one, or a patient's, by channel,
direction and staff member, since a date (--since) or in a range (--when). It
needs no model.`,
		Example: `  carebook interactions --patient P1002
  carebook interactions --channel call --since yesterday
  carebook interactions --staff alice --when "last week" --json`,
		Args: cmdutil.Args(0, 0, ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Since != "" && opts.When != "" {
				return cmdutil.FlagErrorf("give --since or --when, not both")
			}
			// The form of each value is checked here, so that a mistake
			// names the flag and exits 2, not the query tool's field.
			for _, err := range []error{
				cmdutil.OneOf("channel", opts.Channel, store.Channels),
				cmdutil.OneOf("direction", opts.Direction, store.Directions),
				cmdutil.CheckDay("since", opts.Since),
				cmdutil.CheckRange("when", opts.When),
			} {
				if err != nil {
					return err
				}
			}
			if opts.Limit < 0 {
				return cmdutil.BadFlag("limit", strconv.Itoa(opts.Limit), "a whole number, 0 or more (0: all)")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Patient.Match, "patient", "", "one patient's (an MRN, an exact email or a name)")
	cmd.Flags().StringVar(&opts.Patient.Born, "born", "", "year or date of birth, to tell namesakes apart")
	cmd.Flags().StringVar(&opts.Channel, "channel", "", cmdutil.Values(store.Channels))
	cmd.Flags().StringVar(&opts.Direction, "direction", "", "inbound or outbound")
	cmd.Flags().StringVar(&opts.Staff, "staff", "", "handled by this staff member")
	cmd.Flags().StringVar(&opts.Since, "since", "", `since this day ("2026-06-01", "yesterday", "30 days ago")`)
	cmd.Flags().StringVar(&opts.When, "when", "", `a range in words ("last week", "May 2026")`)
	cmd.Flags().IntVar(&opts.Limit, "limit", 0, "show at most this many (0: all)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON array of interactions")
	complete.Flag(cmd, "channel", complete.Values(store.Channels...))
	complete.Flag(cmd, "direction", complete.Values(store.Directions...))
	complete.Flag(cmd, "patient", complete.MRNs(f.ExistingBackend))
	complete.Flag(cmd, "staff", complete.Staff(f.ExistingBackend))
	return cmd
}

// Run lists the interactions through the query tool, as a request to the
// model would: the same validation and the same audit row.
func Run(ctx context.Context, opts *Options) error {
	when := opts.When
	if opts.Since != "" {
		when = "since " + opts.Since
	}
	args := tools.QueryArgs{Entity: tools.EntityInteractions, Limit: opts.Limit,
		Interactions: &tools.InteractionWhere{Channel: strings.ToLower(opts.Channel), Direction: strings.ToLower(opts.Direction),
			Staff: opts.Staff, When: when}}
	if opts.Patient.Match != "" {
		args.Patient = &opts.Patient
	}
	res, err := cmdutil.Query(ctx, opts.Backend, args)
	if err != nil {
		return err
	}
	if opts.JSON {
		return cmdutil.WriteJSONList(opts.IO.Out, res.Interactions)
	}
	present.Interactions(opts.IO, opts.IO.IsStdoutTTY(), res.Interactions, res.Total)
	return nil
}
