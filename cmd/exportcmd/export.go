// Package exportcmd is `carebook export`: the practice's data as CSV or
// JSON, in the columns `carebook import` reads, so an export re-imports
// without loss.
package exportcmd

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Options holds the export command's dependencies and flags.
type Options struct {
	IO        *cmdutil.IOStreams
	OpenStore func(context.Context) (*store.Store, error)

	Entity string
	Format string
	Output string
}

// NewCmdExport builds `carebook export`.
func NewCmdExport(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:   "export {patients|appointments|interactions}",
		Short: "Export patients, appointments or interactions as CSV or JSON",
		Long: `Export every patient, appointment or interaction. CSV uses the column names
carebook import reads, so the file imports again without loss. An export holds
patient data: it is written readable only by you, and recorded in the audit log
as a disclosure.`,
		Example: `  carebook export patients -o patients.csv
  carebook export interactions --format json > interactions.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Entity = args[0]
			switch opts.Entity {
			case tools.EntityPatients, tools.EntityAppointments, tools.EntityInteractions:
			default:
				return cmdutil.FlagErrorf("export patients, appointments or interactions, not %q", opts.Entity)
			}
			if opts.Format != "csv" && opts.Format != "json" {
				return cmdutil.FlagErrorf("--format must be csv or json, not %q", opts.Format)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "csv", "csv or json")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write to this file (mode 0600) instead of standard output")
	return cmd
}

// Columns of each CSV export: the fixture's headers, which import maps.
var (
	patientColumns     = []string{"Patient ID (MRN)", "First Name", "Last Name", "Date of Birth", "Sex", "Email", "Phone Number", "City", "Preferred Language", "Marketing Opt-In", "Status", "Tags"}
	appointmentColumns = []string{"Appointment ID", "Patient ID (MRN)", "Start", "Type", "Provider", "Status"}
	interactionColumns = []string{"Interaction ID", "Patient ID (MRN)", "When", "Channel", "Direction", "Staff", "Summary"}
)

const csvTime = "2006-01-02 15:04:05"

// Run writes the export. The disclosure is audited before a byte is written.
func Run(ctx context.Context, opts *Options) error {
	st, err := opts.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	r := st.Reader()

	var (
		header []string
		rows   [][]string
		values []any
		ids    []int64
	)
	switch opts.Entity {
	case tools.EntityPatients:
		ps, err := r.FindPatients(ctx, store.PatientFilter{}, 0)
		if err != nil {
			return err
		}
		header = patientColumns
		for _, p := range ps {
			ids = append(ids, p.ID)
			j := tools.NewPatientJSON(p)
			values = append(values, j)
			consent := "No"
			if p.MarketingConsent {
				consent = "Yes"
			}
			rows = append(rows, []string{p.MRN, p.FirstName, p.LastName, j.DOB, p.Sex, p.Email, j.Phone, p.City, p.Language, consent, string(p.Status), strings.Join(p.Tags, ";")})
		}
	case tools.EntityAppointments:
		as, err := r.FindAppointments(ctx, store.AppointmentQuery{}, 0)
		if err != nil {
			return err
		}
		header = appointmentColumns
		for _, a := range as {
			ids = append(ids, a.PatientID)
			values = append(values, tools.NewAppointmentJSON(a))
			rows = append(rows, []string{tools.AppointmentRef(a), a.PatientMRN, a.StartsAt.Format(csvTime), a.Type, a.Provider, string(a.Status)})
		}
	case tools.EntityInteractions:
		is, err := r.FindInteractions(ctx, store.InteractionQuery{}, 0)
		if err != nil {
			return err
		}
		header = interactionColumns
		for _, i := range is {
			ids = append(ids, i.PatientID)
			values = append(values, tools.NewInteractionJSON(i))
			rows = append(rows, []string{tools.InteractionRef(i), i.PatientMRN, i.At.Format(csvTime), string(i.Channel), string(i.Direction), i.Staff, i.Summary})
		}
	}

	action, _ := json.Marshal(map[string]any{"tool": "export", "args": map[string]string{"entity": opts.Entity, "format": opts.Format}})
	if err := st.LogOutcome(ctx, store.AuditEntry{Channel: cmdutil.ChannelExport, Action: string(action)}, ids, len(rows), store.OutcomeOK, "disclosure: export to "+destination(opts.Output)); err != nil {
		return err
	}

	write := func(w io.Writer) error {
		if opts.Format == "json" {
			if values == nil {
				values = []any{}
			}
			return cmdutil.WriteJSON(w, values)
		}
		cw := csv.NewWriter(w)
		cw.Write(header)
		cw.WriteAll(rows) // flushes
		return cw.Error()
	}
	if opts.Output == "" {
		if err := write(opts.IO.Out); err != nil {
			return fmt.Errorf("export %s: %w", opts.Entity, err)
		}
		return nil
	}
	if err := writeFileAtomic(opts.Output, write); err != nil {
		return fmt.Errorf("export %s to %s: %w", opts.Entity, opts.Output, err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "Exported %s to %s.\n", cmdutil.Plural(len(rows), strings.TrimSuffix(opts.Entity, "s"), opts.Entity), opts.Output)
	return nil
}

func destination(path string) string {
	if path == "" {
		return "standard output"
	}
	return filepath.Base(path)
}

// writeFileAtomic writes through a temporary file beside path and renames
// it into place, so that a full disk or Ctrl-C leaves either the old file or
// the whole new one, never half an export.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
