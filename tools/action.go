// Package tools is Carebook's closed set of actions: query, tag, untag,
// log_interaction, clarify and refuse. Each has typed arguments that the
// JSON schema given to the model is built from, a validator, a resolver that
// turns names and relative dates into patients and times, a preview of what
// will change, and an executor. The REPL, `carebook run` and the plain
// subcommands all go through here; none of it needs a model.
package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"
)

// Tool names. The set is closed: an action naming anything else is refused.
const (
	ToolQuery          = "query"
	ToolTag            = "tag"
	ToolUntag          = "untag"
	ToolLogInteraction = "log_interaction"
	ToolClarify        = "clarify"
	ToolRefuse         = "refuse"
)

// Everyday-records tools (issue 15): the model may choose these too.
const (
	ToolUpdatePatient = "update_patient"
	ToolSetConsent    = "set_consent"
	ToolAddTask       = "add_task"
	ToolCompleteTask  = "complete_task"
)

// Tools that only a plain command or an action file runs, never the model:
// a model must not invent a patient from a sentence, merging two records
// takes a person's judgement, reopening a task is a correction, and
// renaming or deleting a tag changes it for every patient who carries it.
const (
	ToolAddPatient    = "add_patient"
	ToolMergePatients = "merge_patients"
	ToolReopenTask    = "reopen_task"
)

// RecordTools are the everyday-records tools the model may choose.
var RecordTools = []string{ToolUpdatePatient, ToolSetConsent, ToolAddTask, ToolCompleteTask}

// ToolNames lists the tools the prompt teaches, by an example in prompts/
// examples.jsonl or, where its line of the action format says enough, by
// that line (prompts_test.go names those).
var ToolNames = append([]string{ToolQuery, ToolTag, ToolUntag, ToolLogInteraction, ToolClarify, ToolRefuse}, RecordTools...)

// ModelTools lists every tool the model's schema offers, in schema order:
// the tools the prompt teaches.
var ModelTools = slices.Clip(ToolNames)

// CommandTools lists the tools the model may not choose.
var CommandTools = []string{ToolAddPatient, ToolMergePatients, ToolReopenTask, ToolRenameTag, ToolDeleteTag}

// AllTools lists every tool.
var AllTools = append(slices.Clip(ModelTools), CommandTools...)

// ForModel reports whether the model may choose tool.
func ForModel(tool string) bool { return slices.Contains(ModelTools, tool) }

// Writes reports whether tool changes the database, before it is prepared.
func Writes(tool string) bool {
	switch tool {
	case ToolQuery, ToolClarify, ToolRefuse:
		return false
	}
	return slices.Contains(AllTools, tool)
}

// Action is one line of the JSON Lines action format: what the model emits,
// what `carebook run actions.jsonl` executes and what the audit log records.
//
//	{"tool":"tag","args":{"tag":"recall-due","patient":{"match":"Jon Smyth"}}}
type Action struct {
	Tool string          `json:"tool"`
	Args json.RawMessage `json:"args"`
}

// JSON renders the action on one line, as the audit log stores it.
func (a Action) JSON() string {
	args := a.Args
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, args); err == nil {
		args = compact.Bytes()
	}
	b, _ := json.Marshal(Action{Tool: a.Tool, Args: args})
	return string(b)
}

// NewAction builds an action from typed arguments.
func NewAction(tool string, args any) (Action, error) {
	b, err := json.Marshal(args)
	if err != nil {
		return Action{}, fmt.Errorf("encode %s arguments: %w", tool, err)
	}
	return Action{Tool: tool, Args: b}, nil
}

// ParseAction decodes one action, strictly: unknown fields are errors, so
// that a typo cannot silently widen a filter, and so are a key given twice
// and a key in another case than its field's (see keys.go), so that the
// action the audit log records is the action that runs. Text that is not
// UTF-8 is refused too: encoding/json would turn it into U+FFFD in the
// values while the raw arguments, which the audit log records, keep bytes
// that DuckDB cannot store.
func ParseAction(data []byte) (Action, error) {
	if !utf8.Valid(data) {
		return Action{}, invalidf("the action is not valid UTF-8 text; save the file as UTF-8 and run it again")
	}
	var a Action
	if err := decodeStrict(data, &a); err != nil {
		return Action{}, &ValidationError{Msg: "the action is not valid JSON of the form {\"tool\": …, \"args\": {…}}: " + err.Error()}
	}
	if err := checkKeys(data, reflect.TypeFor[Action](), ""); err != nil {
		return Action{}, err
	}
	if a.Tool == "" {
		return Action{}, &ValidationError{Msg: `the action has no "tool"`}
	}
	if t, ok := argsType(a.Tool); ok {
		if err := checkKeys(a.Args, t, "args"); err != nil {
			return Action{}, err
		}
	}
	return a, nil
}

// AuditText is input as it was read (a line of a batch, a request) made fit
// for the audit log: bytes that are not UTF-8 are replaced with U+FFFD.
// DuckDB refuses to store text that is not UTF-8, and an attempt that was
// refused for its encoding must still leave its row.
func AuditText(data []byte) string {
	return strings.ToValidUTF8(string(data), "\uFFFD")
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the JSON value")
	}
	return nil
}

// PatientRef names one patient the way staff do: an MRN, an exact email or
// a name, with an optional birth date or year to tell namesakes apart.
type PatientRef struct {
	Match string `json:"match"`
	Born  string `json:"born,omitempty"` // "1990" or "1990-11-20"
}

// QueryArgs are the arguments of the query tool.
type QueryArgs struct {
	// Entity is what to list or count: patients, appointments or interactions.
	Entity string `json:"entity"`
	// Patient limits the query to one patient.
	Patient *PatientRef `json:"patient,omitempty"`
	// Where selects patients (for appointments and interactions: their patients).
	Where *PatientWhere `json:"where,omitempty"`
	// Appointments filters appointment rows (entity appointments).
	Appointments *AppointmentWhere `json:"appointments,omitempty"`
	// Interactions filters interaction rows (entity interactions).
	Interactions *InteractionWhere `json:"interactions,omitempty"`
	// Output is list (default), count or groups.
	Output string `json:"output,omitempty"`
	// GroupBy is the field to count by when Output is groups.
	GroupBy string `json:"group_by,omitempty"`
	// Tasks filters task rows (entity tasks).
	Tasks *TaskWhere `json:"tasks,omitempty"`
	// Limit caps a list; 0 means the default.
	Limit int `json:"limit,omitempty"`
}

// TagArgs are the arguments of tag and untag: one patient, or every patient
// a filter selects.
type TagArgs struct {
	Tag     string        `json:"tag"`
	Patient *PatientRef   `json:"patient,omitempty"`
	Where   *PatientWhere `json:"where,omitempty"`
}

// LogArgs are the arguments of log_interaction.
type LogArgs struct {
	Patient   *PatientRef   `json:"patient,omitempty"`
	Where     *PatientWhere `json:"where,omitempty"`
	Channel   string        `json:"channel"`
	Direction string        `json:"direction,omitempty"` // default outbound
	Summary   string        `json:"summary"`
	At        string        `json:"at,omitempty"` // default now
	Staff     string        `json:"staff,omitempty"`
}

// MessageArgs are the arguments of clarify and refuse: one sentence for the user.
type MessageArgs struct {
	Message string `json:"message"`
}

// PatientWhere selects patients. Every field set must hold. Dates are
// absolute or relative ("90 days ago", "last 6 months"); see when.go.
type PatientWhere struct {
	MRNs          []string `json:"mrns,omitempty"`
	Name          string   `json:"name,omitempty"`  // contains
	Email         string   `json:"email,omitempty"` // contains
	PhoneContains string   `json:"phone_contains,omitempty"`
	PhoneEndsWith string   `json:"phone_ends_with,omitempty"`
	HasEmail      *bool    `json:"has_email,omitempty"`
	HasPhone      *bool    `json:"has_phone,omitempty"`

	Tags     []string `json:"tags,omitempty"`      // has all of
	TagsAny  []string `json:"tags_any,omitempty"`  // has at least one of
	TagsNone []string `json:"tags_none,omitempty"` // has none of

	OlderThan     *int `json:"older_than,omitempty"`   // age > N
	YoungerThan   *int `json:"younger_than,omitempty"` // age < N
	AgeAtLeast    *int `json:"age_at_least,omitempty"` // age >= N
	AgeAtMost     *int `json:"age_at_most,omitempty"`  // age <= N
	BirthdayMonth int  `json:"birthday_month,omitempty"`

	Status           string `json:"status,omitempty"`
	City             string `json:"city,omitempty"`
	Language         string `json:"language,omitempty"`
	MarketingConsent *bool  `json:"marketing_consent,omitempty"`

	LastVisitBefore string `json:"last_visit_before,omitempty"` // includes never seen
	LastVisitAfter  string `json:"last_visit_after,omitempty"`

	HasAppointment *AppointmentWhere `json:"has_appointment,omitempty"`
	NoAppointment  *AppointmentWhere `json:"no_appointment,omitempty"`
	HasInteraction *InteractionWhere `json:"has_interaction,omitempty"`
	NoInteraction  *InteractionWhere `json:"no_interaction,omitempty"`

	HasOpenTask *bool `json:"has_open_task,omitempty"`
}

// AppointmentWhere selects appointments.
type AppointmentWhere struct {
	Status   string `json:"status,omitempty"`
	Type     string `json:"type,omitempty"`
	Provider string `json:"provider,omitempty"`
	When     string `json:"when,omitempty"` // a range: "last 90 days", "next week", "May 2026"
}

// InteractionWhere selects interactions.
type InteractionWhere struct {
	Channel   string `json:"channel,omitempty"`
	Direction string `json:"direction,omitempty"`
	Staff     string `json:"staff,omitempty"`
	When      string `json:"when,omitempty"`
}

// ValidationError says an action is malformed or impossible. Its message is
// fit to show the user, and, unless Private, to hand back to the model for
// one retry.
type ValidationError struct {
	Msg string
	// Private marks a message drawn from the practice's records (a
	// patient's MRN, their tasks and due dates): the person reads it and
	// settles it, and it is never handed back to the model, which sees no
	// patient rows.
	Private bool
	// Field is where in the action's arguments the mistake is
	// ("appointments.provider"), when it is one field's. The model needs it
	// to correct its action; a person at a plain command, who gave a flag
	// and not that field, is shown Msg alone.
	Field string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func invalidf(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// privatef is invalidf for a message that tells of the practice's records.
func privatef(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...), Private: true}
}

// decodeArgs decodes an action's arguments strictly into v.
func decodeArgs(a Action, v any) error {
	args := a.Args
	if len(bytes.TrimSpace(args)) == 0 || string(bytes.TrimSpace(args)) == "null" {
		args = []byte("{}")
	}
	if !utf8.Valid(args) {
		return invalidf("the arguments of %s are not valid UTF-8 text; write them as UTF-8", a.Tool)
	}
	if err := decodeStrict(args, v); err != nil {
		return invalidf("the arguments of %s do not fit its schema: %s", a.Tool, strings.TrimPrefix(err.Error(), "json: "))
	}
	// An action built in code, not by ParseAction, is checked here.
	return checkKeys(args, reflect.TypeOf(v), "args")
}

// WithPatient returns a with its patient reference replaced by mrn: how a
// name becomes the MRN it resolved to (the audit log keeps MRNs, not what
// was typed), and how a namesake chosen from a list is applied.
func WithPatient(a Action, mrn string) (Action, error) {
	var args map[string]json.RawMessage
	if err := json.Unmarshal(a.Args, &args); err != nil || args == nil {
		return Action{}, fmt.Errorf("rewrite the %s action: its arguments are not an object", a.Tool)
	}
	ref, _ := json.Marshal(PatientRef{Match: mrn})
	args["patient"] = ref
	raw, err := json.Marshal(args)
	if err != nil {
		return Action{}, fmt.Errorf("rewrite the %s action: %w", a.Tool, err)
	}
	return Action{Tool: a.Tool, Args: raw}, nil
}
