package tools

import (
	"time"

	"github.com/carebook/carebook/store"
)

// TaskJSON is a task as scripts see it.
type TaskJSON struct {
	ID         int64  `json:"id"`
	MRN        string `json:"mrn"`
	Kind       string `json:"kind"`
	Text       string `json:"text"`
	Due        string `json:"due,omitempty"`
	AssignedTo string `json:"assigned_to,omitempty"`
	// Status is open or done.
	Status    string `json:"status"`
	CreatedBy string `json:"created_by"`
	DoneAt    string `json:"done_at,omitempty"`
	DoneBy    string `json:"done_by,omitempty"`
}

// Task statuses, as TaskJSON and the query's task filter name them.
const (
	TaskOpen = "open"
	TaskDone = "done"
)

// NewTaskJSON converts a task for output.
func NewTaskJSON(t store.Task) TaskJSON {
	out := TaskJSON{ID: t.ID, MRN: t.PatientMRN, Kind: string(t.Kind), Text: t.Text, AssignedTo: t.AssignedTo,
		Status: TaskOpen, CreatedBy: t.CreatedBy, DoneBy: t.DoneBy}
	if !t.Due.IsZero() {
		out.Due = t.Due.Format(time.DateOnly)
	}
	if !t.Open() {
		out.Status, out.DoneAt = TaskDone, t.DoneAt.Format(time.RFC3339)
	}
	return out
}

// ConsentJSON is one change of marketing consent as scripts see it.
type ConsentJSON struct {
	Marketing bool `json:"marketing"`
	// At is when the patient decided; empty when not known.
	At         string `json:"at,omitempty"`
	Source     string `json:"source"`
	Staff      string `json:"staff,omitempty"`
	RecordedAt string `json:"recorded_at"`
}

// NewConsentJSON converts a consent change for output.
func NewConsentJSON(e store.ConsentEvent) ConsentJSON {
	out := ConsentJSON{Marketing: e.Marketing, Source: string(e.Source), Staff: e.Staff, RecordedAt: e.RecordedAt.Format(time.RFC3339)}
	if !e.At.IsZero() {
		out.At = e.At.Format(time.RFC3339)
	}
	return out
}

// FieldChange is one field a write changes: its value before and after,
// as people read them ("" for none).
type FieldChange struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// DuplicateJSON is an existing patient a new record may be, and on what.
type DuplicateJSON struct {
	PatientBrief
	Keys []string `json:"matches"`
}
