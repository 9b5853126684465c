package tools

import (
	"strconv"
	"time"

	"github.com/carebook/carebook/store"
)

// PatientJSON is a patient as scripts see it (`--json`).
type PatientJSON struct {
	MRN              string   `json:"mrn"`
	FirstName        string   `json:"first_name"`
	LastName         string   `json:"last_name"`
	DOB              string   `json:"dob,omitempty"`
	Sex              string   `json:"sex,omitempty"`
	Email            string   `json:"email,omitempty"`
	Phone            string   `json:"phone,omitempty"`
	City             string   `json:"city,omitempty"`
	Language         string   `json:"language,omitempty"`
	MarketingConsent bool     `json:"marketing_consent"`
	ConsentChangedAt string   `json:"consent_changed_at,omitempty"`
	Status           string   `json:"status"`
	Tags             []string `json:"tags"`
}

// AppointmentJSON is an appointment as scripts see it.
type AppointmentJSON struct {
	ID  string `json:"id"`
	MRN string `json:"mrn"`
	// Patient is the patient's name; empty where the patient is the
	// record's own (show) or where the file must keep its columns (export).
	Patient  string `json:"patient,omitempty"`
	Start    string `json:"start"`
	Type     string `json:"type"`
	Provider string `json:"provider"`
	Status   string `json:"status"`
}

// InteractionJSON is an interaction as scripts see it.
type InteractionJSON struct {
	ID        string `json:"id"`
	MRN       string `json:"mrn"`
	At        string `json:"at"`
	Channel   string `json:"channel"`
	Direction string `json:"direction"`
	Staff     string `json:"staff,omitempty"`
	Summary   string `json:"summary"`
}

// GroupJSON is one bucket of a grouped count.
type GroupJSON struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

// ResultJSON is a result as scripts see it.
type ResultJSON struct {
	Tool  string `json:"tool"`
	Kind  string `json:"kind"`
	Count int    `json:"count"`
	// Total is how many matched when a limit cut the list short; 0 when
	// the list is whole.
	Total        int               `json:"total,omitempty"`
	Patients     []PatientJSON     `json:"patients,omitempty"`
	Appointments []AppointmentJSON `json:"appointments,omitempty"`
	Interactions []InteractionJSON `json:"interactions,omitempty"`
	Tasks        []TaskJSON        `json:"tasks,omitempty"`
	GroupBy      string            `json:"group_by,omitempty"`
	Groups       []GroupJSON       `json:"groups,omitempty"`
	Changed      []string          `json:"changed_mrns,omitempty"`
	Message      string            `json:"message,omitempty"`
}

const wallClock = "2006-01-02T15:04:05"

// NewPatientJSON converts a patient for output.
func NewPatientJSON(p store.Patient) PatientJSON {
	out := PatientJSON{
		MRN: p.MRN, FirstName: p.FirstName, LastName: p.LastName, Sex: p.Sex, Email: p.Email,
		Phone: store.FormatPhone(p.Phone), City: p.City, Language: p.Language,
		MarketingConsent: p.MarketingConsent, Status: string(p.Status), Tags: p.Tags,
	}
	if !p.DOB.IsZero() {
		out.DOB = p.DOB.Format(time.DateOnly)
	}
	if !p.ConsentChangedAt.IsZero() {
		out.ConsentChangedAt = p.ConsentChangedAt.Format(time.RFC3339)
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	return out
}

// AppointmentRef is how an appointment is named: its id from the import,
// else its internal number.
func AppointmentRef(a store.Appointment) string {
	if a.ExternalID != "" {
		return a.ExternalID
	}
	return "#" + itoa(a.ID)
}

// InteractionRef is how an interaction is named.
func InteractionRef(i store.Interaction) string {
	if i.ExternalID != "" {
		return i.ExternalID
	}
	return "#" + itoa(i.ID)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// NewAppointmentJSON converts an appointment for output.
func NewAppointmentJSON(a store.Appointment) AppointmentJSON {
	return AppointmentJSON{ID: AppointmentRef(a), MRN: a.PatientMRN, Patient: a.PatientName, Start: a.StartsAt.Format(wallClock),
		Type: a.Type, Provider: a.Provider, Status: string(a.Status)}
}

// NewInteractionJSON converts an interaction for output.
func NewInteractionJSON(i store.Interaction) InteractionJSON {
	return InteractionJSON{ID: InteractionRef(i), MRN: i.PatientMRN, At: i.At.Format(wallClock),
		Channel: string(i.Channel), Direction: string(i.Direction), Staff: i.Staff, Summary: i.Summary}
}

// JSON converts a result for output. changedMRNs names the patients a
// write changed, when the caller has looked them up.
func (r *Result) JSON(changedMRNs []string) ResultJSON {
	out := ResultJSON{Tool: r.Tool, Kind: r.Kind, Count: r.Count, Total: r.Total, GroupBy: r.GroupBy, Message: r.Message, Changed: changedMRNs}
	for _, p := range r.Patients {
		out.Patients = append(out.Patients, NewPatientJSON(p))
	}
	for _, a := range r.Appointments {
		out.Appointments = append(out.Appointments, NewAppointmentJSON(a))
	}
	for _, i := range r.Interactions {
		out.Interactions = append(out.Interactions, NewInteractionJSON(i))
	}
	for _, t := range r.Tasks {
		out.Tasks = append(out.Tasks, NewTaskJSON(t))
	}
	for _, g := range r.Groups {
		out.Groups = append(out.Groups, GroupJSON{Key: g.Key, Count: g.Count})
	}
	return out
}

// PatientBrief is what a preview or a list of namesakes shows of a
// patient: enough to tell them apart, nothing more.
type PatientBrief struct {
	MRN  string   `json:"mrn"`
	Name string   `json:"name"`
	DOB  string   `json:"dob,omitempty"`
	Tags []string `json:"tags"`
}

// Brief is p as a preview shows them.
func Brief(p store.Patient) PatientBrief {
	b := PatientBrief{MRN: p.MRN, Name: p.FullName(), Tags: p.Tags}
	if !p.DOB.IsZero() {
		b.DOB = p.DOB.Format(time.DateOnly)
	}
	if b.Tags == nil {
		b.Tags = []string{}
	}
	return b
}

// Briefs is Brief of each.
func Briefs(ps []store.Patient) []PatientBrief {
	out := make([]PatientBrief, len(ps))
	for i, p := range ps {
		out[i] = Brief(p)
	}
	return out
}

// PlanView is a plan as the person who asked sees it before it runs: what
// it will do and to whom (the first PreviewLimit patients), never the
// internal ids or the whole cohort.
type PlanView struct {
	// ID names the plan where it waits to be executed (or declined).
	ID     string `json:"id,omitempty"`
	Action Action `json:"action"`
	Tool   string `json:"tool"`
	// Write says executing changes the database: it needs a confirmation.
	Write       bool           `json:"write"`
	Summary     string         `json:"summary"`
	Targets     []PatientBrief `json:"targets,omitempty"`
	TargetCount int            `json:"target_count"`
	NewTag      bool           `json:"new_tag,omitempty"`
	// SimilarTag is an existing tag the new one is a likely typo of.
	SimilarTag string `json:"similar_tag,omitempty"`
	// NoOp says the write would change nothing: nothing is asked or done.
	NoOp bool `json:"nothing_to_do,omitempty"`
	// FutureAt is an interaction's time when it is still to come
	// ("2026-06-20 10:00"): the confirmation asks about it.
	FutureAt string `json:"future_at,omitempty"`
	Message  string `json:"message,omitempty"`
	// Irreversible is set for forget: the confirmation asks for more than y.
	Irreversible bool `json:"irreversible,omitempty"`
	// ConfirmText, when set, is what the person must type to confirm (the
	// MRN, for forget).
	ConfirmText string `json:"confirm_text,omitempty"`
	// Changes are the fields the write changes, before and after.
	Changes []FieldChange `json:"changes,omitempty"`
	// Duplicates are existing patients a new record may be.
	Duplicates []DuplicateJSON `json:"possible_duplicates,omitempty"`
}

// View is p as the person who asked sees it.
func (p *Plan) View() PlanView {
	v := PlanView{Action: p.Action, Tool: p.Tool, Write: p.Write, Summary: p.Summary, Targets: Briefs(p.Targets),
		TargetCount: p.TargetCount, NewTag: p.NewTag, SimilarTag: p.SimilarTag, NoOp: p.NoOp, FutureAt: p.FutureAt,
		Message: p.Message, Changes: p.Changes}
	for _, d := range p.Duplicates {
		j := DuplicateJSON{PatientBrief: Brief(d.Patient)}
		for _, k := range d.Keys {
			j.Keys = append(j.Keys, string(k))
		}
		v.Duplicates = append(v.Duplicates, j)
	}
	return v
}

// TargetIDs are the internal ids of the patients the preview shows (those
// it changes, and the possible duplicates it lists), for the audit row that
// records that they were shown.
func (p *Plan) TargetIDs() []int64 {
	ids := make([]int64, 0, len(p.Targets)+len(p.Duplicates))
	for _, t := range p.Targets {
		ids = append(ids, t.ID)
	}
	for _, d := range p.Duplicates {
		ids = append(ids, d.Patient.ID)
	}
	return ids
}
