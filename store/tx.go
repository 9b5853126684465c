package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Outcome is how a tool execution ended, as the audit log records it.
type Outcome string

const (
	OutcomeOK      Outcome = "ok"
	OutcomeRefused Outcome = "refused"
	OutcomeError   Outcome = "error"
)

// AuditEntry describes one tool execution. The store fills in the time, the
// user, the host, the patients touched and the row count.
type AuditEntry struct {
	Channel     string // repl, ask, run, cli, import, export, …
	Request     string // what the user typed, if anything
	Action      string // the action as JSON
	Model       string
	ModelDigest string
}

// Tx is one unit of work: every change made through it, and its audit row,
// commit together or not at all.
type Tx struct {
	Reader
	conn    *sql.Conn
	store   *Store
	touched []int64
	rows    int64
}

// Touch records patients this unit of work read or changed, for the audit row.
func (tx *Tx) Touch(ids ...int64) { tx.touched = append(tx.touched, ids...) }

// AddRows records how many rows this unit of work changed.
func (tx *Tx) AddRows(n int) { tx.rows += int64(n) }

// Now is the clock the transaction stamps rows with.
func (tx *Tx) Now() time.Time { return tx.store.now() }

// Reader returns a reader over the whole database, outside any transaction.
func (s *Store) Reader() Reader { return Reader{q: s.db} }

// Write runs fn in one transaction and appends entry to the audit log in the
// same transaction. If fn fails, or ctx is cancelled before the commit,
// nothing fn wrote is kept, and the failure is logged in a transaction of its
// own so that attempts show in the log too.
func (s *Store) Write(ctx context.Context, entry AuditEntry, fn func(*Tx) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer conn.Close()
	tx := &Tx{Reader: Reader{q: conn}, conn: conn, store: s}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// Rolling back must work even after ctx is cancelled: that is exactly
	// when it matters most.
	rollback := func() { conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") }

	if err := fn(tx); err != nil {
		rollback()
		s.logFailure(ctx, entry, tx.touched, err)
		return err
	}
	if err := ctx.Err(); err != nil {
		rollback()
		s.logFailure(ctx, entry, tx.touched, err)
		return fmt.Errorf("cancelled before commit, nothing was written: %w", err)
	}
	if err := tx.appendAudit(ctx, entry, OutcomeOK, ""); err != nil {
		rollback()
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		rollback()
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// LogOutcome appends one audit row on its own, for executions that wrote
// nothing: reads, refusals and errors.
func (s *Store) LogOutcome(ctx context.Context, entry AuditEntry, patients []int64, rows int, outcome Outcome, message string) error {
	return s.appendAuditOnly(ctx, entry, patients, int64(rows), outcome, message)
}

func (s *Store) logFailure(ctx context.Context, entry AuditEntry, touched []int64, cause error) {
	outcome := OutcomeError
	if errors.Is(cause, context.Canceled) {
		cause = errors.New("cancelled by the user")
	}
	// Best effort: the caller reports cause; an audit failure must not hide it.
	_ = s.appendAuditOnly(context.WithoutCancel(ctx), entry, touched, 0, outcome, cause.Error())
}

func (s *Store) appendAuditOnly(ctx context.Context, entry AuditEntry, patients []int64, rows int64, outcome Outcome, message string) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer conn.Close()
	tx := &Tx{Reader: Reader{q: conn}, conn: conn, store: s, touched: patients, rows: rows}
	return tx.appendAudit(ctx, entry, outcome, message)
}

func (tx *Tx) appendAudit(ctx context.Context, entry AuditEntry, outcome Outcome, message string) error {
	ids := slices.Clone(tx.touched)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if ids == nil {
		ids = []int64{}
	}
	_, err := tx.conn.ExecContext(ctx, `INSERT INTO audit_log
		(seq, logged_at, os_user, host, channel, request, action, patient_ids, rows_affected, outcome, message, model, model_digest)
		SELECT coalesce(max(seq), 0) + 1, ?, ?, ?, ?, ?, ?, ?::BIGINT[], ?, ?, ?, ?, ? FROM audit_log`,
		tx.store.now().UTC(), tx.store.actor, tx.store.host, entry.Channel, nullable(entry.Request), entry.Action,
		ids, tx.rows, string(outcome), nullable(message), nullable(entry.Model), nullable(entry.ModelDigest))
	if err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// AuditRow is one row of the audit log as stored.
type AuditRow struct {
	Seq         int64
	At          time.Time
	User        string
	Host        string
	Channel     string
	Request     string
	Action      string
	PatientIDs  []int64
	Rows        int64
	Outcome     Outcome
	Message     string
	Model       string
	ModelDigest string
}

// AuditLog returns the audit rows after seq, oldest first.
func (r Reader) AuditLog(ctx context.Context, afterSeq int64) ([]AuditRow, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT seq, logged_at, os_user, host, channel, coalesce(request, ''), action, patient_ids,
		rows_affected, outcome, coalesce(message, ''), coalesce(model, ''), coalesce(model_digest, '')
		FROM audit_log WHERE seq > ? ORDER BY seq`, afterSeq)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditRow
	for rows.Next() {
		var a AuditRow
		var ids []any
		var outcome string
		if err := rows.Scan(&a.Seq, &a.At, &a.User, &a.Host, &a.Channel, &a.Request, &a.Action, &ids, &a.Rows,
			&outcome, &a.Message, &a.Model, &a.ModelDigest); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		a.Outcome = Outcome(outcome)
		for _, id := range ids {
			if v, ok := id.(int64); ok {
				a.PatientIDs = append(a.PatientIDs, v)
			}
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
