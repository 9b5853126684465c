// Package patientscmd is `carebook patients`: list and search patients.
package patientscmd

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

// Options holds the patients command's dependencies and flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)

	Name   string
	Tags   []string
	Status string
	MRNs   []string
	City   string
	Limit  int
	JSON   bool
}

// NewCmdPatients builds `carebook patients`.
func NewCmdPatients(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Backend: f.ExistingBackend}
	cmd := &cobra.Command{
		Use:   "patients [NAME]",
		Short: "List and search patients",
		Long: `List patients, optionally only those matching a name (any part of it, ignoring
case and accents), tags, a status, MRNs or a city. Every filter given must hold.`,
		Example: `  carebook patients smith
  carebook patients --tag diabetes --tag refill-overdue --status active
  carebook patients --tag vip --json | jq -r '.[].mrn'`,
		Args: cmdutil.Args(0, 1, "a NAME (any part of it)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if opts.Name != "" {
					return cmdutil.FlagErrorf("give the name as an argument or with --name, not both")
				}
				opts.Name = args[0]
			}
			if opts.Limit < 0 {
				return cmdutil.BadFlag("limit", strconv.Itoa(opts.Limit), "a whole number, 0 or more (0: all)")
			}
			if opts.Status != "" && !store.Status(strings.ToLower(opts.Status)).Valid() {
				return cmdutil.BadFlag("status", opts.Status, "active, inactive or deceased")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "part of the name")
	cmd.Flags().StringArrayVar(&opts.Tags, "tag", nil, "has this tag (repeat for several: all must hold)")
	cmd.Flags().StringVar(&opts.Status, "status", "", "active, inactive or deceased")
	cmd.Flags().StringArrayVar(&opts.MRNs, "mrn", nil, "this MRN (repeat for several)")
	cmd.Flags().StringVar(&opts.City, "city", "", "lives in this city")
	cmd.Flags().IntVar(&opts.Limit, "limit", 0, "show at most this many (0: all)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON array of patients")
	complete.Flag(cmd, "tag", complete.Tags(f.ExistingBackend))
	complete.Flag(cmd, "status", complete.Values(store.Statuses...))
	complete.Flag(cmd, "mrn", complete.MRNs(f.ExistingBackend))
	return cmd
}

// Run lists the patients. It goes through the query tool, like a request
// to the agent would, so validation and the audit row are the same.
func Run(ctx context.Context, opts *Options) error {
	where := &tools.PatientWhere{
		Name: strings.TrimSpace(opts.Name), Tags: opts.Tags, Status: opts.Status,
		MRNs: opts.MRNs, City: opts.City,
	}
	res, err := cmdutil.Query(ctx, opts.Backend, tools.QueryArgs{Entity: tools.EntityPatients, Where: where, Limit: opts.Limit})
	if err != nil {
		return err
	}
	if opts.JSON {
		return cmdutil.WriteJSONList(opts.IO.Out, res.Patients)
	}
	present.Patients(opts.IO, res.Patients, res.Total)
	return nil
}
