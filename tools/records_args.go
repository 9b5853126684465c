package tools

// Arguments of the everyday-records tools. Those the model may choose have
// a schema in schema.go; the command-only ones (add_patient, merge_patients,
// reopen_task) are checked by the same strict decoding, and have none.

// UpdatePatientArgs are the arguments of update_patient: one patient's
// contact details and status. A field left out stays as it is; an empty
// string clears it. It never changes several patients.
type UpdatePatientArgs struct {
	Patient  *PatientRef `json:"patient"`
	Email    *string     `json:"email,omitempty"`
	Phone    *string     `json:"phone,omitempty"`
	City     *string     `json:"city,omitempty"`
	Language *string     `json:"language,omitempty"`
	Status   *string     `json:"status,omitempty"`
}

// ConsentArgs are the arguments of set_consent: one patient's marketing
// decision, how it reached the practice, and when it was made (default
// now).
type ConsentArgs struct {
	Patient   *PatientRef `json:"patient"`
	Marketing *bool       `json:"marketing"`
	Source    string      `json:"source"`
	At        string      `json:"at,omitempty"`
}

// AddTaskArgs are the arguments of add_task: a follow-up for one patient,
// or a recall (a reason and a due date) for every patient a filter selects.
type AddTaskArgs struct {
	Text     string        `json:"text"`
	Patient  *PatientRef   `json:"patient,omitempty"`
	Where    *PatientWhere `json:"where,omitempty"`
	Due      string        `json:"due,omitempty"`
	AssignTo string        `json:"assign_to,omitempty"`
}

// CompleteTaskArgs are the arguments of complete_task: a task by its id,
// or a patient's open task by words of its text (the patient's only open
// task when no words are given). With channel and summary, the contact
// that did it is logged in the same step.
type CompleteTaskArgs struct {
	Patient *PatientRef `json:"patient,omitempty"`
	Task    string      `json:"task,omitempty"`
	ID      int64       `json:"id,omitempty"`
	Channel string      `json:"channel,omitempty"`
	Summary string      `json:"summary,omitempty"`
}

// ReopenTaskArgs are the arguments of reopen_task.
type ReopenTaskArgs struct {
	ID int64 `json:"id"`
}

// AddPatientArgs are the arguments of add_patient. An empty MRN is
// generated. A record that matches an existing patient (name and date of
// birth, email or phone) is refused unless AllowDuplicate says it is
// another person.
type AddPatientArgs struct {
	FirstName      string `json:"first_name"`
	LastName       string `json:"last_name"`
	DOB            string `json:"dob,omitempty"`
	Sex            string `json:"sex,omitempty"`
	Email          string `json:"email,omitempty"`
	Phone          string `json:"phone,omitempty"`
	City           string `json:"city,omitempty"`
	Language       string `json:"language,omitempty"`
	MRN            string `json:"mrn,omitempty"`
	AllowDuplicate bool   `json:"allow_duplicate,omitempty"`
}

// MergeArgs are the arguments of merge_patients: two records of one
// person. Keep stays; Other's tags, appointments, interactions, tasks and
// consent history move to it, its details fill Keep's blanks, and Other is
// removed.
type MergeArgs struct {
	Keep  *PatientRef `json:"keep"`
	Other *PatientRef `json:"other"`
}

// TaskWhere selects task rows (query entity tasks).
type TaskWhere struct {
	// Status is open (the default) or done.
	Status string `json:"status,omitempty"`
	// Due is a range of due days ("today", "this week", "next 7 days").
	Due string `json:"due,omitempty"`
	// Overdue keeps open tasks whose due day has passed.
	Overdue bool `json:"overdue,omitempty"`
	// AssignedTo is a staff member's name.
	AssignedTo string `json:"assigned_to,omitempty"`
	// Mine keeps the tasks assigned to whoever asks.
	Mine bool `json:"mine,omitempty"`
}
