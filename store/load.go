package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// The Load methods are the fast path for writing many new rows at once, such
// as a generated demo practice: rows go straight into the final tables
// through DuckDB's appender, with no staging table, no matching and no
// updates. Ids come from the tables' own sequences, so that later inserts
// carry on after them. Like every write, they run inside a Tx and commit or
// roll back with it.

// LoadPatients inserts new patients, with their tags, and returns the ids
// they were given, in the order of rows. Unlike UpsertPatients it never
// updates: an MRN that is already taken fails the load. Missing tags are
// created. Zero CreatedAt and UpdatedAt mean the transaction's clock; an
// empty Status means active.
func (tx *Tx) LoadPatients(ctx context.Context, rows []Patient) ([]int64, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	ids, err := tx.reserveIDs(ctx, "patient_id_seq", len(rows))
	if err != nil {
		return nil, fmt.Errorf("load patients: %w", err)
	}
	now := tx.Now().UTC()
	cols := []string{"id", "mrn", "first_name", "last_name", "dob", "sex", "email", "phone", "city", "language",
		"marketing_consent", "consent_changed_at", "status", "created_at", "updated_at"}
	err = tx.appendColumns(ctx, "patients", cols, len(rows), func(a *duckdb.Appender, i int) error {
		p := rows[i]
		status := p.Status
		if status == "" {
			status = StatusActive
		}
		created, updated := p.CreatedAt, p.UpdatedAt
		if created.IsZero() {
			created = now
		}
		if updated.IsZero() {
			updated = created
		}
		return a.AppendRow(ids[i], p.MRN, p.FirstName, p.LastName, nullTime(p.DOB), nullable(p.Sex), nullable(p.Email),
			nullable(p.Phone), nullable(p.City), nullable(p.Language), p.MarketingConsent, nullTime(p.ConsentChangedAt),
			string(status), created, updated)
	})
	if err != nil {
		return nil, fmt.Errorf("load patients: %w", err)
	}
	links, err := tx.loadPatientTags(ctx, rows, ids, now)
	if err != nil {
		return nil, fmt.Errorf("load patients: %w", err)
	}
	// The consent history starts where a loaded record stands, as an
	// import's does.
	if _, err := tx.conn.ExecContext(ctx, `INSERT INTO consent_events (patient_id, marketing, changed_at, source, staff, recorded_at)
		SELECT id, marketing_consent, consent_changed_at, 'import', ?, ? FROM patients
		WHERE id IN (SELECT unnest(?::BIGINT[])) AND (marketing_consent OR consent_changed_at IS NOT NULL) ORDER BY id`,
		tx.Actor(), now, ids); err != nil {
		return nil, fmt.Errorf("load patients: consent history: %w", err)
	}
	tx.Touch(ids...)
	tx.AddRows(len(rows) + links)
	return ids, nil
}

// loadPatientTags creates the tags rows name that do not exist yet and links
// each row's patient to its tags. It returns the number of links.
func (tx *Tx) loadPatientTags(ctx context.Context, rows []Patient, ids []int64, now time.Time) (int, error) {
	var names []string
	for _, p := range rows {
		names = append(names, p.Tags...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) == 0 {
		return 0, nil
	}
	for _, name := range names {
		if !ValidTagName(name) {
			return 0, fmt.Errorf("tag %q is not lowercase-kebab (like refill-overdue)", name)
		}
	}
	if _, err := tx.conn.ExecContext(ctx, `INSERT INTO tags (name, created_at)
		SELECT t, ? FROM (SELECT unnest(?::VARCHAR[]) AS t) WHERE t NOT IN (SELECT name FROM tags) ORDER BY t`, now, names); err != nil {
		return 0, fmt.Errorf("create tags: %w", err)
	}
	tagIDs, err := tx.tagIDs(ctx, names)
	if err != nil {
		return 0, err
	}
	type link struct{ patient, tag int64 }
	var links []link
	for i, p := range rows {
		tags := slices.Clone(p.Tags)
		slices.Sort(tags)
		for _, t := range slices.Compact(tags) {
			links = append(links, link{ids[i], tagIDs[t]})
		}
	}
	err = tx.appendColumns(ctx, "patient_tags", []string{"patient_id", "tag_id", "added_by", "added_at"}, len(links),
		func(a *duckdb.Appender, i int) error {
			return a.AppendRow(links[i].patient, links[i].tag, tx.Actor(), now)
		})
	if err != nil {
		return 0, fmt.Errorf("link tags: %w", err)
	}
	return len(links), nil
}

func (tx *Tx) tagIDs(ctx context.Context, names []string) (map[string]int64, error) {
	rows, err := tx.conn.QueryContext(ctx, `SELECT name, id FROM tags WHERE list_contains(?::VARCHAR[], name)`, names)
	if err != nil {
		return nil, fmt.Errorf("read tag ids: %w", err)
	}
	defer rows.Close()
	out := make(map[string]int64, len(names))
	for rows.Next() {
		var name string
		var id int64
		if err := rows.Scan(&name, &id); err != nil {
			return nil, fmt.Errorf("read tag ids: %w", err)
		}
		out[name] = id
	}
	return out, rows.Err()
}

// LoadAppointments inserts new appointments. Each row names its patient by
// PatientID (PatientMRN is ignored), and every such patient must exist. An
// ExternalID that is already taken fails the load; an empty one is stored
// as NULL.
func (tx *Tx) LoadAppointments(ctx context.Context, rows []Appointment) error {
	if len(rows) == 0 {
		return nil
	}
	patients := make([]int64, len(rows))
	for i, r := range rows {
		patients[i] = r.PatientID
	}
	patients, err := tx.requireKnownPatients(ctx, patients)
	if err != nil {
		return fmt.Errorf("load appointments: %w", err)
	}
	ids, err := tx.reserveIDs(ctx, "appointment_id_seq", len(rows))
	if err != nil {
		return fmt.Errorf("load appointments: %w", err)
	}
	cols := []string{"id", "external_id", "patient_id", "starts_at", "type", "provider", "status"}
	err = tx.appendColumns(ctx, "appointments", cols, len(rows), func(a *duckdb.Appender, i int) error {
		r := rows[i]
		return a.AppendRow(ids[i], nullable(r.ExternalID), r.PatientID, Wall(r.StartsAt), r.Type, r.Provider, string(r.Status))
	})
	if err != nil {
		return fmt.Errorf("load appointments: %w", err)
	}
	tx.Touch(patients...)
	tx.AddRows(len(rows))
	return nil
}

// LoadInteractions inserts new interactions. Each row names its patient by
// PatientID (PatientMRN is ignored), and every such patient must exist. An
// ExternalID that is already taken fails the load; an empty one is stored
// as NULL.
func (tx *Tx) LoadInteractions(ctx context.Context, rows []Interaction) error {
	if len(rows) == 0 {
		return nil
	}
	patients := make([]int64, len(rows))
	for i, r := range rows {
		patients[i] = r.PatientID
	}
	patients, err := tx.requireKnownPatients(ctx, patients)
	if err != nil {
		return fmt.Errorf("load interactions: %w", err)
	}
	ids, err := tx.reserveIDs(ctx, "interaction_id_seq", len(rows))
	if err != nil {
		return fmt.Errorf("load interactions: %w", err)
	}
	cols := []string{"id", "external_id", "patient_id", "occurred_at", "channel", "direction", "staff", "summary"}
	err = tx.appendColumns(ctx, "interactions", cols, len(rows), func(a *duckdb.Appender, i int) error {
		r := rows[i]
		return a.AppendRow(ids[i], nullable(r.ExternalID), r.PatientID, Wall(r.At), string(r.Channel), string(r.Direction), r.Staff, r.Summary)
	})
	if err != nil {
		return fmt.Errorf("load interactions: %w", err)
	}
	tx.Touch(patients...)
	tx.AddRows(len(rows))
	return nil
}

// requireKnownPatients refuses patient ids that name no patient: with no
// foreign keys in the schema, nothing else would. It returns the distinct
// ids, sorted.
func (tx *Tx) requireKnownPatients(ctx context.Context, ids []int64) ([]int64, error) {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var unknown int
	if err := tx.conn.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT unnest(?::BIGINT[]) AS id) s
		WHERE s.id NOT IN (SELECT id FROM patients)`, ids).Scan(&unknown); err != nil {
		return nil, fmt.Errorf("check patient ids: %w", err)
	}
	if unknown > 0 {
		return nil, fmt.Errorf("%d rows name a patient id that is not in the database; load the patients first", unknown)
	}
	return ids, nil
}

// reserveIDs draws n values from the sequence seq (one of ours, never user
// input) in one statement and returns them in ascending order. Drawing them
// here rather than through column defaults is what lets LoadPatients return
// each row's id.
func (tx *Tx) reserveIDs(ctx context.Context, seq string, n int) ([]int64, error) {
	var vals []any
	if err := tx.conn.QueryRowContext(ctx,
		`SELECT list(v ORDER BY v) FROM (SELECT nextval('`+seq+`') AS v FROM range(?))`, n).Scan(&vals); err != nil {
		return nil, fmt.Errorf("reserve ids from %s: %w", seq, err)
	}
	ids := make([]int64, len(vals))
	for i, v := range vals {
		id, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("reserve ids from %s: got %T", seq, v)
		}
		ids[i] = id
	}
	if len(ids) != n {
		return nil, fmt.Errorf("reserve ids from %s: got %d, want %d", seq, len(ids), n)
	}
	return ids, nil
}

// appendColumns streams n rows into the named columns of a table through
// DuckDB's appender, on the transaction's connection. Naming the columns
// keeps it working when a later migration adds one with a default.
func (tx *Tx) appendColumns(ctx context.Context, table string, cols []string, n int, row func(*duckdb.Appender, int) error) error {
	return tx.conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppenderWithColumns(dc.(driver.Conn), "", "", table, cols)
		if err != nil {
			return err
		}
		for i := range n {
			if i%4096 == 0 {
				if err := ctx.Err(); err != nil {
					a.Close()
					return err
				}
			}
			if err := row(a, i); err != nil {
				a.Close()
				return fmt.Errorf("row %d: %w", i+1, err)
			}
		}
		return a.CloseWithCancel(ctx)
	})
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
