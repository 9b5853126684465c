package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// GeneratedMRNPrefix starts the MRN Carebook gives a patient added without
// one: CB and the patient's internal number, never reused.
const GeneratedMRNPrefix = "CB"

// InsertPatient adds one patient and returns them as stored. An empty MRN
// is generated. Tags are not added here; consent is recorded in the
// history when it is given.
func (tx *Tx) InsertPatient(ctx context.Context, p Patient) (Patient, error) {
	var id int64
	if err := tx.conn.QueryRowContext(ctx, `SELECT nextval('patient_id_seq')`).Scan(&id); err != nil {
		return Patient{}, fmt.Errorf("add patient: %w", err)
	}
	if p.MRN == "" {
		// A generated MRN an import took already moves on to the next
		// number.
		for {
			p.MRN = fmt.Sprintf("%s%06d", GeneratedMRNPrefix, id)
			var n int
			if err := tx.conn.QueryRowContext(ctx, `SELECT count(*) FROM patients WHERE upper(mrn) = ?`, p.MRN).Scan(&n); err != nil {
				return Patient{}, fmt.Errorf("add patient: %w", err)
			}
			if n == 0 {
				break
			}
			if err := tx.conn.QueryRowContext(ctx, `SELECT nextval('patient_id_seq')`).Scan(&id); err != nil {
				return Patient{}, fmt.Errorf("add patient: %w", err)
			}
		}
	}
	if p.Status == "" {
		p.Status = StatusActive
	}
	now := tx.Now().UTC()
	_, err := tx.conn.ExecContext(ctx, `INSERT INTO patients (id, mrn, first_name, last_name, dob, sex, email, phone, city, language,
		marketing_consent, consent_changed_at, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false, NULL, ?, ?, ?)`,
		id, p.MRN, p.FirstName, p.LastName, nullTime(p.DOB), nullable(p.Sex), nullable(p.Email), nullable(p.Phone),
		nullable(p.City), nullable(p.Language), string(p.Status), now, now)
	if err != nil {
		if strings.Contains(err.Error(), "Duplicate key") || strings.Contains(err.Error(), "unique") {
			return Patient{}, errors.New("add patient: that MRN belongs to another patient already; choose another, or leave it out to have one generated")
		}
		return Patient{}, fmt.Errorf("add patient: %w", err)
	}
	tx.Touch(id)
	tx.AddRows(1)
	return tx.PatientByID(ctx, id)
}

// PatientUpdate is what an edit changes: each non-nil field is set, an
// empty string clearing it.
type PatientUpdate struct {
	Email, Phone, City, Language *string
	Status                       *Status
}

// UpdatePatient writes u to one patient.
func (tx *Tx) UpdatePatient(ctx context.Context, id int64, u PatientUpdate) error {
	var sets []string
	var args []any
	for _, f := range []struct {
		col string
		v   *string
	}{{"email", u.Email}, {"phone", u.Phone}, {"city", u.City}, {"language", u.Language}} {
		if f.v != nil {
			sets = append(sets, f.col+" = ?")
			args = append(args, nullable(*f.v))
		}
	}
	if u.Status != nil {
		if !u.Status.Valid() {
			return fmt.Errorf("update patient: unknown status %q", *u.Status)
		}
		sets = append(sets, "status = ?")
		args = append(args, string(*u.Status))
	}
	if len(sets) == 0 {
		return errors.New("update patient: nothing to change")
	}
	sets = append(sets, "updated_at = ?")
	args = append(args, tx.Now().UTC(), id)
	res, err := tx.conn.ExecContext(ctx, `UPDATE patients SET `+strings.Join(sets, ", ")+` WHERE id = ?`, args...)
	if err != nil {
		return fmt.Errorf("update patient: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("update patient %d: %w", id, ErrNotFound)
	}
	tx.Touch(id)
	tx.AddRows(1)
	return nil
}

// DuplicateKey says why a patient may be the same person as a new record:
// the keys a migration merges on (migrate/resolve.go), and the name with
// the date of birth.
type DuplicateKey string

const (
	DupNameDOB DuplicateKey = "name and date of birth"
	DupEmail   DuplicateKey = "email"
	DupPhone   DuplicateKey = "phone"
)

// Duplicate is an existing patient a new record matches, and on what.
type Duplicate struct {
	Patient Patient
	Keys    []DuplicateKey
}

// LikelyDuplicates finds the patients a new record with these values may
// be: the same first and last name (case and accents ignored) and date of
// birth, the same email (case ignored), or the same phone digits. Empty
// values match nothing.
func (r Reader) LikelyDuplicates(ctx context.Context, first, last string, dob time.Time, email, phone string) ([]Duplicate, error) {
	var conds []string
	var args []any
	if first != "" && last != "" && !dob.IsZero() {
		conds = append(conds, "("+normalized("p.first_name")+" = "+normalized("?")+" AND "+normalized("p.last_name")+" = "+
			normalized("?")+" AND p.dob = ?::DATE)")
		args = append(args, first, last, dateOnly(dob))
	}
	if email != "" {
		conds = append(conds, "lower(p.email) = lower(?)")
		args = append(args, email)
	}
	if phone != "" {
		conds = append(conds, "p.phone = ?")
		args = append(args, phone)
	}
	if len(conds) == 0 {
		return nil, nil
	}
	ps, err := r.queryPatients(ctx, "look for duplicates", patientList(strings.Join(conds, " OR "), 0), args...)
	if err != nil {
		return nil, err
	}
	out := make([]Duplicate, len(ps))
	for i, p := range ps {
		out[i].Patient = p
		if first != "" && !dob.IsZero() && p.DOB.Equal(dob) && foldEqual(p.FirstName, first) && foldEqual(p.LastName, last) {
			out[i].Keys = append(out[i].Keys, DupNameDOB)
		}
		if email != "" && strings.EqualFold(p.Email, email) {
			out[i].Keys = append(out[i].Keys, DupEmail)
		}
		if phone != "" && p.Phone == phone {
			out[i].Keys = append(out[i].Keys, DupPhone)
		}
		if len(out[i].Keys) == 0 {
			// Equal only once accents are stripped: the name and date
			// of birth it matched on.
			out[i].Keys = []DuplicateKey{DupNameDOB}
		}
	}
	return out, nil
}

func foldEqual(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// MergeCounts says what a merge moved onto the record kept.
type MergeCounts struct {
	Tags, Appointments, Interactions, Tasks, ConsentEvents int
}

// MergePatients merges other into keep: other's tags (those keep lacks),
// appointments, interactions, tasks and consent history move to keep, the
// fields in fill are written to keep (blanks other could fill, chosen by
// the caller), keep takes other's marketing consent when other's decision
// is the later known one, and other is deleted. The caller shows and
// audits what it fills.
func (tx *Tx) MergePatients(ctx context.Context, keep, other Patient, fill PatientFill) (MergeCounts, error) {
	var c MergeCounts
	if keep.ID == other.ID {
		return c, errors.New("merge: a patient cannot be merged into themselves")
	}
	steps := []struct {
		n    *int
		q    string
		args []any
	}{
		{&c.Tags, `INSERT INTO patient_tags (patient_id, tag_id, added_by, added_at)
			SELECT ?, tag_id, added_by, added_at FROM patient_tags WHERE patient_id = ?
			AND tag_id NOT IN (SELECT tag_id FROM patient_tags WHERE patient_id = ?)`, []any{keep.ID, other.ID, keep.ID}},
		{nil, `DELETE FROM patient_tags WHERE patient_id = ?`, []any{other.ID}},
		{&c.Appointments, `UPDATE appointments SET patient_id = ? WHERE patient_id = ?`, []any{keep.ID, other.ID}},
		{&c.Interactions, `UPDATE interactions SET patient_id = ? WHERE patient_id = ?`, []any{keep.ID, other.ID}},
		{&c.Tasks, `UPDATE tasks SET patient_id = ? WHERE patient_id = ?`, []any{keep.ID, other.ID}},
		{&c.ConsentEvents, `UPDATE consent_events SET patient_id = ? WHERE patient_id = ?`, []any{keep.ID, other.ID}},
	}
	for _, st := range steps {
		res, err := tx.conn.ExecContext(ctx, st.q, st.args...)
		if err != nil {
			return c, fmt.Errorf("merge: %w", err)
		}
		n, _ := res.RowsAffected()
		if st.n != nil {
			*st.n = int(n)
		}
		tx.AddRows(int(n))
	}
	if err := tx.fillPatient(ctx, keep.ID, fill); err != nil {
		return c, err
	}
	if other.ConsentChangedAt.After(keep.ConsentChangedAt) && other.MarketingConsent != keep.MarketingConsent {
		if _, err := tx.conn.ExecContext(ctx, `UPDATE patients SET marketing_consent = ?, consent_changed_at = ? WHERE id = ?`,
			other.MarketingConsent, other.ConsentChangedAt.UTC(), keep.ID); err != nil {
			return c, fmt.Errorf("merge: %w", err)
		}
		if err := tx.addConsentEvent(ctx, keep.ID, other.MarketingConsent, other.ConsentChangedAt, SourceMerge); err != nil {
			return c, err
		}
	}
	if _, err := tx.conn.ExecContext(ctx, `DELETE FROM patients WHERE id = ?`, other.ID); err != nil {
		return c, fmt.Errorf("merge: %w", err)
	}
	tx.Touch(keep.ID, other.ID)
	tx.AddRows(2)
	return c, nil
}

// PatientFill is the blanks of a kept record a merge fills: each non-empty
// field is written.
type PatientFill struct {
	DOB                               time.Time
	Sex, Email, Phone, City, Language string
}

func (tx *Tx) fillPatient(ctx context.Context, id int64, f PatientFill) error {
	var sets []string
	var args []any
	if !f.DOB.IsZero() {
		sets, args = append(sets, "dob = ?::DATE"), append(args, dateOnly(f.DOB))
	}
	for _, v := range []struct{ col, val string }{{"sex", f.Sex}, {"email", f.Email}, {"phone", f.Phone}, {"city", f.City}, {"language", f.Language}} {
		if v.val != "" {
			sets, args = append(sets, v.col+" = ?"), append(args, v.val)
		}
	}
	sets, args = append(sets, "updated_at = ?"), append(args, tx.Now().UTC(), id)
	if _, err := tx.conn.ExecContext(ctx, `UPDATE patients SET `+strings.Join(sets, ", ")+` WHERE id = ?`, args...); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	return nil
}
