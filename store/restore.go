package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/carebook/carebook/internal/atomicfile"
)

// ChannelRestore is the audit channel of the row a restore writes.
const ChannelRestore = "restore"

// RestoreInfo describes the backup being put in place.
type RestoreInfo struct {
	// Made is when the backup was made (its database file's time).
	Made time.Time
	// File is the backup file, as named on the command line.
	File string
}

// RestoreResult says what a restore replaced and where it kept it.
type RestoreResult struct {
	// Replaced is true when a database was there before.
	Replaced bool
	// ReplacedRows is how many audit rows the replaced database held.
	ReplacedRows int64
	// RolledBack is how many of them the restored log does not hold:
	// those after the backup's head, or all of them when the backup is
	// not an earlier state of the same log.
	RolledBack int64
	// Disclosures and Forgets count the rolled-back rows that were
	// disclosures (exports) and forgets: the patients those forgets
	// deleted are back.
	Disclosures, Forgets int
	// KeptIn is the file beside the database that keeps the rolled-back
	// rows (an audit export), or the whole replaced database when it could
	// not be read; empty when nothing was rolled back.
	KeptIn string
	// Unreadable is true when the replaced database could not be opened,
	// so it was kept whole rather than its rows exported.
	Unreadable bool
	// Orphans are what a deleted database had left at dst (a head file, a
	// WAL), moved aside.
	Orphans []string
}

// Sentence is the restore row's message: what was restored and what was
// rolled back.
func (r RestoreResult) Sentence(info RestoreInfo) string {
	s := "restored backup of " + info.Made.UTC().Format("2006-01-02 15:04 UTC")
	switch {
	case !r.Replaced:
		return s + " into a new file"
	case r.Unreadable:
		return s + "; the replaced database could not be read, and is kept whole in " + filepath.Base(r.KeptIn)
	case r.RolledBack == 0:
		return s + "; no later rows were rolled back"
	}
	s += fmt.Sprintf("; %d later %s rolled back", r.RolledBack, plural(r.RolledBack, "row was", "rows were"))
	var of []string
	if r.Disclosures > 0 {
		of = append(of, fmt.Sprintf("%d %s", r.Disclosures, plural(int64(r.Disclosures), "disclosure", "disclosures")))
	}
	if r.Forgets > 0 {
		of = append(of, fmt.Sprintf("%d %s, whose patients are back", r.Forgets, plural(int64(r.Forgets), "forget", "forgets")))
	}
	if len(of) > 0 {
		s += " (" + strings.Join(of, ", ") + ")"
	}
	return s + ", kept in " + filepath.Base(r.KeptIn)
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// restoreAction is the restore row's action: enough for audit verify to
// show the epoch without the file.
type restoreAction struct {
	Tool string      `json:"tool"`
	Args restoreArgs `json:"args"`
}

type restoreArgs struct {
	Backup       string `json:"backup"`
	BackupOf     string `json:"backup_of"`
	BackupRows   int64  `json:"backup_rows"`
	ReplacedRows int64  `json:"replaced_rows"`
	ReplacedTree string `json:"replaced_tree,omitempty"`
	RolledBack   int64  `json:"rolled_back"`
	Disclosures  int    `json:"disclosures,omitempty"`
	Forgets      int    `json:"forgets,omitempty"`
	KeptIn       string `json:"kept_in,omitempty"`
	Unreadable   bool   `json:"unreadable,omitempty"`
}

// RestoreEpoch is one restore found in the log: from its row on, the log
// continues a backup's, and the rows the replaced database held after it
// are kept in KeptIn.
type RestoreEpoch struct {
	Row          int64     `json:"row"`
	At           time.Time `json:"at"`
	BackupOf     string    `json:"backup_of"`
	ReplacedRows int64     `json:"replaced_rows"`
	RolledBack   int64     `json:"rolled_back"`
	Disclosures  int       `json:"disclosures,omitempty"`
	Forgets      int       `json:"forgets,omitempty"`
	KeptIn       string    `json:"kept_in,omitempty"`
	Unreadable   bool      `json:"unreadable,omitempty"`
}

// restoreEpoch reads a restore row's action, or reports false.
func restoreEpoch(r storedRow) (RestoreEpoch, bool) {
	if r.Channel != ChannelRestore || r.redacted {
		return RestoreEpoch{}, false
	}
	var a restoreAction
	if json.Unmarshal([]byte(r.Action), &a) != nil || a.Tool != "restore" {
		return RestoreEpoch{}, false
	}
	return RestoreEpoch{Row: r.Seq, At: r.At, BackupOf: a.Args.BackupOf, ReplacedRows: a.Args.ReplacedRows,
		RolledBack: a.Args.RolledBack, Disclosures: a.Args.Disclosures, Forgets: a.Args.Forgets,
		KeptIn: a.Args.KeptIn, Unreadable: a.Args.Unreadable}, true
}

// Restore puts the checked database at src (with its audit head beside it)
// in place of the one at dst, and records that in the restored log. It
// holds dst's lock file throughout, so that no carebook process writes to
// the old file in between (and carebook serve, holding it, makes it refuse
// with a *ServerHoldsError).
//
// Restoring an older backup would otherwise roll the audit history back in
// silence: the replaced database's rows after the backup's head (all of
// them, when the backup is not an earlier state of the same log) are first
// written beside the database as an audit export (0600), and the restored
// log's first new row says so, which audit verify shows. A replaced file
// that cannot be opened at all is kept whole instead.
func Restore(ctx context.Context, dst, src string, opts Options, info RestoreInfo) (RestoreResult, error) {
	var res RestoreResult
	opts = opts.withDefaults()
	if err := CheckBoundary(dst); err != nil {
		return res, err
	}
	holder := opts.Holder
	if holder.PID == 0 {
		holder.PID = os.Getpid()
	}
	lock, err := acquireLock(ctx, dst, holder, opts.LockTimeout, opts.OnWait)
	if err != nil {
		return res, err
	}
	handed := false
	defer func() {
		if !handed {
			lock.release()
		}
	}()
	stamp := opts.AuditClock().UTC().Format("20060102-150405")
	backupHead, err := ReadHead(src)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, fmt.Errorf("restore: the backup's audit head: %w", err)
	}
	if _, err := os.Stat(dst); err == nil {
		res.Replaced = true
		if err := keepReplaced(ctx, dst, opts, lock, backupHead, stamp, &res); err != nil {
			return res, err
		}
	} else if res.Orphans, err = moveOrphans(dst, opts.AuditClock()); err != nil {
		// What a deleted database left is evidence: kept, not removed.
		return res, err
	}
	// A WAL or tree head left by the database being replaced belongs to
	// it, and would be read against the restored file.
	for _, p := range []string{dst + ".wal", HeadPath(dst)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return res, fmt.Errorf("restore: %w", err)
		}
	}
	if err := os.Rename(src, dst); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	if err := os.Rename(HeadPath(src), HeadPath(dst)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, fmt.Errorf("restore: %w", err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	st, err := openLocked(ctx, dst, opts, lock, false, opts.LockTimeout)
	if err != nil {
		return res, fmt.Errorf("restore: the backup is in place at %s, but it does not open: %w", dst, err)
	}
	handed = true
	defer st.Close()
	action, _ := json.Marshal(restoreAction{Tool: "restore", Args: restoreArgs{
		Backup: filepath.Base(info.File), BackupOf: info.Made.UTC().Format(time.RFC3339), BackupRows: backupHead.Size,
		ReplacedRows: res.ReplacedRows, RolledBack: res.RolledBack, Disclosures: res.Disclosures, Forgets: res.Forgets,
		KeptIn: filepath.Base(res.KeptIn), Unreadable: res.Unreadable}})
	if err := st.LogOutcome(ctx, AuditEntry{Channel: ChannelRestore, Action: string(action)}, nil, int(res.RolledBack), OutcomeOK, res.Sentence(info)); err != nil {
		return res, fmt.Errorf("restore: the backup is in place at %s, but recording the restore in its audit log failed: %w", dst, err)
	}
	return res, st.Close()
}

// keepReplaced writes the replaced database's rolled-back audit rows beside
// it, or, when it cannot be opened, moves it aside whole.
func keepReplaced(ctx context.Context, dst string, opts Options, lock *fileLock, backupHead Head, stamp string, res *RestoreResult) error {
	old, err := openLocked(ctx, dst, opts, lock, false, opts.LockTimeout)
	var locked *LockedError
	if errors.As(err, &locked) {
		return err
	}
	if err != nil {
		// Damaged, most likely: the reason for the restore.
		return keepWhole(dst, stamp, res)
	}
	err = exportRolledBack(ctx, old, dst, backupHead, stamp, res)
	// The lock stays ours: close DuckDB only.
	old.db.Close()
	var damaged *DamagedError
	if errors.As(Damaged(dst, err), &damaged) {
		*res = RestoreResult{Replaced: true}
		return keepWhole(dst, stamp, res)
	}
	return err
}

// keepWhole moves the replaced database, with its WAL and head, aside
// whole: its rows cannot be read one by one.
func keepWhole(dst, stamp string, res *RestoreResult) error {
	res.Unreadable = true
	res.KeptIn = dst + ".replaced-" + stamp
	for _, ext := range []string{"", ".wal", headSuffix} {
		if err := os.Rename(dst+ext, res.KeptIn+ext); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restore: keep the replaced database: %w", err)
		}
	}
	return nil
}

// exportRolledBack writes the replaced database's rows that the backup's
// log does not hold to a file beside it.
func exportRolledBack(ctx context.Context, old *Store, dst string, backupHead Head, stamp string, res *RestoreResult) error {
	if err := old.db.QueryRowContext(ctx, `SELECT count(*) FROM audit_log`).Scan(&res.ReplacedRows); err != nil {
		return fmt.Errorf("restore: read the replaced database's audit log: %w", err)
	}
	after := int64(0)
	if backupHead.Size > 0 {
		var h sql.NullString
		err := old.db.QueryRowContext(ctx, `SELECT row_hash FROM audit_log WHERE seq = ?`, backupHead.Size).Scan(&h)
		if err == nil && h.String == backupHead.Last {
			after = backupHead.Size
		}
	}
	res.RolledBack = max(res.ReplacedRows-after, 0)
	if res.RolledBack == 0 {
		return nil
	}
	err := old.db.QueryRowContext(ctx, `SELECT
		count(*) FILTER (WHERE channel = 'export' AND starts_with(coalesce(message, ''), 'disclosure:')),
		count(*) FILTER (WHERE action LIKE '%"tool":"forget"%' AND outcome = 'ok')
		FROM audit_log WHERE seq > ?`, after).Scan(&res.Disclosures, &res.Forgets)
	if err != nil {
		return fmt.Errorf("restore: read the replaced database's audit log: %w", err)
	}
	res.KeptIn = dst + ".rolled-back-" + stamp + ".jsonl"
	var wh where
	wh.add("seq > ?", after)
	err = atomicfile.Write(res.KeptIn, atomicfile.Options{NoReplace: true}, func(w io.Writer) error {
		_, err := old.exportAudit(ctx, wh, w)
		return err
	})
	if err != nil {
		return fmt.Errorf("restore: keep the %d audit rows the backup does not hold, so nothing was replaced: %w", res.RolledBack, err)
	}
	return nil
}
