package store

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/carebook/carebook/internal/atomicfile"
	"golang.org/x/mod/sumdb/tlog"
)

// checkAudit is the open-time check: cheap (O(log n) reads plus the rows
// written after the head, if a crash left it behind), and it catches a
// truncated, shortened, renumbered or rehashed log and a missing head file.
// Edits that leave the stored hashes alone are audit verify's to find: it
// recomputes every row.
func (s *Store) checkAudit(ctx context.Context, sealed bool) error {
	var count, minSeq, maxSeq int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(min(seq), 1), coalesce(max(seq), 0) FROM audit_log`).Scan(&count, &minSeq, &maxSeq); err != nil {
		return Damaged(s.path, fmt.Errorf("check audit log: %w", err))
	}
	if count != maxSeq || minSeq != 1 {
		return &AuditIntegrityError{Problem: fmt.Sprintf("it holds %d rows numbered %d to %d: rows were deleted or renumbered", count, minSeq, maxSeq)}
	}
	if s.path == ":memory:" {
		return nil
	}
	head, err := ReadHead(s.path)
	if errors.Is(err, os.ErrNotExist) {
		if count == 0 || sealed {
			return s.writeHead(ctx)
		}
		return headMissing(HeadPath(s.path), count)
	}
	if errors.Is(err, os.ErrPermission) {
		// Not damage: a mode or an owner to fix.
		return headUnreadable(s.path)
	}
	if err != nil {
		return headDamaged(HeadPath(s.path), err)
	}
	if head.Size > count {
		return s.beyondLog(ctx, head, count)
	}
	if head.Size > 0 {
		tree, err := tlog.TreeHash(head.Size, treeReader(ctx, s.db))
		if d := Damaged(s.path, err); d != err {
			return d // a damaged file, not a rewritten log
		}
		if err != nil || tree != head.Tree {
			return &AuditIntegrityError{Problem: fmt.Sprintf("the first %d rows no longer match the head file (rows were rewritten)", head.Size)}
		}
		var last string
		err = s.db.QueryRowContext(ctx, `SELECT coalesce(row_hash, '') FROM audit_log WHERE seq = ?`, head.Size).Scan(&last)
		if d := Damaged(s.path, err); d != err {
			return d
		}
		if err != nil || last != head.Last {
			return &AuditIntegrityError{Row: head.Size, Problem: "its hash does not match the head file (rows were rewritten)"}
		}
	}
	if count > head.Size {
		// Only the rows announced before a commit may lie beyond the head:
		// a crash between that commit and the head's update.
		var last string
		if err := s.db.QueryRowContext(ctx, `SELECT coalesce(row_hash, '') FROM audit_log WHERE seq = ?`, count).Scan(&last); err != nil {
			return fmt.Errorf("check audit log: %w", err)
		}
		if count != head.Size+head.pendingRows() || last != head.Pending {
			return &AuditIntegrityError{Row: head.Size + 1, Problem: fmt.Sprintf("it lies beyond the head file (%d rows), and Carebook did not announce it (inserted)", head.Size)}
		}
		if _, err := verifyRows(ctx, s.db, head.Size, head.Last); err != nil {
			return err
		}
		return s.writeHead(ctx)
	}
	if head.Pending != "" {
		// A commit that was announced but did not happen.
		head.Pending, head.PendingRows = "", 0
		if err := atomicfile.WriteFile(HeadPath(s.path), head.marshal()); err != nil {
			return headWriteError(s.path, err, false)
		}
	}
	s.head, s.headKnown = head, true
	return nil
}

// beyondLog words a head that counts more rows than the log holds. Rows cut
// from the end take the head's last row with them; a head whose last row
// is still in the log, at another place, is a damaged head, not a
// truncated log.
func (s *Store) beyondLog(ctx context.Context, head Head, count int64) error {
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT seq FROM audit_log WHERE row_hash = ?`, head.Last).Scan(&at)
	if err == nil && at != head.Size {
		return headDamaged(HeadPath(s.path), fmt.Errorf("it says %d rows, but its last row is row %d", head.Size, at))
	}
	return &AuditIntegrityError{Row: count + 1, Problem: fmt.Sprintf("missing: the head file says %d rows were written, the log ends at row %d (truncated)", head.Size, count)}
}

// headUnreadable says the head file's mode or owner keeps this account out.
func headUnreadable(dbPath string) error {
	p := HeadPath(dbPath)
	return fmt.Errorf("cannot read the audit log's head file %s: permission denied; it belongs to another account or its mode is wrong (ls -l %s, then chmod 600 %s as its owner)", p, p, p)
}
