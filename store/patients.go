package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// queryer is what reads need: the pool, or the one connection of a
// transaction, so that a preview inside a write sees the write's own view.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Reader answers questions about the practice. Store and Tx both embed it.
type Reader struct {
	q queryer
}

// patientList selects the patients cond (over alias p) selects, with their
// tags. The tags are gathered for the selected patients in one grouped join:
// a subquery per row costs twice as much on a list of thousands.
func patientList(cond string, limit int) string {
	q := `WITH sel AS (SELECT * FROM patients p WHERE ` + cond + `),
	tg AS (SELECT pt.patient_id, list(t.name ORDER BY t.name) AS names FROM patient_tags pt JOIN tags t ON t.id = pt.tag_id
		WHERE pt.patient_id IN (SELECT id FROM sel) GROUP BY pt.patient_id)
	SELECT p.id, p.mrn, p.first_name, p.last_name, p.dob, coalesce(p.sex, ''),
	coalesce(p.email, ''), coalesce(p.phone, ''), coalesce(p.city, ''), coalesce(p.language, ''),
	p.marketing_consent, p.consent_changed_at, p.status, p.created_at, p.updated_at, coalesce(tg.names, [])
	FROM sel p LEFT JOIN tg ON tg.patient_id = p.id ` + patientOrder
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return q
}

// patientOrder is how people expect a list of patients: by name, with the
// MRN to break ties so that output is stable.
const patientOrder = `ORDER BY p.last_name, p.first_name, p.mrn`

// patientScanner reads rows of patientList's columns. It scans into plain
// values and converts them itself, reusing its buffers from row to row:
// database/sql's reflection-based conversion to typed fields doubled the
// cost of listing thousands of patients.
type patientScanner struct {
	v    [16]any
	ptrs []any
}

func (ps *patientScanner) scan(rows interface{ Scan(...any) error }) (Patient, error) {
	if ps.ptrs == nil {
		ps.ptrs = make([]any, len(ps.v))
		for i := range ps.v {
			ps.ptrs[i] = &ps.v[i]
		}
	}
	v := &ps.v
	if err := rows.Scan(ps.ptrs...); err != nil {
		return Patient{}, err
	}
	str := func(x any) string { s, _ := x.(string); return s }
	tm := func(x any) time.Time { t, _ := x.(time.Time); return t }
	id, ok := v[0].(int64)
	if !ok {
		return Patient{}, fmt.Errorf("patient id is %T, not an integer", v[0])
	}
	consent, _ := v[10].(bool)
	p := Patient{
		ID: id, MRN: str(v[1]), FirstName: str(v[2]), LastName: str(v[3]), DOB: tm(v[4]), Sex: str(v[5]),
		Email: str(v[6]), Phone: str(v[7]), City: str(v[8]), Language: str(v[9]), MarketingConsent: consent,
		ConsentChangedAt: tm(v[11]), Status: Status(str(v[12])), CreatedAt: tm(v[13]), UpdatedAt: tm(v[14]),
	}
	tags, _ := v[15].([]any)
	p.Tags = make([]string, 0, len(tags))
	for _, t := range tags {
		p.Tags = append(p.Tags, str(t))
	}
	return p, nil
}

// FindPatients lists the patients f selects, by name. limit 0 means all.
func (r Reader) FindPatients(ctx context.Context, f PatientFilter, limit int) ([]Patient, error) {
	f, err := r.resolveMRNs(ctx, f)
	if err != nil {
		return nil, err
	}
	w := f.conditions("p")
	return r.queryPatients(ctx, "find patients", patientList(w.sql(), limit), w.args...)
}

// queryPatients runs a query selecting patientList's columns and reads every
// row; what names the operation in errors.
func (r Reader) queryPatients(ctx context.Context, what, q string, args ...any) ([]Patient, error) {
	rows, err := r.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []Patient
	var sc patientScanner
	for rows.Next() {
		p, err := sc.scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// PatientIDs returns the ids of the patients f selects, in id order. Bulk
// writes use it to know exactly whom they touch.
func (r Reader) PatientIDs(ctx context.Context, f PatientFilter) ([]int64, error) {
	f, err := r.resolveMRNs(ctx, f)
	if err != nil {
		return nil, err
	}
	w := f.conditions("p")
	rows, err := r.q.QueryContext(ctx, `SELECT p.id FROM patients p WHERE `+w.sql()+` ORDER BY p.id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("select patients: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("select patients: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select patients: %w", err)
	}
	return ids, nil
}

// CountPatients counts the patients f selects.
func (r Reader) CountPatients(ctx context.Context, f PatientFilter) (int, error) {
	f, err := r.resolveMRNs(ctx, f)
	if err != nil {
		return 0, err
	}
	w := f.conditions("p")
	var n int
	if err := r.q.QueryRowContext(ctx, `SELECT count(*) FROM patients p WHERE `+w.sql(), w.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count patients: %w", err)
	}
	return n, nil
}

// PatientGroup is a field patients can be counted by.
type PatientGroup string

const (
	GroupPatientCity       PatientGroup = "city"
	GroupPatientLanguage   PatientGroup = "language"
	GroupPatientStatus     PatientGroup = "status"
	GroupPatientTag        PatientGroup = "tag"
	GroupPatientBirthMonth PatientGroup = "birthday_month"
	GroupPatientMarketing  PatientGroup = "marketing_consent"
	GroupPatientSex        PatientGroup = "sex"
	GroupPatientAgeBand    PatientGroup = "age_band"
)

// PatientGroups lists the fields patients can be grouped by.
var PatientGroups = []PatientGroup{GroupPatientCity, GroupPatientLanguage, GroupPatientStatus, GroupPatientTag,
	GroupPatientBirthMonth, GroupPatientMarketing, GroupPatientSex, GroupPatientAgeBand}

// GroupPatients counts the patients f selects by one field. today anchors
// age bands.
func (r Reader) GroupPatients(ctx context.Context, f PatientFilter, by PatientGroup, today time.Time) ([]GroupCount, error) {
	f, err := r.resolveMRNs(ctx, f)
	if err != nil {
		return nil, err
	}
	w := f.conditions("p")
	var key, from string
	var args []any
	switch by {
	case GroupPatientCity:
		key = "coalesce(p.city, '')"
	case GroupPatientLanguage:
		key = "coalesce(p.language, '')"
	case GroupPatientStatus:
		key = "p.status"
	case GroupPatientSex:
		key = "coalesce(p.sex, '')"
	case GroupPatientMarketing:
		key = "CASE WHEN p.marketing_consent THEN 'yes' ELSE 'no' END"
	case GroupPatientBirthMonth:
		key = "coalesce(monthname(p.dob), '')"
	case GroupPatientAgeBand:
		key = `coalesce(CAST(floor(date_diff('year', p.dob, ?::DATE) / 10) * 10 AS INTEGER)::VARCHAR || 's', '')`
		args = append(args, dateOnly(today))
	case GroupPatientTag:
		from = ` JOIN patient_tags gpt ON gpt.patient_id = p.id JOIN tags gt ON gt.id = gpt.tag_id`
		key = "gt.name"
	default:
		return nil, fmt.Errorf("group patients: unknown field %q", by)
	}
	args = append(args, w.args...)
	q := `SELECT ` + key + ` AS k, count(*) FROM patients p` + from + ` WHERE ` + w.sql() + ` GROUP BY k ORDER BY count(*) DESC, k`
	return r.groups(ctx, "group patients", q, args)
}

func (r Reader) groups(ctx context.Context, what, q string, args []any) ([]GroupCount, error) {
	rows, err := r.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []GroupCount
	for rows.Next() {
		var g GroupCount
		if err := rows.Scan(&g.Key, &g.Count); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// PatientByID returns one patient.
func (r Reader) PatientByID(ctx context.Context, id int64) (Patient, error) {
	ps, err := r.onePatient(ctx, "id = ?", id)
	if err != nil {
		return Patient{}, err
	}
	if len(ps) == 0 {
		return Patient{}, fmt.Errorf("patient %d: %w", id, ErrNotFound)
	}
	return ps[0], nil
}

// onePatient looks one patient up by a unique column (id or mrn) from its
// index, then their tags: a quarter of the cost of patientList, which
// gathers tags for a whole list. Batches of single-patient actions live on
// this path.
func (r Reader) onePatient(ctx context.Context, cond string, arg any) ([]Patient, error) {
	// Two small queries: the row through the unique index, then its tags.
	// One query that joins the tags in costs about twice as much, more
	// inside a transaction that changed tags (a batch's group).
	ps, err := r.queryPatients(ctx, "find patient", `SELECT p.id, p.mrn, p.first_name, p.last_name, p.dob, coalesce(p.sex, ''),
		coalesce(p.email, ''), coalesce(p.phone, ''), coalesce(p.city, ''), coalesce(p.language, ''),
		p.marketing_consent, p.consent_changed_at, p.status, p.created_at, p.updated_at, []::VARCHAR[]
		FROM patients p WHERE p.`+cond, arg)
	if err != nil {
		return nil, err
	}
	for i := range ps {
		tags, err := r.strings(ctx, `SELECT t.name FROM tags t
			WHERE t.id IN (SELECT tag_id FROM patient_tags WHERE patient_id = ?) ORDER BY t.name`, ps[i].ID)
		if err != nil {
			return nil, fmt.Errorf("find patient: %w", err)
		}
		ps[i].Tags = append(make([]string, 0, len(tags)), tags...)
	}
	return ps, nil
}

// PatientMatch says how a free-text reference matched a patient.
type PatientMatch string

const (
	MatchMRN   PatientMatch = "mrn"
	MatchEmail PatientMatch = "email"
	MatchName  PatientMatch = "name"
)

// MatchPatients finds the patients a staff member may mean by ref: an MRN,
// an exact email, or a name. The first kind that matches wins, so an MRN is
// never confused with a name. A name matches the full name exactly (ignoring
// case and accents), else every word of ref appearing in the name. The caller
// decides what to do with more than one match: Carebook never guesses.
func (r Reader) MatchPatients(ctx context.Context, ref string) ([]Patient, PatientMatch, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, "", nil
	}
	// The MRN as typed is answered from the unique index; only a miss pays
	// for the case-insensitive scan.
	ps, err := r.onePatient(ctx, "mrn = ?", ref)
	if err != nil || len(ps) > 0 {
		return ps, MatchMRN, err
	}
	ps, err = r.FindPatients(ctx, PatientFilter{MRNs: []string{ref}}, 0)
	if err != nil || len(ps) > 0 {
		return ps, MatchMRN, err
	}
	if strings.Contains(ref, "@") {
		ps, err := r.findWhere(ctx, "lower(p.email) = lower(?)", ref)
		return ps, MatchEmail, err
	}
	ps, err = r.findWhere(ctx, normalized("p.first_name || ' ' || p.last_name")+" = "+normalized("?")+
		" OR "+normalized("p.last_name || ', ' || p.first_name")+" = "+normalized("?"), ref, ref)
	if err != nil || len(ps) > 0 {
		return ps, MatchName, err
	}
	var w where
	for _, word := range strings.Fields(strings.ReplaceAll(ref, ",", " ")) {
		w.add("contains("+normalized("p.first_name || ' ' || p.last_name")+", "+normalized("?")+")", word)
	}
	ps, err = r.findWhere(ctx, w.sql(), w.args...)
	return ps, MatchName, err
}

func (r Reader) findWhere(ctx context.Context, cond string, args ...any) ([]Patient, error) {
	return r.queryPatients(ctx, "match patient", patientList(cond, 0), args...)
}

// Vocabulary is what the practice's data calls things: the model is
// constrained to these values, and the REPL completes them.
type Vocabulary struct {
	Tags             []string
	Providers        []string
	AppointmentTypes []string
	Cities           []string
	Languages        []string
	Staff            []string
}

// VocabPart is one list of a Vocabulary.
type VocabPart int

const (
	VocabTags VocabPart = iota
	VocabProviders
	VocabAppointmentTypes
	VocabCities
	VocabLanguages
	VocabStaff
)

// Vocabulary reads the distinct names in use: the parts asked for, or all
// of them when called with none (an empty, non-nil list reads nothing). Some lists scan a large table (staff, a million interactions), so
// a tool reads only what its action mentions.
func (r Reader) Vocabulary(ctx context.Context, parts ...VocabPart) (Vocabulary, error) {
	var v Vocabulary
	lists := []struct {
		part VocabPart
		dst  *[]string
		q    string
	}{
		{VocabTags, &v.Tags, `SELECT name FROM tags ORDER BY name`},
		{VocabProviders, &v.Providers, `SELECT DISTINCT provider FROM appointments WHERE provider <> '' ORDER BY 1`},
		{VocabAppointmentTypes, &v.AppointmentTypes, `SELECT DISTINCT type FROM appointments WHERE type <> '' ORDER BY 1`},
		{VocabCities, &v.Cities, `SELECT DISTINCT city FROM patients WHERE coalesce(city, '') <> '' ORDER BY 1`},
		{VocabLanguages, &v.Languages, `SELECT DISTINCT language FROM patients WHERE coalesce(language, '') <> '' ORDER BY 1`},
		{VocabStaff, &v.Staff, `SELECT DISTINCT staff FROM interactions WHERE staff <> '' ORDER BY 1`},
	}
	if parts != nil && len(parts) == 0 {
		return v, nil
	}
	for _, l := range lists {
		if len(parts) > 0 && !slices.Contains(parts, l.part) {
			continue
		}
		vals, err := r.strings(ctx, l.q)
		if err != nil {
			return Vocabulary{}, fmt.Errorf("read vocabulary: %w", err)
		}
		*l.dst = vals
	}
	return v, nil
}

// PatientValue returns a city or language as the patients' records spell
// it, matched the way the filters match (case and accents ignored), or ""
// when no patient has it. It stops at the first patient found, so that
// checking a common name costs microseconds at 100k patients where reading
// every distinct name costs milliseconds.
func (r Reader) PatientValue(ctx context.Context, field PatientField, value string) (string, error) {
	var col string
	switch field {
	case FieldCity:
		col = "city"
	case FieldLanguage:
		col = "language"
	default:
		return "", fmt.Errorf("look up a patient value: %q is not a city or a language", field)
	}
	var v string
	err := r.q.QueryRowContext(ctx, `SELECT `+col+` FROM patients WHERE `+normalized(col)+` = `+normalized("?")+` LIMIT 1`, value).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up a %s: %w", col, err)
	}
	return v, nil
}

func (r Reader) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := r.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Counts is the size of the practice.
type Counts struct {
	Patients, Appointments, Interactions, Tags, AuditRows int
}

// Counts reads the row count of every table.
func (r Reader) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	err := r.q.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM patients), (SELECT count(*) FROM appointments),
		(SELECT count(*) FROM interactions), (SELECT count(*) FROM tags), (SELECT count(*) FROM audit_log)`).
		Scan(&c.Patients, &c.Appointments, &c.Interactions, &c.Tags, &c.AuditRows)
	if err != nil {
		return Counts{}, fmt.Errorf("count rows: %w", err)
	}
	return c, nil
}

// MRNs maps patient ids to their MRNs, for reports on bulk writes.
func (r Reader) MRNs(ctx context.Context, ids []int64) (map[int64]string, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT id, mrn FROM patients WHERE id IN (SELECT unnest(?::BIGINT[]))`, ids)
	if err != nil {
		return nil, fmt.Errorf("read MRNs: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]string, len(ids))
	for rows.Next() {
		var id int64
		var mrn string
		if err := rows.Scan(&id, &mrn); err != nil {
			return nil, fmt.Errorf("read MRNs: %w", err)
		}
		out[id] = mrn
	}
	return out, rows.Err()
}

// CompletePatients lists up to limit patients whose MRN (byMRN) or full
// name begins with prefix, ignoring case and accents: what Tab completion
// offers. The caller audits the names it shows.
func (r Reader) CompletePatients(ctx context.Context, prefix string, byMRN bool, limit int) ([]Patient, error) {
	cond := "starts_with(" + normalized("p.first_name || ' ' || p.last_name") + ", " + normalized("?") + ")"
	if byMRN {
		cond = "starts_with(lower(p.mrn), lower(?))"
	}
	return r.queryPatients(ctx, "complete", patientList(cond, limit), prefix)
}
