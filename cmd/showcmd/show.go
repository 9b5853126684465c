// Package showcmd is `carebook show`: one patient's whole record.
package showcmd

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/complete"
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
	cmd.ValidArgsFunction = complete.Only(1, complete.MRNs(f.ExistingBackend))
	return cmd
}

// Run shows the record. The read is audited before anything is shown.
func Run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	req := backend.RecordRequest{Channel: cmdutil.ChannelCLI, Patient: opts.Patient}
	rec, err := b.Record(ctx, req)
	if err != nil {
		// In the REPL a name that matches several patients is a numbered
		// choice, and the one chosen is asked for by MRN.
		if req.Patient.Match, err = present.Choose(ctx, opts.IO, err); err != nil {
			return err
		}
		req.Patient.Born = ""
		if rec, err = b.Record(ctx, req); err != nil {
			return err
		}
	}
	newestFirst(rec)
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
	t := cmdutil.NewTableFor(opts.IO)
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
		present.PatientAppointments(opts.IO, rec.Appointments)
	}
	fmt.Fprintln(w)
	if len(rec.Interactions) == 0 {
		fmt.Fprintln(w, "No interactions.")
	} else {
		present.PatientInteractions(opts.IO, rec.Interactions)
	}
	fmt.Fprintln(w)
	if len(rec.Tasks) == 0 {
		fmt.Fprintln(w, "No open tasks.")
	} else {
		present.Tasks(w, opts.IO.IsStdoutTTY(), rec.Tasks)
	}
	if len(rec.Consent) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Marketing consent:")
		t := cmdutil.NewTableFor(opts.IO, "DECIDED", "MARKETING", "SOURCE", "RECORDED BY", "RECORDED")
		for _, c := range rec.Consent {
			t.Row(localDay(c.At, "unknown"), map[bool]string{true: "opted in", false: "opted out"}[c.Marketing], c.Source, c.Staff, localDay(c.RecordedAt, ""))
		}
		t.Flush()
	}
	return nil
}

// localDay shows an RFC 3339 instant as the practice's calendar day.
func localDay(s, none string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return none
	}
	return t.In(time.Local).Format(time.DateOnly)
}

// newestFirst puts appointments and interactions in one order, the newest
// first: a record is read for what happened last and what comes next, so
// the next appointment and the latest call are at the top, not after years
// of history. Times are wall-clock text (2006-01-02T15:04:05), which sorts
// as time does.
func newestFirst(rec *backend.RecordView) {
	slices.SortStableFunc(rec.Appointments, func(a, b tools.AppointmentJSON) int {
		return cmp.Or(strings.Compare(b.Start, a.Start), strings.Compare(b.ID, a.ID))
	})
	slices.SortStableFunc(rec.Interactions, func(a, b tools.InteractionJSON) int {
		return cmp.Or(strings.Compare(b.At, a.At), strings.Compare(b.ID, a.ID))
	})
}
