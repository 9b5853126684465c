package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// ConsentSource is how a consent decision reached the practice.
type ConsentSource string

const (
	SourcePhone  ConsentSource = "phone"
	SourceEmail  ConsentSource = "email"
	SourceForm   ConsentSource = "form"
	SourcePortal ConsentSource = "portal"
	// SourceImport is a decision an import or a migration carried.
	SourceImport ConsentSource = "import"
	// SourceMerge is a merged record's decision, kept on the record it was
	// merged into.
	SourceMerge ConsentSource = "merge"
)

// StaffSources are the sources staff record a decision from.
var StaffSources = []ConsentSource{SourcePhone, SourceEmail, SourceForm, SourcePortal}

// Valid reports whether s is a source staff may record.
func (s ConsentSource) Valid() bool { return slices.Contains(StaffSources, s) }

// ConsentEvent is one change of a patient's marketing consent.
type ConsentEvent struct {
	Marketing bool
	// At is when the patient decided; zero when not known (an import
	// without a consent date).
	At         time.Time
	Source     ConsentSource
	Staff      string
	RecordedAt time.Time
}

// SetConsent records a patient's marketing decision, made at at through
// source, by this unit's actor. The patient's consent and its date change
// at once, so that the marketing export honours it from the next read; a
// decision that repeats the current one (a renewed opt-in on a form) is
// recorded in the history and leaves the date of the last change as it is.
func (tx *Tx) SetConsent(ctx context.Context, id int64, marketing bool, at time.Time, source ConsentSource) error {
	if !source.Valid() {
		return fmt.Errorf("record consent: unknown source %q", source)
	}
	res, err := tx.conn.ExecContext(ctx, `UPDATE patients SET marketing_consent = ?,
		consent_changed_at = CASE WHEN marketing_consent IS DISTINCT FROM ? THEN ? ELSE consent_changed_at END, updated_at = ?
		WHERE id = ?`, marketing, marketing, at.UTC(), tx.Now().UTC(), id)
	if err != nil {
		return fmt.Errorf("record consent: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("record consent: patient %d: %w", id, ErrNotFound)
	}
	if err := tx.addConsentEvent(ctx, id, marketing, at, source); err != nil {
		return err
	}
	tx.Touch(id)
	tx.AddRows(2)
	return nil
}

func (tx *Tx) addConsentEvent(ctx context.Context, id int64, marketing bool, at time.Time, source ConsentSource) error {
	_, err := tx.conn.ExecContext(ctx, `INSERT INTO consent_events (patient_id, marketing, changed_at, source, staff, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?)`, id, marketing, nullTime(utc(at)), string(source), tx.Actor(), tx.Now().UTC())
	if err != nil {
		return fmt.Errorf("record consent: %w", err)
	}
	return nil
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// ConsentHistory lists a patient's consent changes in the order they were
// recorded: a decision's own date may be unknown (an import without one)
// or earlier than one recorded before it (a form signed last week).
func (r Reader) ConsentHistory(ctx context.Context, id int64) ([]ConsentEvent, error) {
	h, err := r.consentHistories(ctx, `WHERE patient_id = ?`, id)
	return h[id], err
}

// ConsentHistories is every patient's consent history by patient id, in
// one read: what an evaluation compares before and after a request.
func (r Reader) ConsentHistories(ctx context.Context) (map[int64][]ConsentEvent, error) {
	return r.consentHistories(ctx, "")
}

func (r Reader) consentHistories(ctx context.Context, cond string, args ...any) (map[int64][]ConsentEvent, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT patient_id, marketing, changed_at, source, staff, recorded_at FROM consent_events `+
		cond+` ORDER BY patient_id, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read consent history: %w", err)
	}
	defer rows.Close()
	out := map[int64][]ConsentEvent{}
	for rows.Next() {
		var id int64
		var e ConsentEvent
		var at sql.NullTime
		var source string
		if err := rows.Scan(&id, &e.Marketing, &at, &source, &e.Staff, &e.RecordedAt); err != nil {
			return nil, fmt.Errorf("read consent history: %w", err)
		}
		e.At, e.Source = at.Time, ConsentSource(source)
		out[id] = append(out[id], e)
	}
	return out, rows.Err()
}
