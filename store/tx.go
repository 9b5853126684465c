package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/carebook/carebook/internal/atomicfile"
)

// Outcome is how a tool execution ended, as the audit log records it.
type Outcome string

const (
	OutcomeOK      Outcome = "ok"
	OutcomeRefused Outcome = "refused"
	OutcomeError   Outcome = "error"
	// OutcomePreviewed is a read that showed patients without doing what
	// was asked: a preview awaiting confirmation, a dry run, a list of
	// namesakes to choose from.
	OutcomePreviewed Outcome = "previewed"
)

// Modes say how a row's request reached the database.
const (
	ModeDirect = "direct" // the command opened the file itself
	ModeServer = "server" // through carebook serve
)

// AuditEntry describes one tool execution. The store fills in the time, the
// patients touched and the row count, and the identity fields left empty
// from its Options.
type AuditEntry struct {
	Channel     string // repl, ask, run, cli, import, export, …
	Request     string // what the user typed, if anything
	Action      string // the action as JSON
	Model       string
	ModelDigest string

	// Staff is the authenticated staff member, when there is one.
	Staff string
	// OSUser is the OS account that asked: the peer's, as the kernel
	// reported it, through a server; the process's own in direct mode.
	OSUser string
	// Host is the machine the request came from.
	Host string
	// Mode is ModeDirect or ModeServer.
	Mode string
}

// Who is the identity a row is written with.
type Who struct {
	Staff, OSUser, Host, Mode string
}

// identity fills what entry leaves empty from the store's defaults.
func (s *Store) identity(e AuditEntry) Who {
	w := Who{Staff: e.Staff, OSUser: e.OSUser, Host: e.Host, Mode: e.Mode}
	if w.OSUser == "" {
		w.OSUser = s.actor
	}
	if w.Host == "" {
		w.Host = s.host
	}
	if w.Mode == "" {
		w.Mode = s.mode
	}
	return w
}

// Tx is one unit of work: every change made through it, and its audit row,
// commit together or not at all.
type Tx struct {
	Reader
	conn  *sql.Conn
	store *Store
	entry AuditEntry
	// touched and rows go into the current unit's audit row.
	touched []int64
	rows    int64
	// redacted lists audit rows this unit of work redacted; the audit row
	// names them, so verification can tell a forget from tampering.
	redacted []int64
	// head is the tree head once this unit's audit row is appended, and
	// treeCache the tree hashes it read or wrote, to be kept when it commits.
	head      *Head
	treeCache map[int64]tlog.Hash
	// appended counts the audit rows this transaction appended.
	appended int
	// note is the message of the current unit's audit row: an edit's old
	// and new values.
	note string
	// auditRows and treeIdx/treeVals are the rows and tree hashes
	// appended, inserted by flushAudit before the commit.
	auditRows [][]any
	treeIdx   []int64
	treeVals  []string
}

// Touch records patients this unit of work read or changed, for the audit row.
func (tx *Tx) Touch(ids ...int64) { tx.touched = append(tx.touched, ids...) }

// Note sets the message of this unit's audit row: what a change replaced
// (old and new values), which the action alone does not say. Like the
// request and the action, it is redacted when the patient is forgotten.
func (tx *Tx) Note(msg string) { tx.note = msg }

// AddRows records how many rows this unit of work changed.
func (tx *Tx) AddRows(n int) { tx.rows += int64(n) }

// Now is the clock the transaction stamps rows with.
func (tx *Tx) Now() time.Time { return tx.store.now() }

// SetAction replaces the action this unit's audit row records: a batch line
// knows its canonical action (names resolved to MRNs) only once it is
// prepared inside the transaction that writes it.
func (tx *Tx) SetAction(action string) { tx.entry.Action = action }

// Actor is who makes this unit's changes, for columns such as
// patient_tags.added_by: the staff member, else the OS account.
func (tx *Tx) Actor() string {
	w := tx.store.identity(tx.entry)
	if w.Staff != "" {
		return w.Staff
	}
	return w.OSUser
}

// Reader returns a reader over the whole database, outside any transaction.
func (s *Store) Reader() Reader { return Reader{q: s.db} }

// Write runs fn in one transaction and appends entry to the audit log in the
// same transaction. If fn fails, or ctx is cancelled before the commit,
// nothing fn wrote is kept, and the failure is logged in a transaction of its
// own so that attempts show in the log too.
func (s *Store) Write(ctx context.Context, entry AuditEntry, fn func(*Tx) error) error {
	return s.WriteEach(ctx, []Unit{{Entry: entry, Fn: fn}})[0]
}

// Unit is one unit of work of a group commit: its changes and its audit row.
type Unit struct {
	Entry AuditEntry
	Fn    func(*Tx) error
}

// WriteEach commits units, each with its own audit row, in one transaction:
// one commit (and one head file update) for many small writes, as a batch
// of actions makes. If a unit fails, the group is rolled back, the units up
// to it are run again each in a transaction of its own, so that the failing
// one changes nothing and the others still apply, and the units after it
// form the next group. It returns one error per unit.
func (s *Store) WriteEach(ctx context.Context, units []Unit) []error {
	errs := make([]error, 0, len(units))
	for len(errs) < len(units) {
		_, e := s.WriteGroup(ctx, units[len(errs):], 0)
		errs = append(errs, e...)
	}
	return errs
}

// WriteGroup is WriteEach that starts no more units once the group has run
// for budget (zero: no limit), so that whoever waits for the database
// between two groups waits no longer than that. It returns how many units
// it ran (at least one, when there are any) and their errors; the rest are
// the next group's.
func (s *Store) WriteGroup(ctx context.Context, units []Unit, budget time.Duration) (int, []error) {
	if len(units) == 0 {
		return 0, nil
	}
	ran := len(units)
	if len(units) > 1 {
		n, err := s.commitUnits(ctx, units, budget)
		if err == nil {
			return n, make([]error, n)
		}
		// Replay what ran, up to the unit that failed; the rest wait.
		ran = n
	}
	errs := make([]error, ran)
	for i, u := range units[:ran] {
		_, errs[i] = s.commitUnits(ctx, []Unit{u}, 0)
		var uf *unitFailure
		if errors.As(errs[i], &uf) {
			errs[i] = uf.err
			s.logFailure(ctx, uf.entry, uf.touched, uf.err)
		}
	}
	return ran, errs
}

// unitFailure is a unit's own work failing (not the commit), which is
// logged as an attempt.
type unitFailure struct {
	err     error
	entry   AuditEntry
	touched []int64
}

func (e *unitFailure) Error() string { return e.err.Error() }

// commitUnits runs units in one transaction, starting no more once budget
// (if not zero) has passed, and returns how many it ran: all that it
// committed, or up to and including the one that failed.
func (s *Store) commitUnits(ctx context.Context, units []Unit, budget time.Duration) (int, error) {
	start := time.Now()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return len(units), fmt.Errorf("begin: %w", err)
	}
	defer conn.Close()
	tx := &Tx{Reader: Reader{q: conn}, conn: conn, store: s}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return len(units), fmt.Errorf("begin: %w", err)
	}
	// Rolling back must work even after ctx is cancelled: that is exactly
	// when it matters most.
	rollback := func() { conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") }
	locked := false
	defer func() {
		if locked {
			s.auditMu.Unlock()
		}
	}()
	ran := 0
	for i, u := range units {
		if i > 0 && budget > 0 && time.Since(start) > budget {
			break
		}
		ran = i + 1
		tx.entry, tx.touched, tx.rows, tx.redacted, tx.note = u.Entry, nil, 0, nil, ""
		if err := u.Fn(tx); err != nil {
			rollback()
			return ran, &unitFailure{err: err, entry: tx.entry, touched: tx.touched}
		}
		if err := ctx.Err(); err != nil {
			rollback()
			return ran, &unitFailure{err: fmt.Errorf("cancelled before commit, nothing was written: %w", err), entry: tx.entry, touched: tx.touched}
		}
		// Rows chain: from the first append to the commit, no other row
		// may be appended.
		if !locked {
			s.auditMu.Lock()
			locked = true
		}
		if err := tx.appendAudit(ctx, tx.entry, OutcomeOK, tx.note); err != nil {
			rollback()
			return ran, err
		}
	}
	if err := tx.flushAudit(ctx); err != nil {
		rollback()
		return ran, err
	}
	if err := s.announce(tx); err != nil {
		rollback()
		return ran, err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		rollback()
		return ran, fmt.Errorf("commit: %w", err)
	}
	s.committed(tx)
	return ran, nil
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
	tx := &Tx{Reader: Reader{q: conn}, conn: conn, store: s, entry: entry, touched: patients, rows: rows}
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
	if err := tx.flushAudit(ctx); err != nil {
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

// committed records committed audit rows: the new head, in memory and in
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
	s.trimTreeCache()
	if s.path != ":memory:" {
		// The announcement, synced before the commit, covers these rows
		// should this write be lost in a crash: the file's content is
		// synced (never half a head), the folder's rename need not be.
		_ = atomicfile.WriteFileOpts(HeadPath(s.path), tx.head.marshal(), atomicfile.Options{NoDirSync: true})
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
