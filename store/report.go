package store

import (
	"context"
	"fmt"
	"time"
)

// Tally is one cell of a report: how many rows fall under Key (and Sub, for
// a two-way count). It is an aggregate and names no patient.
type Tally struct {
	Key   string `json:"key"`
	Sub   string `json:"sub,omitempty"`
	Count int    `json:"count"`
}

// MonthKey is how a report names a calendar month: "2026-05".
const MonthKey = "2006-01"

// monthBuckets lists the calendar months from from (a first of the month)
// up to to (exclusive; the last bucket ends at to, so a period that ends
// mid-month gets a partial last month), as a key and bounds. wall chooses
// wall-clock bounds (appointments, interactions) or instants (created_at,
// consent_changed_at, which the store keeps in UTC).
func monthBuckets(from, to time.Time, wall bool) (keys, lo, hi []string) {
	const ts = "2006-01-02 15:04:05.999999"
	bound := func(t time.Time) string {
		if wall {
			return Wall(t).Format(ts)
		}
		return t.UTC().Format(ts)
	}
	for m := from; m.Before(to); m = m.AddDate(0, 1, 0) {
		end := m.AddDate(0, 1, 0)
		if end.After(to) {
			end = to
		}
		keys = append(keys, m.Format(MonthKey))
		lo = append(lo, bound(m))
		hi = append(hi, bound(end))
	}
	return keys, lo, hi
}

// bucketsSQL is a table of month buckets (k, lo, hi) from three bound lists.
// Bounds are joined as ranges rather than by formatting each row's month,
// so that months of instant columns start at the practice's local midnight,
// not at UTC's.
const bucketsSQL = `(SELECT unnest(?::VARCHAR[]) AS k, unnest(?::VARCHAR[])::TIMESTAMP AS lo, unnest(?::VARCHAR[])::TIMESTAMP AS hi)`

// ReportAppointmentsByMonth counts appointments starting in each month from
// from to to by status (Key the month, Sub the status).
func (r Reader) ReportAppointmentsByMonth(ctx context.Context, from, to time.Time) ([]Tally, error) {
	keys, lo, hi := monthBuckets(from, to, true)
	return r.tallies(ctx, "report appointments by month", `SELECT b.k, a.status, count(*) FROM `+bucketsSQL+` b
		JOIN appointments a ON a.starts_at >= b.lo AND a.starts_at < b.hi GROUP BY ALL ORDER BY 1, 2`, keys, lo, hi)
}

// ReportAppointmentsByProvider counts appointments starting in [from, to)
// by provider and status. Provider names are staff, not patient data.
func (r Reader) ReportAppointmentsByProvider(ctx context.Context, from, to time.Time) ([]Tally, error) {
	return r.tallies(ctx, "report appointments by provider", `SELECT provider, status, count(*) FROM appointments
		WHERE starts_at >= ? AND starts_at < ? GROUP BY ALL ORDER BY 1, 2`, Wall(from), Wall(to))
}

// ReportAppointmentsByStatus counts appointments starting in [from, to) by
// status (Key the status).
func (r Reader) ReportAppointmentsByStatus(ctx context.Context, from, to time.Time) ([]Tally, error) {
	return r.tallies(ctx, "report appointments by status", `SELECT status, '', count(*) FROM appointments
		WHERE starts_at >= ? AND starts_at < ? GROUP BY ALL ORDER BY 1`, Wall(from), Wall(to))
}

// ReportNewPatientsByMonth counts patients created (patients.created_at) in
// each month from from to to.
func (r Reader) ReportNewPatientsByMonth(ctx context.Context, from, to time.Time) ([]Tally, error) {
	keys, lo, hi := monthBuckets(from, to, false)
	return r.tallies(ctx, "report new patients", `SELECT b.k, '', count(*) FROM `+bucketsSQL+` b
		JOIN patients p ON p.created_at >= b.lo AND p.created_at < b.hi GROUP BY ALL ORDER BY 1`, keys, lo, hi)
}

// ReportContacts counts interactions in [from, to) by channel and direction.
func (r Reader) ReportContacts(ctx context.Context, from, to time.Time) ([]Tally, error) {
	return r.tallies(ctx, "report contacts", `SELECT channel, direction, count(*) FROM interactions
		WHERE occurred_at >= ? AND occurred_at < ? GROUP BY ALL ORDER BY 1, 2`, Wall(from), Wall(to))
}

// ReportActiveTags counts active patients per tag, the limit largest tags
// first (ties by name). Tags keep no history, so this is today's picture
// whatever period the report covers.
func (r Reader) ReportActiveTags(ctx context.Context, limit int) ([]Tally, error) {
	return r.tallies(ctx, "report tags", `SELECT t.name, '', count(*) FROM patient_tags pt
		JOIN tags t ON t.id = pt.tag_id JOIN patients p ON p.id = pt.patient_id
		WHERE p.status = 'active' GROUP BY ALL ORDER BY 3 DESC, 1 LIMIT ?`, limit)
}

// ReportConsentChanges counts patients whose marketing consent last changed
// (consent_changed_at) in each month from from to to: Sub "in" when they
// consent now, "out" when they do not. Only the latest change of each
// patient is kept, so an earlier change of someone who changed twice is not
// counted.
func (r Reader) ReportConsentChanges(ctx context.Context, from, to time.Time) ([]Tally, error) {
	keys, lo, hi := monthBuckets(from, to, false)
	return r.tallies(ctx, "report consent changes", `SELECT b.k, CASE WHEN p.marketing_consent THEN 'in' ELSE 'out' END, count(*)
		FROM `+bucketsSQL+` b JOIN patients p ON p.consent_changed_at >= b.lo AND p.consent_changed_at < b.hi
		GROUP BY ALL ORDER BY 1, 2`, keys, lo, hi)
}

// ReportConsentStanding counts active patients who consent to marketing
// ("in") and who do not ("out"), today.
func (r Reader) ReportConsentStanding(ctx context.Context) ([]Tally, error) {
	return r.tallies(ctx, "report consent", `SELECT CASE WHEN marketing_consent THEN 'in' ELSE 'out' END, '', count(*)
		FROM patients WHERE status = 'active' GROUP BY ALL ORDER BY 1`)
}

// Recall tallies' Sub: how a recall task stood at the end of a period.
const (
	// RecallDone is a recall task due in the period and done by its end.
	RecallDone = "done"
	// RecallOverdue is a recall task due in the period and open at its end.
	RecallOverdue = "overdue"
	// RecallEarlier is a recall task due before the period and still open
	// at its end.
	RecallEarlier = "earlier"
)

// ReportRecallTasks counts recall tasks (kind recall) as they stood at to,
// the end of the period [from, to), by their text (Key: the recall's
// reason, the same for every patient it was made for) and Sub: RecallDone
// and RecallOverdue for those due in the period, done by its end or still
// open then; RecallEarlier for those due before it and still open at its
// end. Due days are the practice's calendar days (from's and to's dates);
// done_at and created_at are instants, kept in UTC. A task made after the
// period's end did not stand then, and is not counted; one reopened is open
// (the table keeps no history of it).
func (r Reader) ReportRecallTasks(ctx context.Context, from, to time.Time) ([]Tally, error) {
	return r.tallies(ctx, "report recall tasks", `SELECT text,
			CASE WHEN due < $1::DATE THEN '`+RecallEarlier+`'
				WHEN done_at IS NOT NULL AND done_at < $3 THEN '`+RecallDone+`'
				ELSE '`+RecallOverdue+`' END,
			count(*)
		FROM tasks
		WHERE kind = '`+string(KindRecall)+`' AND due < $2::DATE AND created_at < $3
			AND (due >= $1::DATE OR done_at IS NULL OR done_at >= $3)
		GROUP BY ALL ORDER BY 1, 2`, dateOnly(from), dateOnly(to), Wall(to.UTC()))
}

func (r Reader) tallies(ctx context.Context, what, q string, args ...any) ([]Tally, error) {
	rows, err := r.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	out := []Tally{}
	for rows.Next() {
		var t Tally
		if err := rows.Scan(&t.Key, &t.Sub, &t.Count); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
