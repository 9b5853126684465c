// Package exportcmd is `carebook export`: the practice's data as CSV or
// JSON, in the columns `carebook import` reads, so an export re-imports
// without loss.
package exportcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/internal/atomicfile"
	"github.com/carebook/carebook/internal/csvsafe"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Options holds the export command's dependencies and flags.
type Options struct {
	IO        *cmdutil.IOStreams
	OpenStore func(context.Context) (*store.Store, error)

	Entity  string
	Patient tools.PatientRef // for "export patient P"
	Format  string
	Output  string
	Profile string // "" or "marketing"
	To      string // the recipient, for the disclosure record
	Purpose string
}

// NewCmdExport builds `carebook export`.
func NewCmdExport(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:   "export {patients|appointments|interactions|patient PATIENT}",
		Short: "Export patients, appointments or interactions as CSV or JSON",
		Long: `Export every patient, appointment or interaction. CSV uses the column names
carebook import reads, so the file imports again without loss. An export holds
patient data: it is written readable only by you, and recorded in the audit log
as a disclosure, with --to (who receives it) and --purpose.

A CSV cell that begins with =, +, -, @, a tab or a carriage return would run
as a formula when a spreadsheet opens the file, so it is written with a single
quote in front ('=…), which spreadsheets show as text (OWASP's advice on CSV
injection). carebook import removes that quote again.

"export patient PATIENT --format json" is one patient's full record (demographics,
tags, appointments, interactions): the copy a patient may ask for (HIPAA right of
access, 45 CFR 164.524).

"export patients --profile marketing" is the minimum-necessary list for a
marketing tool: first name, last name and email of active patients who opted in
to marketing and are not deceased. Nothing clinical: no tags, no appointments,
no notes.`,
		Example: `  carebook export patients -o patients.csv
  carebook export interactions --format json > interactions.json
  carebook export patient P1002 --format json --to "the patient" -o p1002.json
  carebook export patients --profile marketing --to Mailchimp -o newsletter.csv`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Entity = args[0]
			switch {
			case opts.Entity == "patient" && len(args) == 2:
				opts.Patient.Match = args[1]
			case opts.Entity == "patient":
				return cmdutil.FlagErrorf("export patient needs the patient: an MRN, an email or a name")
			case len(args) == 2:
				return cmdutil.FlagErrorf("only export patient takes a second argument")
			case opts.Entity == tools.EntityPatients, opts.Entity == tools.EntityAppointments, opts.Entity == tools.EntityInteractions:
			default:
				return cmdutil.FlagErrorf("export patients, appointments, interactions or patient PATIENT, not %q", opts.Entity)
			}
			if opts.Profile != "" && (opts.Profile != "marketing" || opts.Entity != tools.EntityPatients) {
				return cmdutil.FlagErrorf(`--profile takes "marketing", with export patients`)
			}
			if opts.Profile == "marketing" && opts.To == "" {
				return cmdutil.FlagErrorf("a marketing list is a disclosure: say who receives it with --to")
			}
			if opts.Entity == "patient" && !cmd.Flags().Changed("format") {
				opts.Format = "json"
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
	cmd.Flags().StringVar(&opts.Profile, "profile", "", `"marketing": name and email of opted-in, active patients only`)
	cmd.Flags().StringVar(&opts.To, "to", "", "who receives the export, for the disclosure record")
	cmd.Flags().StringVar(&opts.Purpose, "purpose", "", "why it is disclosed, for the disclosure record")
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
	purpose := opts.Purpose
	switch {
	case opts.Entity == "patient":
		p, err := tools.ResolvePatient(ctx, r, opts.Patient)
		if err != nil {
			return err
		}
		rec, err := patientRecord(ctx, r, p)
		if err != nil {
			return err
		}
		ids = []int64{p.ID}
		values = []any{rec}
		header = nil
		rows = [][]string{{p.MRN}}
		if purpose == "" {
			purpose = "right of access (164.524)"
		}
	case opts.Profile == "marketing":
		yes := true
		ps, err := r.FindPatients(ctx, store.PatientFilter{Statuses: []store.Status{store.StatusActive}, MarketingConsent: &yes, HasEmail: &yes}, 0)
		if err != nil {
			return err
		}
		header = marketingColumns
		for _, p := range ps {
			ids = append(ids, p.ID)
			values = append(values, marketingJSON{p.FirstName, p.LastName, p.Email})
			rows = append(rows, []string{p.FirstName, p.LastName, p.Email})
		}
		if purpose == "" {
			purpose = "marketing"
		}
	case opts.Entity == tools.EntityPatients:
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
	case opts.Entity == tools.EntityAppointments:
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
	case opts.Entity == tools.EntityInteractions:
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

	args := map[string]string{"entity": opts.Entity, "format": opts.Format}
	if opts.Entity == "patient" && len(ids) == 1 {
		args["mrn"] = rows[0][0]
	}
	if opts.Profile != "" {
		args["profile"] = opts.Profile
	}
	action, _ := json.Marshal(map[string]any{"tool": "export", "args": args})
	msg := Disclosure{To: opts.To, Purpose: purpose, File: destination(opts.Output)}.String()
	if err := st.LogOutcome(ctx, store.AuditEntry{Channel: cmdutil.ChannelExport, Action: string(action)}, ids, len(rows), store.OutcomeOK, msg); err != nil {
		return err
	}
	if opts.Entity == "patient" && opts.Format == "json" {
		values = values[0:1]
	}

	write := func(w io.Writer) error {
		if opts.Format == "json" {
			if values == nil {
				values = []any{}
			}
			if opts.Entity == "patient" {
				return cmdutil.WriteJSON(w, values[0])
			}
			return cmdutil.WriteJSON(w, values)
		}
		if header == nil {
			return fmt.Errorf("a patient's record is exported as JSON (--format json)")
		}
		// Escaped against formula injection; import undoes it.
		cw := csvsafe.NewWriter(w)
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
	if err := atomicfile.Write(opts.Output, atomicfile.Options{}, write); err != nil {
		return fmt.Errorf("export %s to %s: %w", opts.Entity, opts.Output, err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "Exported %s to %s.\n", cmdutil.Plural(len(rows), strings.TrimSuffix(opts.Entity, "s"), strings.TrimSuffix(opts.Entity, "s")+"s"), opts.Output)
	return nil
}

func destination(path string) string {
	if path == "" {
		return "standard output"
	}
	return filepath.Base(path)
}

var marketingColumns = []string{"First Name", "Last Name", "Email"}

type marketingJSON struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
}

// Disclosure is what the audit log's message says about an export, so that
// `carebook audit disclosures` can list them (164.528).
type Disclosure struct {
	To, Purpose, File string
}

func (d Disclosure) String() string {
	to := d.To
	if to == "" {
		to = "unspecified"
	}
	purpose := d.Purpose
	if purpose == "" {
		purpose = "unspecified"
	}
	return fmt.Sprintf("disclosure: to %s; purpose %s; file %s", to, purpose, d.File)
}

// RecordJSON is one patient's full record: the right-of-access copy.
type RecordJSON struct {
	tools.PatientJSON
	Appointments []tools.AppointmentJSON `json:"appointments"`
	Interactions []tools.InteractionJSON `json:"interactions"`
}

func patientRecord(ctx context.Context, r store.Reader, p store.Patient) (RecordJSON, error) {
	only := store.PatientFilter{IDs: []int64{p.ID}}
	appts, err := r.FindAppointments(ctx, store.AppointmentQuery{Patients: only}, 0)
	if err != nil {
		return RecordJSON{}, err
	}
	inters, err := r.FindInteractions(ctx, store.InteractionQuery{Patients: only}, 0)
	if err != nil {
		return RecordJSON{}, err
	}
	rec := RecordJSON{PatientJSON: tools.NewPatientJSON(p), Appointments: []tools.AppointmentJSON{}, Interactions: []tools.InteractionJSON{}}
	for _, a := range appts {
		rec.Appointments = append(rec.Appointments, tools.NewAppointmentJSON(a))
	}
	for _, i := range inters {
		rec.Interactions = append(rec.Interactions, tools.NewInteractionJSON(i))
	}
	return rec, nil
}
