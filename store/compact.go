package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
)

// Compact rewrites the database file so that deleted rows are gone from
// it, not merely unlinked: DuckDB reuses freed blocks lazily, and until
// then a deleted patient's bytes stay in the file, as they may in an old WAL.
// It copies the live data into a new file beside the old one (COPY FROM
// DATABASE), makes it durable and renames it over the old one, so that a
// crash leaves either the old file or the new one, whole, and the store is
// reopened on the new file.
//
// The store keeps the lock file throughout: DuckDB's own lock goes with the
// old file's last connection, and without the lock file another process
// could open the old file in the gap before the rename and write rows that
// the rename then throws away. No other user of this Store may be running
// (the server holds its gate).
//
// The copy needs ATTACH, which the hardened configuration forbids. DuckDB
// allows exactly the paths listed in allowed_paths when external access is
// off, and that list can only be set before access is turned off: so this
// connection lists the new file and its WAL files, then turns access off and
// locks the configuration like any other. Nothing else is reachable.
func (s *Store) Compact(ctx context.Context) error {
	if s.path == ":memory:" {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("compact %s: %w", s.path, err)
	}
	err := compactFile(ctx, s.path, s.opts)
	// Whatever happened, the store goes on, on whichever file is in place.
	if cerr := s.connect(ctx, s.opts.LockTimeout); cerr != nil {
		s.closed = true
		s.lock.release()
		return errors.Join(err, cerr)
	}
	if serr := s.start(ctx); serr != nil {
		return errors.Join(err, serr)
	}
	if err != nil {
		return err
	}
	s.pendingCompaction = nil
	return nil
}

// CompactionPending says a forget deleted a patient whose bytes may still
// be in the file: its rewrite was interrupted and could not be finished
// on open. The error says why.
func (s *Store) CompactionPending() error {
	if s.pendingCompaction == nil {
		return nil
	}
	return fmt.Errorf("a forget's rewrite of the database file is not finished (%v), so the deleted patient's bytes may remain in it; free space or stop what blocks it, then run any carebook command, which finishes it", s.pendingCompaction)
}

// compactionPending reads the marker a forget leaves until the rewrite is
// done.
func (s *Store) compactionPending(ctx context.Context) bool {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM maintenance WHERE kind = 'compact'`).Scan(&n); err != nil {
		return false
	}
	return n > 0
}

func compactFile(ctx context.Context, abs string, opts Options) error {
	tmp := abs + ".compact"
	for _, p := range []string{tmp, tmp + ".wal", tmp + ".wal.checkpoint"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("compact %s: remove leftover %s: %w", abs, p, err)
		}
	}
	if err := copyDatabase(ctx, abs, tmp, opts); err != nil {
		os.Remove(tmp)
		os.Remove(tmp + ".wal")
		return fmt.Errorf("compact %s: %w", abs, err)
	}
	if err := syncFile(tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compact %s: %w", abs, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compact %s: %w", abs, err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compact %s: replace the file: %w", abs, err)
	}
	// The old file's WAL was checkpointed when its last connection closed;
	// one left over from a crash belongs to the old file and must not be
	// replayed into the new one.
	if err := os.Remove(abs + ".wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("compact %s: remove the old WAL: %w", abs, err)
	}
	return syncDir(filepath.Dir(abs))
}

func copyDatabase(ctx context.Context, src, dst string, opts Options) error {
	connector, err := connectWithRetry(ctx, src, src+"?"+opts.dsn(compactDSN).Encode(), opts.LockTimeout)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	// One connection: the settings below are per database instance, and
	// ATTACH must see them.
	db.SetMaxOpenConns(1)
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	stmts := []string{
		fmt.Sprintf("SET allowed_paths = [%s, %s, %s]", quote(dst), quote(dst+".wal"), quote(dst+".wal.checkpoint")),
		"SET enable_external_access = false",
		"SET lock_configuration = true",
		fmt.Sprintf("ATTACH %s AS compacted", quote(dst)),
	}
	for _, stmt := range stmts {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("prepare the copy: %w", err)
		}
	}
	var current string
	if err := db.QueryRowContext(ctx, "SELECT current_database()").Scan(&current); err != nil {
		return fmt.Errorf("name the database: %w", err)
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`COPY FROM DATABASE "%s" TO compacted`, strings.ReplaceAll(current, `"`, `""`))); err != nil {
		return fmt.Errorf("copy the data: %w", err)
	}
	// Sequences are copied at their start values; carry on where the old
	// file was, so that no id is ever reused.
	rows, err := db.QueryContext(ctx, `SELECT sequence_name, last_value FROM duckdb_sequences()
		WHERE database_name = ? AND last_value IS NOT NULL`, current)
	if err != nil {
		return fmt.Errorf("read sequences: %w", err)
	}
	type seq struct {
		name string
		last int64
	}
	var seqs []seq
	for rows.Next() {
		var s seq
		if err := rows.Scan(&s.name, &s.last); err != nil {
			rows.Close()
			return fmt.Errorf("read sequences: %w", err)
		}
		seqs = append(seqs, s)
	}
	rows.Close()
	for _, s := range seqs {
		// DuckDB cannot ALTER a sequence's value; advancing it with nextval
		// up to the old last value does the same.
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`SELECT max(nextval('compacted.main."%s"')) FROM range(?)`, s.name), s.last); err != nil {
			return fmt.Errorf("carry sequence %s over: %w", s.name, err)
		}
	}
	// The copy is the finished rewrite: it carries no marker that one is
	// pending.
	if _, err := db.ExecContext(ctx, "DELETE FROM compacted.main.maintenance WHERE kind = 'compact'"); err != nil {
		return fmt.Errorf("clear the pending rewrite: %w", err)
	}
	if _, err := db.ExecContext(ctx, "DETACH compacted"); err != nil {
		return fmt.Errorf("finish the copy: %w", err)
	}
	return nil
}

// compactDSN is dsnOptions without enable_external_access, which
// copyDatabase turns off itself once allowed_paths is set.
var compactDSN = func() neturl.Values {
	out := neturl.Values{}
	for k, v := range dsnOptions {
		if k != "enable_external_access" {
			out[k] = v
		}
	}
	return out
}()

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Checkpoint writes the WAL into the database file, so that the file alone
// is a consistent snapshot for as long as this process holds the lock.
func (s *Store) Checkpoint(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}
