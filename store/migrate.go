package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// migrations bring a database from version i to i+1. Append only: a shipped
// migration is never edited, because files in the field already ran it.
//
// There are no FOREIGN KEY constraints. DuckDB rejects an UPDATE of a row that
// another table references, which would break every patient upsert, and the
// index checks would slow bulk loads of a million interactions. Referential
// integrity is kept by this package, the only writer.
var migrations = []string{
	// 1: the practice.
	`
CREATE SEQUENCE patient_id_seq START 1;
CREATE TABLE patients (
	id                 BIGINT PRIMARY KEY DEFAULT nextval('patient_id_seq'),
	mrn                VARCHAR NOT NULL UNIQUE,
	first_name         VARCHAR NOT NULL,
	last_name          VARCHAR NOT NULL,
	dob                DATE,
	sex                VARCHAR,
	email              VARCHAR,
	phone              VARCHAR,
	city               VARCHAR,
	language           VARCHAR,
	marketing_consent  BOOLEAN NOT NULL DEFAULT false,
	consent_changed_at TIMESTAMP,
	status             VARCHAR NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'deceased')),
	created_at         TIMESTAMP NOT NULL,
	updated_at         TIMESTAMP NOT NULL
);
CREATE SEQUENCE tag_id_seq START 1;
CREATE TABLE tags (
	id         BIGINT PRIMARY KEY DEFAULT nextval('tag_id_seq'),
	name       VARCHAR NOT NULL UNIQUE CHECK (regexp_full_match(name, '[a-z0-9]+(-[a-z0-9]+)*')),
	created_at TIMESTAMP NOT NULL
);
CREATE TABLE patient_tags (
	patient_id BIGINT NOT NULL,
	tag_id     BIGINT NOT NULL,
	added_by   VARCHAR NOT NULL,
	added_at   TIMESTAMP NOT NULL,
	PRIMARY KEY (patient_id, tag_id)
);
CREATE SEQUENCE appointment_id_seq START 1;
CREATE TABLE appointments (
	id          BIGINT PRIMARY KEY DEFAULT nextval('appointment_id_seq'),
	external_id VARCHAR UNIQUE,
	patient_id  BIGINT NOT NULL,
	starts_at   TIMESTAMP NOT NULL,
	type        VARCHAR NOT NULL DEFAULT '',
	provider    VARCHAR NOT NULL DEFAULT '',
	status      VARCHAR NOT NULL CHECK (status IN ('scheduled', 'completed', 'no-show', 'cancelled'))
);
CREATE SEQUENCE interaction_id_seq START 1;
CREATE TABLE interactions (
	id          BIGINT PRIMARY KEY DEFAULT nextval('interaction_id_seq'),
	external_id VARCHAR UNIQUE,
	patient_id  BIGINT NOT NULL,
	occurred_at TIMESTAMP NOT NULL,
	channel     VARCHAR NOT NULL CHECK (channel IN ('call', 'sms', 'email', 'in-person', 'portal', 'letter', 'note')),
	direction   VARCHAR NOT NULL CHECK (direction IN ('inbound', 'outbound')),
	staff       VARCHAR NOT NULL DEFAULT '',
	summary     VARCHAR NOT NULL DEFAULT ''
);
CREATE TABLE audit_log (
	seq           BIGINT PRIMARY KEY,
	logged_at     TIMESTAMP NOT NULL,
	os_user       VARCHAR NOT NULL,
	host          VARCHAR NOT NULL,
	channel       VARCHAR NOT NULL,
	request       VARCHAR,
	action        VARCHAR NOT NULL,
	patient_ids   BIGINT[] NOT NULL,
	rows_affected BIGINT NOT NULL,
	outcome       VARCHAR NOT NULL CHECK (outcome IN ('ok', 'refused', 'error')),
	message       VARCHAR,
	model         VARCHAR,
	model_digest  VARCHAR
);
CREATE INDEX appointments_patient ON appointments (patient_id);
CREATE INDEX interactions_patient ON interactions (patient_id);
`,
	// 2: a tamper-evident audit log (see audit.go). Rows written under
	// version 1 are sealed by sealLegacyRows in the same transaction.
	`
ALTER TABLE audit_log ADD COLUMN salt BLOB;
ALTER TABLE audit_log ADD COLUMN request_commit VARCHAR;
ALTER TABLE audit_log ADD COLUMN action_commit VARCHAR;
ALTER TABLE audit_log ADD COLUMN message_commit VARCHAR;
ALTER TABLE audit_log ADD COLUMN prev_hash VARCHAR;
ALTER TABLE audit_log ADD COLUMN row_hash VARCHAR;
ALTER TABLE audit_log ADD COLUMN redacted_at TIMESTAMP;
ALTER TABLE audit_log ALTER COLUMN action DROP NOT NULL;
CREATE TABLE audit_tree (idx BIGINT PRIMARY KEY, hash VARCHAR NOT NULL);
`,
	// 3: the audit log rebuilt whole. DuckDB 1.5 commits an insert into a
	// table changed by ALTER TABLE five times slower than into one created
	// with its columns (3 ms against 0.6 ms, measured), and every tool
	// execution inserts an audit row.
	`
CREATE TABLE audit_log_v3 (
	seq            BIGINT PRIMARY KEY,
	logged_at      TIMESTAMP NOT NULL,
	os_user        VARCHAR NOT NULL,
	host           VARCHAR NOT NULL,
	channel        VARCHAR NOT NULL,
	request        VARCHAR,
	action         VARCHAR,
	patient_ids    BIGINT[] NOT NULL,
	rows_affected  BIGINT NOT NULL,
	outcome        VARCHAR NOT NULL CHECK (outcome IN ('ok', 'refused', 'error')),
	message        VARCHAR,
	model          VARCHAR,
	model_digest   VARCHAR,
	salt           BLOB,
	request_commit VARCHAR,
	action_commit  VARCHAR,
	message_commit VARCHAR,
	prev_hash      VARCHAR,
	row_hash       VARCHAR,
	redacted_at    TIMESTAMP
);
INSERT INTO audit_log_v3 SELECT seq, logged_at, os_user, host, channel, request, action, patient_ids, rows_affected, outcome,
	message, model, model_digest, salt, request_commit, action_commit, message_commit, prev_hash, row_hash, redacted_at
	FROM audit_log ORDER BY seq;
DROP TABLE audit_log;
ALTER TABLE audit_log_v3 RENAME TO audit_log;
`,
	// 4: an audit row's patient ids as text. A LIST column holding one
	// import's hundred thousand ids made every later commit to the table
	// three times slower (DuckDB 1.5, measured), and every tool execution
	// commits an audit row. The hashes do not change: they cover the ids,
	// not how they are stored.
	`
CREATE TABLE audit_log_v4 (
	seq            BIGINT PRIMARY KEY,
	logged_at      TIMESTAMP NOT NULL,
	os_user        VARCHAR NOT NULL,
	host           VARCHAR NOT NULL,
	channel        VARCHAR NOT NULL,
	request        VARCHAR,
	action         VARCHAR,
	patient_ids    VARCHAR NOT NULL,
	rows_affected  BIGINT NOT NULL,
	outcome        VARCHAR NOT NULL CHECK (outcome IN ('ok', 'refused', 'error')),
	message        VARCHAR,
	model          VARCHAR,
	model_digest   VARCHAR,
	salt           BLOB,
	request_commit VARCHAR,
	action_commit  VARCHAR,
	message_commit VARCHAR,
	prev_hash      VARCHAR,
	row_hash       VARCHAR,
	redacted_at    TIMESTAMP
);
INSERT INTO audit_log_v4 SELECT seq, logged_at, os_user, host, channel, request, action, array_to_string(patient_ids, ','),
	rows_affected, outcome, message, model, model_digest, salt, request_commit, action_commit, message_commit, prev_hash,
	row_hash, redacted_at FROM audit_log ORDER BY seq;
DROP TABLE audit_log;
ALTER TABLE audit_log_v4 RENAME TO audit_log;
`,
	// 5: team mode. Audit rows name the staff member beside the OS account,
	// say whether the request came through carebook serve, and record a
	// fixed "today" (leaf version 2; rows before keep version 1 and verify
	// as they were written). Rebuilt whole, like 3 and 4, for the commit
	// speed of a table created with its columns. Staff records, and the
	// maintenance marker a forget leaves until its rewrite is done.
	`
CREATE TABLE audit_log_v5 (
	seq            BIGINT PRIMARY KEY,
	logged_at      TIMESTAMP NOT NULL,
	os_user        VARCHAR NOT NULL,
	staff          VARCHAR,
	mode           VARCHAR,
	host           VARCHAR NOT NULL,
	channel        VARCHAR NOT NULL,
	request        VARCHAR,
	action         VARCHAR,
	patient_ids    VARCHAR NOT NULL,
	rows_affected  BIGINT NOT NULL,
	outcome        VARCHAR NOT NULL CHECK (outcome IN ('ok', 'refused', 'error', 'previewed')),
	message        VARCHAR,
	model          VARCHAR,
	model_digest   VARCHAR,
	fixed_now      VARCHAR,
	leaf_v         INTEGER NOT NULL,
	salt           BLOB,
	request_commit VARCHAR,
	action_commit  VARCHAR,
	message_commit VARCHAR,
	prev_hash      VARCHAR,
	row_hash       VARCHAR,
	redacted_at    TIMESTAMP
);
INSERT INTO audit_log_v5 SELECT seq, logged_at, os_user, NULL, NULL, host, channel, request, action, patient_ids,
	rows_affected, outcome, message, model, model_digest, NULL, 1, salt, request_commit, action_commit, message_commit,
	prev_hash, row_hash, redacted_at FROM audit_log ORDER BY seq;
DROP TABLE audit_log;
ALTER TABLE audit_log_v5 RENAME TO audit_log;
CREATE TABLE staff (
	name         VARCHAR PRIMARY KEY,
	role         VARCHAR NOT NULL CHECK (role IN ('front-desk', 'clinician', 'manager')),
	os_user      VARCHAR,
	pin_hash     VARCHAR,
	failed_pins  INTEGER NOT NULL DEFAULT 0,
	locked_until TIMESTAMP,
	disabled_at  TIMESTAMP,
	created_at   TIMESTAMP NOT NULL,
	updated_at   TIMESTAMP NOT NULL
);
CREATE TABLE maintenance (
	kind   VARCHAR PRIMARY KEY,
	since  TIMESTAMP NOT NULL,
	detail VARCHAR NOT NULL DEFAULT ''
);
`,
	// 6: everyday records. Follow-up tasks and recalls (a recall is a task
	// with a reason and a due date, made for every patient a filter
	// selects); due is a day of the practice's calendar, so "due today"
	// does not move with the zone or a DST change. The history of marketing
	// consent: each change with when the patient decided (NULL when an
	// import did not say: the import's own time is never taken for it),
	// how it reached the practice, and who recorded it. Patients whose
	// consent is known already get one row each, source import, so that
	// the history starts where the record stands.
	`
CREATE SEQUENCE task_id_seq START 1;
CREATE TABLE tasks (
	id          BIGINT PRIMARY KEY DEFAULT nextval('task_id_seq'),
	patient_id  BIGINT NOT NULL,
	kind        VARCHAR NOT NULL DEFAULT 'task' CHECK (kind IN ('task', 'recall')),
	text        VARCHAR NOT NULL,
	due         DATE,
	assigned_to VARCHAR NOT NULL DEFAULT '',
	created_by  VARCHAR NOT NULL,
	created_at  TIMESTAMP NOT NULL,
	done_at     TIMESTAMP,
	done_by     VARCHAR
);
CREATE INDEX tasks_patient ON tasks (patient_id);
CREATE SEQUENCE consent_event_id_seq START 1;
CREATE TABLE consent_events (
	id          BIGINT PRIMARY KEY DEFAULT nextval('consent_event_id_seq'),
	patient_id  BIGINT NOT NULL,
	marketing   BOOLEAN NOT NULL,
	changed_at  TIMESTAMP,
	source      VARCHAR NOT NULL CHECK (source IN ('phone', 'email', 'form', 'portal', 'import', 'merge')),
	staff       VARCHAR NOT NULL DEFAULT '',
	recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX consent_events_patient ON consent_events (patient_id);
INSERT INTO consent_events (patient_id, marketing, changed_at, source, staff, recorded_at)
	SELECT id, marketing_consent, consent_changed_at, 'import', '', created_at FROM patients
	WHERE marketing_consent OR consent_changed_at IS NOT NULL ORDER BY id;
`,
}

// SchemaVersion is the schema this build writes.
func SchemaVersion() int { return len(migrations) }

// migrate brings the schema up to date. It reports whether it sealed audit
// rows written before the log was hash-chained, so that the open-time check
// writes their first head rather than calling the missing one tampering.
func (s *Store) migrate(ctx context.Context) (sealed bool, err error) {
	if _, err := s.db.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)`); err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	var current sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT max(version) FROM schema_version`).Scan(&current); err != nil {
		return false, fmt.Errorf("migrate: read schema version: %w", err)
	}
	from := int(current.Int64)
	if from > len(migrations) {
		return false, &TooNewError{FileVersion: from, KnownVersion: len(migrations)}
	}
	if from == len(migrations) {
		return false, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	for v := from; v < len(migrations); v++ {
		for _, stmt := range splitStatements(migrations[v]) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return false, fmt.Errorf("migrate to schema version %d: %w", v+1, err)
			}
		}
		if v+1 == 2 && from > 0 {
			n, err := sealLegacyRows(ctx, tx)
			if err != nil {
				return false, fmt.Errorf("migrate to schema version 2: seal the audit log: %w", err)
			}
			sealed = n > 0
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version VALUES (?, ?)`, v+1, s.now().UTC()); err != nil {
			return false, fmt.Errorf("migrate to schema version %d: %w", v+1, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate: commit: %w", err)
	}
	return sealed, nil
}

// splitStatements splits a migration on semicolons that end a line. The
// migrations are ours, so no string literal ends a line with one.
func splitStatements(script string) []string {
	var out []string
	for _, part := range strings.Split(script, ";\n") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, strings.TrimSuffix(p, ";"))
		}
	}
	return out
}

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")
