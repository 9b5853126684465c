package store

import (
	"maps"

	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/carebook/carebook/internal/atomicfile"
	"golang.org/x/mod/sumdb/tlog"
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
	// redacted lists audit rows this unit of work redacted; the audit row
	// names them, so verification can tell a forget from tampering.
	redacted []int64
	// head is the tree head once this unit's audit row is appended, and
	// treeCache the tree hashes it read or wrote, to be kept when it commits.
	head      *Head
	treeCache map[int64]tlog.Hash
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
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	if err := tx.appendAudit(ctx, entry, OutcomeOK, ""); err != nil {
		rollback()
		return err
	}
	if err := s.announce(tx); err != nil {
		rollback()
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		rollback()
		return fmt.Errorf("commit: %w", err)
	}
	s.committed(tx)
	return nil
}

// Rehearse runs fn in one transaction and rolls it back, whatever fn does:
// a dry run that counts what a write would change by making it, with the
// same code, and keeping nothing. It writes no audit row, as nothing
// changes.
func (s *Store) Rehearse(ctx context.Context, fn func(*Tx) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	return fn(&Tx{Reader: Reader{q: conn}, conn: conn, store: s})
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
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	if err := s.auditBroken; err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := tx.appendAudit(ctx, entry, outcome, message); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	if err := s.announce(tx); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return fmt.Errorf("audit: commit: %w", err)
	}
	s.committed(tx)
	return nil
}

// committed records a committed audit row: the new head, in memory and in
// its file.
// A head that fails to write now is caught up on the next open, from the
// announcement written before the commit; the change itself is committed
// and must not be reported lost.
func (s *Store) committed(tx *Tx) {
	if tx.head == nil {
		return
	}
	s.head, s.headKnown = *tx.head, true
	if s.treeCache == nil {
		s.treeCache = map[int64]tlog.Hash{}
	}
	maps.Copy(s.treeCache, tx.treeCache)
	if s.path != ":memory:" {
		_ = atomicfile.WriteFile(HeadPath(s.path), tx.head.marshal())
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
