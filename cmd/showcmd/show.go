// Package showcmd is `carebook show`: one patient's whole record.
package showcmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/present"
	"github.com/carebook/carebook/tools"
)

// Options holds the show command's dependencies and flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)

	Patient tools.PatientRef
	JSON    bool
}

// NewCmdShow builds `carebook show`.
func NewCmdShow(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Backend: f.ExistingBackend}
	cmd := &cobra.Command{
		Use:   "show PATIENT",
		Short: "Show one patient with tags, appointments and interactions",
		Long: `Show one patient's record. PATIENT is an MRN, an exact email address or a name.
A name that matches more than one patient lists them; say which with the MRN
or with --born.`,
		Example: `  carebook show P1000
  carebook show "John Smith" --born 1990`,
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
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the record as JSON")
	return cmd
}

// Run shows the record. The read is audited before anything is shown.
func Run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	rec, err := b.Record(ctx, backend.RecordRequest{Channel: cmdutil.ChannelCLI, Patient: opts.Patient})
	if err != nil {
		return err
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, rec)
	}
	w := opts.IO.Out
	consent := "no"
	if rec.MarketingConsent {
		consent = "yes"
	}
	if len(rec.ConsentChangedAt) >= 10 {
		consent += " (since " + rec.ConsentChangedAt[:10] + ")"
	}
	t := cmdutil.NewTable(w, true)
	for _, kv := range [][2]string{
		{"Name", strings.TrimSpace(rec.FirstName + " " + rec.LastName)}, {"MRN", rec.MRN}, {"Born", rec.DOB}, {"Sex", rec.Sex},
		{"Email", rec.Email}, {"Phone", rec.Phone}, {"City", rec.City}, {"Language", rec.Language},
		{"Marketing", consent}, {"Status", rec.Status}, {"Tags", strings.Join(rec.Tags, ", ")},
	} {
		if kv[1] != "" {
			t.Row(kv[0]+":", kv[1])
		}
	}
	t.Flush()
	fmt.Fprintln(w)
	if len(rec.Appointments) == 0 {
		fmt.Fprintln(w, "No appointments.")
	} else {
		present.Appointments(w, true, rec.Appointments)
	}
	fmt.Fprintln(w)
	if len(rec.Interactions) == 0 {
		fmt.Fprintln(w, "No interactions.")
	} else {
		present.Interactions(w, true, rec.Interactions)
	}
	return nil
}
