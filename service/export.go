package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/internal/csvsafe"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Columns of each CSV export: the fixture's headers, which import maps.
var (
	patientColumns     = []string{"Patient ID (MRN)", "First Name", "Last Name", "Date of Birth", "Sex", "Email", "Phone Number", "City", "Preferred Language", "Marketing Opt-In", "Status", "Tags"}
	appointmentColumns = []string{"Appointment ID", "Patient ID (MRN)", "Start", "Type", "Provider", "Status"}
	interactionColumns = []string{"Interaction ID", "Patient ID (MRN)", "When", "Channel", "Direction", "Staff", "Summary"}
	marketingColumns   = []string{"First Name", "Last Name", "Email"}
)

const csvTime = "2006-01-02 15:04:05"

type marketingJSON struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
}

// Disclosure is what the audit log's message says about an export, so that
// `carebook audit disclosures` can list them (164.528). store.FindAudit
// selects disclosures by this message's prefix.
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

// Export builds the export, audits it (as a disclosure, unless internal)
// before a byte is written, and writes it to w.
func (v *view) Export(ctx context.Context, req backend.ExportRequest, w io.Writer) (*backend.ExportView, error) {
	if err := v.allow(ctx, "export", backend.ChannelExport); err != nil {
		return nil, err
	}
	var (
		header []string
		rows   [][]string
		values []any
	)
	err := v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
		r := st.Reader()
		var ids []int64
		purpose := req.Purpose
		entry := v.entry(backend.ChannelExport)
		switch {
		case req.Entity == "patient":
			entry.Action = `{"tool":"export","args":{"entity":"patient"}}`
			p, err := tools.ResolvePatient(ctx, r, req.Patient)
			if err != nil {
				return v.failed(ctx, st, entry, err, nil)
			}
			rec, _, err := record(ctx, r, p)
			if err != nil {
				return err
			}
			ids = []int64{p.ID}
			values = []any{rec}
			rows = [][]string{{p.MRN}}
			if purpose == "" {
				purpose = "right of access (164.524)"
			}
		case req.Profile == "marketing":
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
		case req.Entity == tools.EntityPatients:
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
		case req.Entity == tools.EntityAppointments:
			as, err := r.FindAppointments(ctx, store.AppointmentQuery{}, 0)
			if err != nil {
				return err
			}
			header = appointmentColumns
			for _, a := range as {
				ids = append(ids, a.PatientID)
				j := tools.NewAppointmentJSON(a)
				// The JSON export has the CSV's columns, no more.
				j.Patient = ""
				values = append(values, j)
				rows = append(rows, []string{tools.AppointmentRef(a), a.PatientMRN, a.StartsAt.Format(csvTime), a.Type, a.Provider, string(a.Status)})
			}
		case req.Entity == tools.EntityInteractions:
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
		default:
			return &tools.ValidationError{Msg: fmt.Sprintf("export patients, appointments, interactions or patient PATIENT, not %q", req.Entity)}
		}
		args := map[string]string{"entity": req.Entity, "format": req.Format}
		if req.Entity == "patient" && len(rows) == 1 {
			args["mrn"] = rows[0][0]
		}
		if req.Profile != "" {
			args["profile"] = req.Profile
		}
		action, _ := json.Marshal(map[string]any{"tool": "export", "args": args})
		entry.Action = string(action)
		dest := "standard output"
		if req.File != "" {
			dest = filepath.Base(req.File)
		}
		msg := Disclosure{To: req.To, Purpose: purpose, File: dest}.String()
		if req.Internal {
			msg = "internal use, not a disclosure; file " + dest
		}
		return st.LogOutcome(ctx, entry, ids, len(rows), store.OutcomeOK, msg)
	})
	if err != nil {
		return nil, err
	}
	if err := writeExport(w, req, header, rows, values); err != nil {
		return nil, fmt.Errorf("export %s: %w", req.Entity, err)
	}
	return &backend.ExportView{Entity: req.Entity, Rows: len(rows)}, nil
}

func writeExport(w io.Writer, req backend.ExportRequest, header []string, rows [][]string, values []any) error {
	if req.Format == "json" {
		if values == nil {
			values = []any{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if req.Entity == "patient" {
			return enc.Encode(values[0])
		}
		return enc.Encode(values)
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
