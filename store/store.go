// Package store keeps the practice's data in one DuckDB file. It is the
// only package that speaks SQL: callers work with Patient, Appointment,
// Interaction and PatientFilter, never with rows.
//
// The file is opened hardened every time (no extensions, no file or network
// access from SQL, configuration locked), once per unit of work, and a lock
// held by another process is waited for with backoff.
package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"golang.org/x/mod/sumdb/tlog"
)

// DefaultLockTimeout is how long Open waits for another process to release
// the database before giving up.
const DefaultLockTimeout = 10 * time.Second

// Options tune Open. The zero value is ready to use.
type Options struct {
	// LockTimeout bounds the wait for a lock held by another process.
	// Zero means DefaultLockTimeout.
	LockTimeout time.Duration
	// Now is the clock used for timestamps. Nil means time.Now.
	Now func() time.Time
	// Actor names who makes changes (the OS user), for patient_tags.added_by
	// and the audit log, when an AuditEntry does not say. Empty means
	// "unknown".
	Actor string
	// Host is the machine name for the audit log, when an AuditEntry does
	// not say.
	Host string
	// Mode is ModeDirect or ModeServer, for audit rows whose AuditEntry
	// does not say. Empty means ModeDirect.
	Mode string
	// FixedNow is $CAREBOOK_NOW when it is set: every audit row records it,
	// since "today" was not the real day.
	FixedNow string
	// AuditClock is the audit log's clock, which is the real one whatever
	// Now says. Nil means time.Now; only tests set it.
	AuditClock func() time.Time
	// Holder describes this process in the lock file beside the database.
	// Zero means a plain command with this process's pid.
	Holder Holder
	// OnWait, if set, is called once, after about a second, while Open
	// waits for another process to release the database.
	OnWait func(Holder)
	// Uncompressed stores strings as they are (DuckDB's
	// force_compression='uncompressed'). Only tests use it: it lets them
	// find a patient's bytes in the raw file before a forget, which proves
	// that not finding them after means something.
	Uncompressed bool
}

// Store is an open practice database. Close it when the unit of work is done:
// DuckDB lets only one process hold the file.
type Store struct {
	db       *sql.DB
	path     string
	opts     Options
	now      func() time.Time
	auditNow func() time.Time
	actor    string
	host     string
	mode     string
	fixedNow string
	lock     *fileLock
	// orphans are what a deleted database left here, moved aside.
	orphans []string
	// pendingCompaction is why a rewrite that a forget left pending could
	// not be finished, or nil.
	pendingCompaction error

	// auditMu orders audit rows: each row's hash covers its predecessor's.
	auditMu sync.Mutex
	// auditBroken is set when the open-time check fails; every later audit
	// append returns it.
	auditBroken *AuditBrokenError
	// head is the last committed tree head, which an announcement repeats
	// and whose last row the next one follows. This process holds the file,
	// so nothing else appends; headKnown is false until it has been read.
	head      Head
	headKnown bool
	// treeCache holds audit tree hashes already read or written: they never
	// change, and appending a row needs O(log n) of them.
	treeCache map[int64]tlog.Hash

	closed bool
}

// TooNewError says the file was written by a newer Carebook.
type TooNewError struct {
	FileVersion, KnownVersion int
}

func (e *TooNewError) Error() string {
	return fmt.Sprintf("the database was created by a newer Carebook (schema version %d; this build knows up to %d): upgrade carebook", e.FileVersion, e.KnownVersion)
}

// hardening runs on every connection after the DSN options. Locking the
// configuration last means no later SQL can turn any of it back on.
var hardening = []string{
	"SET lock_configuration = true",
}

// dsnOptions are applied before the database starts, so that not even the
// first statement can reach the file system, the network or an extension.
var dsnOptions = url.Values{
	"autoinstall_known_extensions": {"false"},
	"autoload_known_extensions":    {"false"},
	"enable_external_access":       {"false"},
}

func (o Options) dsn(base url.Values) url.Values {
	out := url.Values{}
	for k, v := range base {
		out[k] = v
	}
	if o.Uncompressed {
		out.Set("force_compression", "uncompressed")
	}
	return out
}

// Open opens (creating if needed) the database at path, hardened, and brings
// its schema up to date. It holds the lock file beside it until Close.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("open database: no path given")
	}
	opts = opts.withDefaults()
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	created, err := prepareFile(abs)
	if err != nil {
		return nil, err
	}
	if err := CheckBoundary(abs); err != nil {
		return nil, err
	}
	if !created {
		if err := checkDuckDBFile(abs); err != nil {
			return nil, err
		}
	}
	holder := opts.Holder
	if holder.PID == 0 {
		holder.PID = os.Getpid()
	}
	start := time.Now()
	lock, err := acquireLock(ctx, abs, holder, opts.LockTimeout, opts.OnWait)
	if err != nil {
		return nil, err
	}
	var orphans []string
	if created {
		if orphans, err = moveOrphans(abs, opts.AuditClock()); err != nil {
			lock.release()
			return nil, err
		}
	}
	s, err := openLocked(ctx, abs, opts, lock, created, opts.LockTimeout-time.Since(start))
	if err != nil {
		lock.release()
		return nil, err
	}
	s.orphans = orphans
	return s, nil
}

// moveOrphans moves aside what a deleted database left beside its path: a
// head file would be read against the new, empty log (and cry tampering),
// a WAL would be replayed into it. They are kept, renamed, not deleted:
// they are evidence if the deletion was not meant. It returns the new
// names.
func moveOrphans(abs string, now time.Time) ([]string, error) {
	var moved []string
	stamp := now.UTC().Format("20060102-150405")
	for _, p := range []string{HeadPath(abs), abs + ".wal"} {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		to := p + ".orphaned-" + stamp
		if err := os.Rename(p, to); err != nil {
			return moved, fmt.Errorf("move aside %s, left by a deleted database: %w", p, err)
		}
		moved = append(moved, to)
	}
	return moved, nil
}

// Orphans are the files a deleted database had left at this path, which
// Open moved aside when it created the new one: the caller tells the user.
func (s *Store) Orphans() []string { return s.orphans }

// openLocked opens the database at abs, whose lock file the caller holds
// already; on failure the lock stays the caller's to release.
func openLocked(ctx context.Context, abs string, opts Options, lock *fileLock, created bool, timeout time.Duration) (*Store, error) {
	s := &Store{path: abs, opts: opts, lock: lock}
	s.setOptions(opts)
	if err := s.connect(ctx, timeout); err != nil {
		return nil, err
	}
	if created {
		if err := os.Chmod(abs, 0o600); err != nil {
			s.db.Close()
			return nil, fmt.Errorf("protect new database %s: %w", abs, err)
		}
	}
	if err := s.start(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	if s.compactionPending(ctx) {
		// A forget deleted a patient but was stopped before the file was
		// rewritten: finish it now, before anyone else gets in.
		if err := s.Compact(ctx); err != nil {
			s.pendingCompaction = err
		}
	}
	return s, nil
}

func (o Options) withDefaults() Options {
	if o.LockTimeout == 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.AuditClock == nil {
		o.AuditClock = time.Now
	}
	if o.Actor == "" {
		o.Actor = "unknown"
	}
	if o.Mode == "" {
		o.Mode = ModeDirect
	}
	return o
}

func (s *Store) setOptions(o Options) {
	s.now, s.auditNow, s.actor, s.host, s.mode, s.fixedNow = o.Now, o.AuditClock, o.Actor, o.Host, o.Mode, o.FixedNow
}

// connect opens the DuckDB instance. The lock file is held already, so a
// lock DuckDB reports is another program's (a DuckDB shell), waited for
// within what is left of the timeout.
func (s *Store) connect(ctx context.Context, timeout time.Duration) error {
	connector, err := connectWithRetry(ctx, s.path, s.path+"?"+s.opts.dsn(dsnOptions).Encode(), max(timeout, 0))
	if err != nil {
		return err
	}
	s.db = sql.OpenDB(connector)
	return nil
}

// duckMagic is at offset 8 of every DuckDB database file.
var duckMagic = []byte("DUCK")

// NotDatabaseError says a file is not a Carebook database at all.
type NotDatabaseError struct{ Path string }

func (e *NotDatabaseError) Error() string {
	return fmt.Sprintf("%s is not a Carebook database (it is not a DuckDB file); check --db, or create a database with `carebook init --db NEW.duckdb`", e.Path)
}

// checkDuckDBFile refuses a file that is not a DuckDB database, before
// DuckDB is asked to open it and says something obscure, or worse, an
// empty file is taken for a new database.
func checkDuckDBFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return openError(path, err)
	}
	defer f.Close()
	head := make([]byte, 12)
	if n, _ := io.ReadFull(f, head); n < 12 || !bytes.Equal(head[8:12], duckMagic) {
		return &NotDatabaseError{Path: path}
	}
	return nil
}

// openError words a failure to open the database file.
func openError(path string, err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("cannot open %s: permission denied; it belongs to another account or its mode is wrong (ls -l %s, then chmod 600 %s as its owner)", path, path, path)
	}
	return fmt.Errorf("cannot open %s: %w", path, err)
}

// OpenMemory opens a private in-memory database, hardened and migrated. Tests
// and evals use it; nothing touches the disk.
func OpenMemory(ctx context.Context, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	connector, err := duckdb.NewConnector("?"+dsnOptions.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("open in-memory database: %w", err)
	}
	s := &Store{db: sql.OpenDB(connector), path: ":memory:", opts: opts}
	s.setOptions(opts)
	if err := s.start(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// start readies a newly opened database: hardening, migrations, and the
// audit log's open-time check. A failed check is not an error here: the
// store opens, so that audit verify can explain, and refuses to record.
func (s *Store) start(ctx context.Context) error {
	if err := s.harden(ctx); err != nil {
		return err
	}
	sealed, err := s.migrate(ctx)
	if err != nil {
		return err
	}
	if err := s.checkAudit(ctx, sealed); err != nil {
		var bad *AuditIntegrityError
		if !errors.As(err, &bad) {
			return err
		}
		s.auditBroken = &AuditBrokenError{Cause: bad}
	}
	return nil
}

// prepareFile makes sure the database's folder exists as 0700. It reports
// whether the file is new, so that Open can make it 0600 whatever the umask.
// (DuckDB refuses an empty file, so it cannot be pre-created with that mode;
// the carebook binary also sets a umask of 077 for DuckDB's WAL and temp files.)
func prepareFile(path string) (created bool, err error) {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, fmt.Errorf("create folder for database %s: %w", path, err)
		}
	}
	_, err = os.Stat(path)
	return errors.Is(err, os.ErrNotExist), nil
}

var pidPattern = regexp.MustCompile(`\(PID (\d+)\)`)

// connectWithRetry opens the DuckDB instance, waiting with jittered
// exponential backoff while another process holds the lock.
func connectWithRetry(ctx context.Context, path, dsn string, timeout time.Duration) (*duckdb.Connector, error) {
	deadline := time.Now().Add(timeout)
	wait := 25 * time.Millisecond
	for {
		connector, err := duckdb.NewConnector(dsn, nil)
		if err == nil {
			return connector, nil
		}
		locked := lockError(path, err)
		if locked == nil {
			return nil, duckdbOpenError(path, err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, locked
		}
		jittered := min(wait/2+rand.N(wait/2+1), left)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("open database %s: %w", path, ctx.Err())
		case <-time.After(jittered):
		}
		wait = min(wait*2, time.Second)
	}
}

// lockError recognises DuckDB's "Could not set lock" error. DuckDB reports it
// as a plain IO error, so the text is all there is to go on.
func lockError(path string, err error) *LockedError {
	msg := err.Error()
	if !strings.Contains(msg, "Could not set lock") && !strings.Contains(msg, "Conflicting lock") {
		return nil
	}
	le := &LockedError{Path: path}
	if m := pidPattern.FindStringSubmatch(msg); m != nil {
		fmt.Sscanf(m[1], "%d", &le.PID)
	}
	return le
}

// duckdbOpenError words DuckDB's failure to open a file as one sentence
// with what to do, instead of the driver's layered text.
func duckdbOpenError(path string, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "database/sql/driver: could not connect to database: ")
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "permission denied"):
		return openError(path, os.ErrPermission)
	case strings.Contains(low, "no space left"):
		return &DiskFullError{Path: path}
	case strings.Contains(low, "corrupt") || strings.Contains(low, "checksum") || strings.Contains(low, "serialization") ||
		strings.Contains(low, "internal error") || strings.Contains(low, "not a valid duckdb database") || isCorruptText(msg):
		return &DamagedError{Path: path}
	}
	return fmt.Errorf("cannot open the database %s: %s (carebook doctor may say more)", path, firstLine(msg))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func (s *Store) harden(ctx context.Context) error {
	for _, stmt := range hardening {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("harden database: %w", err)
		}
	}
	return nil
}

// Close releases the file so that another process may open it.
// Closing twice is harmless, so that callers may close early and defer too.
func (s *Store) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.db.Close()
	s.lock.release()
	if err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// AuditBroken is the open-time audit check's failure, or nil.
func (s *Store) AuditBroken() error {
	if s.auditBroken == nil {
		return nil
	}
	return s.auditBroken
}

// Path is the absolute path of the database file, or ":memory:".
func (s *Store) Path() string { return s.path }

// Now is the store's clock, which honours CAREBOOK_NOW through Options.
func (s *Store) Now() time.Time { return s.now() }

// Setting reads back one DuckDB setting, for doctor and the hardening test.
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var v sql.NullString
	if err := s.db.QueryRowContext(ctx, "SELECT current_setting(?)::VARCHAR", name).Scan(&v); err != nil {
		return "", fmt.Errorf("read setting %s: %w", name, err)
	}
	return v.String, nil
}
