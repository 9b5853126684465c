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

// Compact rewrites the database file so that deleted rows are gone from the
// disk, not merely unlinked: DuckDB reuses freed blocks lazily, and until
// then a deleted patient's bytes stay in the file, as they may in an old WAL.
// It copies the live data into a new file beside the old one (COPY FROM
// DATABASE), makes it durable and renames it over the old one, so that a
// crash leaves either the old file or the new one, whole.
//
// The copy needs ATTACH, which the hardened configuration forbids. DuckDB
// allows exactly the paths listed in allowed_paths when external access is
// off, and that list can only be set before access is turned off: so this
// connection lists the new file and its WAL files, then turns access off and
// locks the configuration like any other. Nothing else is reachable.
//
// No other connection to path may be open.
func Compact(ctx context.Context, path string, opts Options) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("compact %s: %w", path, err)
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	tmp := abs + ".compact"
	for _, p := range []string{tmp, tmp + ".wal", tmp + ".wal.checkpoint"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("compact %s: remove leftover %s: %w", path, p, err)
		}
	}
	if err := copyDatabase(ctx, abs, tmp, opts); err != nil {
		os.Remove(tmp)
		os.Remove(tmp + ".wal")
		return fmt.Errorf("compact %s: %w", path, err)
	}
	if err := syncFile(tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compact %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compact %s: %w", path, err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compact %s: replace the file: %w", path, err)
	}
	// The old file's WAL was checkpointed when its last connection closed;
	// one left over from a crash belongs to the old file and must not be
	// replayed into the new one.
	if err := os.Remove(abs + ".wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("compact %s: remove the old WAL: %w", path, err)
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
