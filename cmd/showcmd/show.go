// Package showcmd is `carebook show`: one patient's whole record.
package showcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/present"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Options holds the show command's dependencies and flags.
type Options struct {
	IO        *cmdutil.IOStreams
	OpenStore func(context.Context) (*store.Store, error)

	Patient tools.PatientRef
	JSON    bool
}

// NewCmdShow builds `carebook show`.
func NewCmdShow(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:   "show PATIENT",
		Short: "Show one patient with tags, appointments and interactions",
		Long: `Show one patient's record. PATIENT is an MRN, an exact email address or a name.
A name that matches more than one patient lists them; say which with the MRN
or with --born.`,
		Example: `  carebook show P1000
  carebook show "John Smith" --born 1990`,
		Args: cobra.ExactArgs(1),
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

type recordJSON struct {
	tools.PatientJSON
	Appointments []tools.AppointmentJSON `json:"appointments"`
	Interactions []tools.InteractionJSON `json:"interactions"`
}

// Run shows the record. The read is audited before anything is shown.
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
	appts, err := r.FindAppointments(ctx, store.AppointmentQuery{Patients: only}, 0)
	if err != nil {
		return err
	}
	inters, err := r.FindInteractions(ctx, store.InteractionQuery{Patients: only}, 0)
	if err != nil {
		return err
	}
	// The audit row names the patient by MRN, never by what was typed,
	// which may be a name.
	action, _ := json.Marshal(map[string]any{"tool": "show", "args": map[string]any{"patient": map[string]string{"match": p.MRN}}})
	if err := st.LogOutcome(ctx, store.AuditEntry{Channel: cmdutil.ChannelCLI, Action: string(action)},
		[]int64{p.ID}, 1+len(appts)+len(inters), store.OutcomeOK, ""); err != nil {
		return err
	}

	if opts.JSON {
		out := recordJSON{PatientJSON: tools.NewPatientJSON(p), Appointments: []tools.AppointmentJSON{}, Interactions: []tools.InteractionJSON{}}
		for _, a := range appts {
			out.Appointments = append(out.Appointments, tools.NewAppointmentJSON(a))
		}
		for _, i := range inters {
			out.Interactions = append(out.Interactions, tools.NewInteractionJSON(i))
		}
		return cmdutil.WriteJSON(opts.IO.Out, out)
	}
	w := opts.IO.Out
	consent := "no"
	if p.MarketingConsent {
		consent = "yes"
	}
	if !p.ConsentChangedAt.IsZero() {
		consent += " (since " + cmdutil.Date(p.ConsentChangedAt) + ")"
	}
	t := cmdutil.NewTable(w, true)
	for _, kv := range [][2]string{
		{"Name", p.FullName()}, {"MRN", p.MRN}, {"Born", cmdutil.Date(p.DOB)}, {"Sex", p.Sex},
		{"Email", p.Email}, {"Phone", store.FormatPhone(p.Phone)}, {"City", p.City}, {"Language", p.Language},
		{"Marketing", consent}, {"Status", string(p.Status)}, {"Tags", strings.Join(p.Tags, ", ")},
	} {
		if kv[1] != "" {
			t.Row(kv[0]+":", kv[1])
		}
	}
	t.Flush()
	fmt.Fprintln(w)
	if len(appts) == 0 {
		fmt.Fprintln(w, "No appointments.")
	} else {
		present.Appointments(w, true, appts)
	}
	fmt.Fprintln(w)
	if len(inters) == 0 {
		fmt.Fprintln(w, "No interactions.")
	} else {
		present.Interactions(w, true, inters)
	}
	return nil
}
