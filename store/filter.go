package store

import (
	"fmt"
	"strings"
	"time"
)

// PatientFilter selects patients. Every set field must hold (AND); the zero
// value selects everyone. Times are absolute: callers resolve "last 90 days"
// before they get here. Text matches ignore case and accents.
type PatientFilter struct {
	IDs  []int64
	MRNs []string

	NameContains  string
	EmailContains string
	PhoneContains string // digits
	PhoneEndsWith string // digits
	HasEmail      *bool
	HasPhone      *bool

	TagsAll  []string
	TagsAny  []string
	TagsNone []string

	BornOnOrAfter  time.Time // zero: no bound
	BornOnOrBefore time.Time // zero: no bound
	BirthdayMonth  int       // 1-12; 0: any

	Statuses         []Status
	City             string
	Language         string
	MarketingConsent *bool

	// LastVisitBefore keeps patients whose last completed appointment is
	// before this time, including those never seen.
	LastVisitBefore time.Time
	// LastVisitOnOrAfter keeps patients with a completed appointment at or
	// after this time.
	LastVisitOnOrAfter time.Time

	HasAppointment *AppointmentFilter
	NoAppointment  *AppointmentFilter
	HasInteraction *InteractionFilter
	NoInteraction  *InteractionFilter

	// HasOpenTask keeps patients with (true) or without (false) a task
	// still to do.
	HasOpenTask *bool
}

// AppointmentFilter selects appointments. From is inclusive, To exclusive.
type AppointmentFilter struct {
	ExternalIDs []string
	Statuses    []AppointmentStatus
	Types       []string
	Providers   []string
	From, To    time.Time
}

// InteractionFilter selects interactions. From is inclusive, To exclusive.
type InteractionFilter struct {
	ExternalIDs []string
	Channels    []Channel
	Direction   Direction
	Staff       string
	From, To    time.Time
}

// IsEmpty reports whether f selects every patient.
func (f PatientFilter) IsEmpty() bool {
	return f.conditions("p").empty()
}

// where accumulates SQL conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) merge(o where) {
	w.conds = append(w.conds, o.conds...)
	w.args = append(w.args, o.args...)
}

func (w where) empty() bool { return len(w.conds) == 0 }

// sql renders the conditions after WHERE; "true" when there are none.
func (w where) sql() string {
	if len(w.conds) == 0 {
		return "true"
	}
	return strings.Join(w.conds, " AND ")
}

// normalized is the SQL for case- and accent-insensitive comparison.
func normalized(expr string) string {
	return "strip_accents(lower(" + expr + "))"
}

func lowerStrings[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = strings.ToLower(string(v))
	}
	return out
}

// tagMembers is the set of patient ids carrying any of the bound tags.
const tagMembers = `(SELECT pt.patient_id FROM patient_tags pt JOIN tags t ON t.id = pt.tag_id WHERE list_contains(?::VARCHAR[], t.name))`

// conditions renders the filter against the patients table aliased as a.
func (f PatientFilter) conditions(a string) where {
	var w where
	col := func(c string) string { return a + "." + c }
	if f.IDs != nil {
		w.merge(idsIn(col("id"), f.IDs))
	}
	if f.MRNs != nil {
		w.add(fmt.Sprintf("list_contains(?::VARCHAR[], upper(%s))", col("mrn")), upperAll(f.MRNs))
	}
	if f.NameContains != "" {
		w.add(fmt.Sprintf("contains(%s, %s)", normalized(col("first_name")+" || ' ' || "+col("last_name")), normalized("?")), f.NameContains)
	}
	if f.EmailContains != "" {
		w.add(fmt.Sprintf("contains(lower(coalesce(%s, '')), lower(?))", col("email")), f.EmailContains)
	}
	if f.PhoneContains != "" {
		w.add(fmt.Sprintf("contains(coalesce(%s, ''), ?)", col("phone")), f.PhoneContains)
	}
	if f.PhoneEndsWith != "" {
		w.add(fmt.Sprintf("ends_with(coalesce(%s, ''), ?)", col("phone")), f.PhoneEndsWith)
	}
	if f.HasEmail != nil {
		w.add(fmt.Sprintf("(coalesce(%s, '') <> '') = ?", col("email")), *f.HasEmail)
	}
	if f.HasPhone != nil {
		w.add(fmt.Sprintf("(coalesce(%s, '') <> '') = ?", col("phone")), *f.HasPhone)
	}
	for _, tag := range f.TagsAll {
		w.add(fmt.Sprintf("%s IN %s", col("id"), tagMembers), []string{strings.ToLower(tag)})
	}
	if len(f.TagsAny) > 0 {
		w.add(fmt.Sprintf("%s IN %s", col("id"), tagMembers), lowerStrings(f.TagsAny))
	}
	if len(f.TagsNone) > 0 {
		w.add(fmt.Sprintf("%s NOT IN %s", col("id"), tagMembers), lowerStrings(f.TagsNone))
	}
	if !f.BornOnOrAfter.IsZero() {
		w.add(fmt.Sprintf("%s >= ?::DATE", col("dob")), dateOnly(f.BornOnOrAfter))
	}
	if !f.BornOnOrBefore.IsZero() {
		w.add(fmt.Sprintf("%s <= ?::DATE", col("dob")), dateOnly(f.BornOnOrBefore))
	}
	if f.BirthdayMonth != 0 {
		w.add(fmt.Sprintf("month(%s) = ?", col("dob")), f.BirthdayMonth)
	}
	if len(f.Statuses) > 0 {
		w.add(fmt.Sprintf("list_contains(?::VARCHAR[], %s)", col("status")), lowerStrings(f.Statuses))
	}
	if f.City != "" {
		w.add(fmt.Sprintf("%s = %s", normalized(col("city")), normalized("?")), f.City)
	}
	if f.Language != "" {
		w.add(fmt.Sprintf("%s = %s", normalized(col("language")), normalized("?")), f.Language)
	}
	if f.MarketingConsent != nil {
		w.add(fmt.Sprintf("%s = ?", col("marketing_consent")), *f.MarketingConsent)
	}
	if !f.LastVisitBefore.IsZero() {
		w.add(fmt.Sprintf("%s NOT IN (SELECT patient_id FROM appointments WHERE status = 'completed' AND starts_at >= ?)", col("id")), Wall(f.LastVisitBefore))
	}
	if !f.LastVisitOnOrAfter.IsZero() {
		w.add(fmt.Sprintf("%s IN (SELECT patient_id FROM appointments WHERE status = 'completed' AND starts_at >= ?)", col("id")), Wall(f.LastVisitOnOrAfter))
	}
	if f.HasAppointment != nil {
		sub := f.HasAppointment.conditions("ha")
		w.add(fmt.Sprintf("%s IN (SELECT ha.patient_id FROM appointments ha WHERE %s)", col("id"), sub.sql()), sub.args...)
	}
	if f.NoAppointment != nil {
		sub := f.NoAppointment.conditions("na")
		w.add(fmt.Sprintf("%s NOT IN (SELECT na.patient_id FROM appointments na WHERE %s)", col("id"), sub.sql()), sub.args...)
	}
	if f.HasInteraction != nil {
		sub := f.HasInteraction.conditions("hi")
		w.add(fmt.Sprintf("%s IN (SELECT hi.patient_id FROM interactions hi WHERE %s)", col("id"), sub.sql()), sub.args...)
	}
	if f.NoInteraction != nil {
		sub := f.NoInteraction.conditions("ni")
		w.add(fmt.Sprintf("%s NOT IN (SELECT ni.patient_id FROM interactions ni WHERE %s)", col("id"), sub.sql()), sub.args...)
	}
	if f.HasOpenTask != nil {
		w.add(fmt.Sprintf("(%s IN (SELECT patient_id FROM tasks WHERE done_at IS NULL)) = ?", col("id")), *f.HasOpenTask)
	}
	return w
}

func (f AppointmentFilter) conditions(a string) where {
	var w where
	if f.ExternalIDs != nil {
		w.add(fmt.Sprintf("list_contains(?::VARCHAR[], upper(%s.external_id))", a), upperAll(f.ExternalIDs))
	}
	if len(f.Statuses) > 0 {
		w.add(fmt.Sprintf("list_contains(?::VARCHAR[], %s.status)", a), lowerStrings(f.Statuses))
	}
	if len(f.Types) > 0 {
		w.add(fmt.Sprintf("list_contains(?::VARCHAR[], lower(%s.type))", a), lowerStrings(f.Types))
	}
	if len(f.Providers) > 0 {
		w.add(fmt.Sprintf("list_contains(?::VARCHAR[], lower(%s.provider))", a), lowerStrings(f.Providers))
	}
	if !f.From.IsZero() {
		w.add(fmt.Sprintf("%s.starts_at >= ?", a), Wall(f.From))
	}
	if !f.To.IsZero() {
		w.add(fmt.Sprintf("%s.starts_at < ?", a), Wall(f.To))
	}
	return w
}

func (f InteractionFilter) conditions(a string) where {
	var w where
	if f.ExternalIDs != nil {
		w.add(fmt.Sprintf("list_contains(?::VARCHAR[], upper(%s.external_id))", a), upperAll(f.ExternalIDs))
	}
	if len(f.Channels) > 0 {
		w.add(fmt.Sprintf("list_contains(?::VARCHAR[], %s.channel)", a), lowerStrings(f.Channels))
	}
	if f.Direction != "" {
		w.add(fmt.Sprintf("%s.direction = ?", a), string(f.Direction))
	}
	if f.Staff != "" {
		w.add(fmt.Sprintf("contains(lower(%s.staff), lower(?))", a), f.Staff)
	}
	if !f.From.IsZero() {
		w.add(fmt.Sprintf("%s.occurred_at >= ?", a), Wall(f.From))
	}
	if !f.To.IsZero() {
		w.add(fmt.Sprintf("%s.occurred_at < ?", a), Wall(f.To))
	}
	return w
}

func upperAll(in []string) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = strings.ToUpper(v)
	}
	return out
}

// Wall drops the zone, keeping the wall-clock reading. Appointment and
// interaction times are stored as the practice's local wall-clock time, so a
// bound must be compared the same way.
func Wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

func dateOnly(t time.Time) string {
	return t.Format(time.DateOnly)
}
