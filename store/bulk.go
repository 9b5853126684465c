package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// PatientField names a patient column an import may fill.
type PatientField string

const (
	FieldFirstName        PatientField = "first_name"
	FieldLastName         PatientField = "last_name"
	FieldDOB              PatientField = "dob"
	FieldSex              PatientField = "sex"
	FieldEmail            PatientField = "email"
	FieldPhone            PatientField = "phone"
	FieldCity             PatientField = "city"
	FieldLanguage         PatientField = "language"
	FieldMarketingConsent PatientField = "marketing_consent"
	FieldStatus           PatientField = "status"
)

// UpsertStats says what an upsert did.
type UpsertStats struct {
	Inserted  int
	Updated   int
	Unchanged int
	TagLinks  int // patient-tag links added
}

// UpsertPatients inserts new patients and updates existing ones, matched by
// MRN. Only the fields listed are written to existing patients, so that a
// file without, say, dates of birth does not erase them. Tags are added,
// never removed. MRNs must be unique within rows.
//
// A row's ConsentChangedAt is when its consent was given or withdrawn, as
// the file says; zero when it does not say. It is stored for a new patient
// and for one whose consent this changes: never the import's own time,
// which is not when the patient decided.
func (tx *Tx) UpsertPatients(ctx context.Context, rows []Patient, fields []PatientField) (UpsertStats, error) {
	var stats UpsertStats
	if _, err := tx.conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE import_patients (
		mrn VARCHAR, first_name VARCHAR, last_name VARCHAR, dob DATE, sex VARCHAR, email VARCHAR, phone VARCHAR,
		city VARCHAR, language VARCHAR, marketing_consent BOOLEAN, consent_changed_at TIMESTAMP, status VARCHAR, tags VARCHAR[])`); err != nil {
		return stats, fmt.Errorf("import patients: %w", err)
	}
	defer tx.conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS import_patients`)
	err := tx.appendRows(ctx, "import_patients", len(rows), func(a *duckdb.Appender, i int) error {
		p := rows[i]
		status := string(p.Status)
		if status == "" {
			status = string(StatusActive)
		}
		tags := make([]any, len(p.Tags))
		for j, t := range p.Tags {
			tags[j] = t
		}
		var dob any
		if !p.DOB.IsZero() {
			dob = p.DOB
		}
		return a.AppendRow(p.MRN, p.FirstName, p.LastName, dob, nullable(p.Sex), nullable(p.Email), nullable(p.Phone),
			nullable(p.City), nullable(p.Language), p.MarketingConsent, nullTime(p.ConsentChangedAt), status, tags)
	})
	if err != nil {
		return stats, fmt.Errorf("import patients: %w", err)
	}

	now := tx.Now().UTC()
	if err := tx.conn.QueryRowContext(ctx, `SELECT
		count(*) FILTER (WHERE p.id IS NULL),
		count(*) FILTER (WHERE p.id IS NOT NULL AND (`+anyDistinct(fields, "p", "s")+`))
		FROM import_patients s LEFT JOIN patients p ON p.mrn = s.mrn`).Scan(&stats.Inserted, &stats.Updated); err != nil {
		return stats, fmt.Errorf("import patients: %w", err)
	}
	stats.Unchanged = len(rows) - stats.Inserted - stats.Updated

	// The consent history gets a row for each new patient and each one whose
	// consent this import changes, dated as the file says (or not at all),
	// read before the upsert overwrites what it was.
	consent := containsField(fields, FieldMarketingConsent)
	if consent {
		if _, err := tx.conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE import_consent AS
			SELECT s.mrn, s.marketing_consent, s.consent_changed_at FROM import_patients s LEFT JOIN patients p ON p.mrn = s.mrn
			WHERE p.id IS NULL OR p.marketing_consent IS DISTINCT FROM coalesce(s.marketing_consent, p.marketing_consent)`); err != nil {
			return stats, fmt.Errorf("import patients: %w", err)
		}
		defer tx.conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS import_consent`)
	}

	onConflict := "DO NOTHING"
	if len(fields) > 0 {
		sets := make([]string, 0, len(fields)+2)
		if containsField(fields, FieldMarketingConsent) {
			// Every right-hand side reads the old row, so this sees the
			// consent as it was before this update.
			sets = append(sets, `consent_changed_at = CASE WHEN patients.marketing_consent IS DISTINCT FROM excluded.marketing_consent
				THEN excluded.consent_changed_at ELSE patients.consent_changed_at END`)
		}
		for _, f := range fields {
			sets = append(sets, fmt.Sprintf("%[1]s = coalesce(excluded.%[1]s, patients.%[1]s)", f))
		}
		sets = append(sets, "updated_at = excluded.updated_at")
		onConflict = "DO UPDATE SET " + strings.Join(sets, ", ") + " WHERE " + anyDistinct(fields, "patients", "excluded")
	}
	upsert := `INSERT INTO patients (mrn, first_name, last_name, dob, sex, email, phone, city, language,
			marketing_consent, consent_changed_at, status, created_at, updated_at)
		SELECT mrn, coalesce(first_name, ''), coalesce(last_name, ''), dob, sex, email, phone, city, language,
			coalesce(marketing_consent, false), consent_changed_at, coalesce(status, 'active'), ?, ? FROM import_patients
		ON CONFLICT (mrn) ` + onConflict
	if _, err := tx.conn.ExecContext(ctx, upsert, now, now); err != nil {
		return stats, fmt.Errorf("import patients: %w", err)
	}

	if consent {
		if _, err := tx.conn.ExecContext(ctx, `INSERT INTO consent_events (patient_id, marketing, changed_at, source, staff, recorded_at)
			SELECT p.id, coalesce(c.marketing_consent, false), c.consent_changed_at, 'import', ?, ? FROM import_consent c
			JOIN patients p ON p.mrn = c.mrn ORDER BY p.id`, tx.Actor(), now); err != nil {
			return stats, fmt.Errorf("import patients: consent history: %w", err)
		}
	}

	// Tags: create the missing ones, then link.
	if _, err := tx.conn.ExecContext(ctx, `INSERT INTO tags (name, created_at)
		SELECT DISTINCT t, ? FROM (SELECT unnest(tags) AS t FROM import_patients) WHERE t NOT IN (SELECT name FROM tags)`, now); err != nil {
		return stats, fmt.Errorf("import patients: create tags: %w", err)
	}
	res, err := tx.conn.ExecContext(ctx, `INSERT INTO patient_tags (patient_id, tag_id, added_by, added_at)
		SELECT DISTINCT p.id, t.id, ?, ? FROM (SELECT mrn, unnest(tags) AS tag FROM import_patients) s
		JOIN patients p ON p.mrn = s.mrn JOIN tags t ON t.name = s.tag
		ON CONFLICT DO NOTHING`, tx.Actor(), now)
	if err != nil {
		return stats, fmt.Errorf("import patients: link tags: %w", err)
	}
	n, _ := res.RowsAffected()
	stats.TagLinks = int(n)

	ids, err := tx.idList(ctx, `SELECT p.id FROM patients p JOIN import_patients s ON s.mrn = p.mrn`)
	if err != nil {
		return stats, fmt.Errorf("import patients: %w", err)
	}
	tx.Touch(ids...)
	tx.AddRows(stats.Inserted + stats.Updated + stats.TagLinks)
	return stats, nil
}

// anyDistinct is true when any of fields differs between the stored row a
// and the imported row b. A blank cell in b (NULL) never counts: an export's
// empty cell means "not known there", and must not erase what the practice
// has.
func anyDistinct(fields []PatientField, a, b string) string {
	if len(fields) == 0 {
		return "false"
	}
	conds := make([]string, len(fields))
	for i, f := range fields {
		conds[i] = fmt.Sprintf("(%[3]s.%[1]s IS NOT NULL AND %[2]s.%[1]s IS DISTINCT FROM %[3]s.%[1]s)", f, a, b)
	}
	return strings.Join(conds, " OR ")
}

func containsField(fields []PatientField, f PatientField) bool {
	for _, x := range fields {
		if x == f {
			return true
		}
	}
	return false
}

// UpsertAppointments inserts or updates appointments by external id. Every
// PatientMRN must exist: check with UnknownMRNs first.
func (tx *Tx) UpsertAppointments(ctx context.Context, rows []Appointment) (UpsertStats, error) {
	var stats UpsertStats
	if _, err := tx.conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE import_appointments (
		external_id VARCHAR, mrn VARCHAR, starts_at TIMESTAMP, type VARCHAR, provider VARCHAR, status VARCHAR)`); err != nil {
		return stats, fmt.Errorf("import appointments: %w", err)
	}
	defer tx.conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS import_appointments`)
	err := tx.appendRows(ctx, "import_appointments", len(rows), func(a *duckdb.Appender, i int) error {
		r := rows[i]
		return a.AppendRow(r.ExternalID, r.PatientMRN, Wall(r.StartsAt), r.Type, r.Provider, string(r.Status))
	})
	if err != nil {
		return stats, fmt.Errorf("import appointments: %w", err)
	}
	if err := tx.requireKnownMRNs(ctx, "import_appointments"); err != nil {
		return stats, fmt.Errorf("import appointments: %w", err)
	}
	if err := tx.conn.QueryRowContext(ctx, `SELECT
		count(*) FILTER (WHERE a.id IS NULL),
		count(*) FILTER (WHERE a.id IS NOT NULL AND (a.patient_id IS DISTINCT FROM p.id OR a.starts_at IS DISTINCT FROM s.starts_at
			OR a.type IS DISTINCT FROM s.type OR a.provider IS DISTINCT FROM s.provider OR a.status IS DISTINCT FROM s.status))
		FROM import_appointments s JOIN patients p ON p.mrn = s.mrn LEFT JOIN appointments a ON a.external_id = s.external_id`).
		Scan(&stats.Inserted, &stats.Updated); err != nil {
		return stats, fmt.Errorf("import appointments: %w", err)
	}
	stats.Unchanged = len(rows) - stats.Inserted - stats.Updated
	if _, err := tx.conn.ExecContext(ctx, `INSERT INTO appointments (external_id, patient_id, starts_at, type, provider, status)
		SELECT s.external_id, p.id, s.starts_at, s.type, s.provider, s.status
		FROM import_appointments s JOIN patients p ON p.mrn = s.mrn
		ON CONFLICT (external_id) DO UPDATE SET patient_id = excluded.patient_id, starts_at = excluded.starts_at,
			type = excluded.type, provider = excluded.provider, status = excluded.status
		WHERE appointments.patient_id IS DISTINCT FROM excluded.patient_id OR appointments.starts_at IS DISTINCT FROM excluded.starts_at
			OR appointments.type IS DISTINCT FROM excluded.type OR appointments.provider IS DISTINCT FROM excluded.provider
			OR appointments.status IS DISTINCT FROM excluded.status`); err != nil {
		return stats, fmt.Errorf("import appointments: %w", err)
	}
	if err := tx.touchImported(ctx, "import_appointments"); err != nil {
		return stats, fmt.Errorf("import appointments: %w", err)
	}
	tx.AddRows(stats.Inserted + stats.Updated)
	return stats, nil
}

// UpsertInteractions inserts or updates interactions by external id. Every
// PatientMRN must exist: check with UnknownMRNs first.
func (tx *Tx) UpsertInteractions(ctx context.Context, rows []Interaction) (UpsertStats, error) {
	var stats UpsertStats
	if _, err := tx.conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE import_interactions (
		external_id VARCHAR, mrn VARCHAR, occurred_at TIMESTAMP, channel VARCHAR, direction VARCHAR, staff VARCHAR, summary VARCHAR)`); err != nil {
		return stats, fmt.Errorf("import interactions: %w", err)
	}
	defer tx.conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS import_interactions`)
	err := tx.appendRows(ctx, "import_interactions", len(rows), func(a *duckdb.Appender, i int) error {
		r := rows[i]
		return a.AppendRow(r.ExternalID, r.PatientMRN, Wall(r.At), string(r.Channel), string(r.Direction), r.Staff, r.Summary)
	})
	if err != nil {
		return stats, fmt.Errorf("import interactions: %w", err)
	}
	if err := tx.requireKnownMRNs(ctx, "import_interactions"); err != nil {
		return stats, fmt.Errorf("import interactions: %w", err)
	}
	if err := tx.conn.QueryRowContext(ctx, `SELECT
		count(*) FILTER (WHERE i.id IS NULL),
		count(*) FILTER (WHERE i.id IS NOT NULL AND (i.patient_id IS DISTINCT FROM p.id OR i.occurred_at IS DISTINCT FROM s.occurred_at
			OR i.channel IS DISTINCT FROM s.channel OR i.direction IS DISTINCT FROM s.direction
			OR i.staff IS DISTINCT FROM s.staff OR i.summary IS DISTINCT FROM s.summary))
		FROM import_interactions s JOIN patients p ON p.mrn = s.mrn LEFT JOIN interactions i ON i.external_id = s.external_id`).
		Scan(&stats.Inserted, &stats.Updated); err != nil {
		return stats, fmt.Errorf("import interactions: %w", err)
	}
	stats.Unchanged = len(rows) - stats.Inserted - stats.Updated
	if _, err := tx.conn.ExecContext(ctx, `INSERT INTO interactions (external_id, patient_id, occurred_at, channel, direction, staff, summary)
		SELECT s.external_id, p.id, s.occurred_at, s.channel, s.direction, s.staff, s.summary
		FROM import_interactions s JOIN patients p ON p.mrn = s.mrn
		ON CONFLICT (external_id) DO UPDATE SET patient_id = excluded.patient_id, occurred_at = excluded.occurred_at, channel = excluded.channel,
			direction = excluded.direction, staff = excluded.staff, summary = excluded.summary
		WHERE interactions.patient_id IS DISTINCT FROM excluded.patient_id OR interactions.occurred_at IS DISTINCT FROM excluded.occurred_at
			OR interactions.channel IS DISTINCT FROM excluded.channel OR interactions.direction IS DISTINCT FROM excluded.direction
			OR interactions.staff IS DISTINCT FROM excluded.staff OR interactions.summary IS DISTINCT FROM excluded.summary`); err != nil {
		return stats, fmt.Errorf("import interactions: %w", err)
	}
	if err := tx.touchImported(ctx, "import_interactions"); err != nil {
		return stats, fmt.Errorf("import interactions: %w", err)
	}
	tx.AddRows(stats.Inserted + stats.Updated)
	return stats, nil
}

func (tx *Tx) touchImported(ctx context.Context, staging string) error {
	ids, err := tx.idList(ctx, `SELECT DISTINCT p.id FROM patients p JOIN `+staging+` s ON s.mrn = p.mrn`)
	if err != nil {
		return err
	}
	tx.Touch(ids...)
	return nil
}

// requireKnownMRNs refuses staged rows naming a patient that does not
// exist: the upsert's join would otherwise drop them without a word.
func (tx *Tx) requireKnownMRNs(ctx context.Context, staging string) error {
	var n int
	if err := tx.conn.QueryRowContext(ctx, `SELECT count(*) FROM `+staging+` WHERE mrn NOT IN (SELECT mrn FROM patients)`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%d rows name a patient MRN that is not in the database; import the patients first", n)
	}
	return nil
}

// UnknownMRNs returns the MRNs among mrns that no patient has.
func (r Reader) UnknownMRNs(ctx context.Context, mrns []string) (map[string]bool, error) {
	unknown, err := r.strings(ctx, `SELECT m FROM (SELECT DISTINCT unnest(?::VARCHAR[]) AS m) WHERE m NOT IN (SELECT mrn FROM patients)`, mrns)
	if err != nil {
		return nil, fmt.Errorf("check MRNs: %w", err)
	}
	out := make(map[string]bool, len(unknown))
	for _, m := range unknown {
		out[m] = true
	}
	return out, nil
}

// appendRows streams n rows into a table through DuckDB's appender, on the
// transaction's connection, so that they commit or roll back with it.
func (tx *Tx) appendRows(ctx context.Context, table string, n int, row func(*duckdb.Appender, int) error) error {
	return tx.conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", table)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
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
		return a.Close()
	})
}
