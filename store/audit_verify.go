package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// AuditReport is what a full verification found.
type AuditReport struct {
	Rows     int64     `json:"rows"`
	Redacted int64     `json:"redacted"`
	Tree     tlog.Hash `json:"tree"`
	Head     *Head     `json:"head,omitempty"`
	// Restores are the restores of a backup the log records: at each, the
	// rows the replaced database held after the backup were rolled back
	// and kept in a file beside the database.
	Restores []RestoreEpoch `json:"restores,omitempty"`
}

// VerifyAudit recomputes every row's commitments and hash, the chain and
// the tree, and compares the result with the stored tree hashes and the head
// file. The first bad row is named in an *AuditIntegrityError.
func (s *Store) VerifyAudit(ctx context.Context) (AuditReport, error) {
	rep, leaves, err := verifyLeaves(ctx, s.db, 0, "")
	if err != nil {
		return rep, Damaged(s.path, err)
	}
	if rep.Rows > 0 {
		stored, err := tlog.TreeHash(rep.Rows, treeReader(ctx, s.db))
		if d := Damaged(s.path, err); d != err {
			return rep, d
		}
		if err != nil || stored != rep.Tree {
			return rep, &AuditIntegrityError{Problem: "the stored tree hashes do not match the rows (the tree was rewritten)"}
		}
	}
	if s.path == ":memory:" {
		return rep, nil
	}
	head, err := ReadHead(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist) && rep.Rows == 0:
		return rep, nil
	case errors.Is(err, os.ErrNotExist):
		return rep, headMissing(HeadPath(s.path), rep.Rows)
	case errors.Is(err, os.ErrPermission):
		return rep, headUnreadable(s.path)
	case err != nil:
		return rep, headDamaged(HeadPath(s.path), err)
	}
	rep.Head = &head
	if head.Size > rep.Rows {
		for i, l := range leaves {
			if l.String() == head.Last {
				return rep, headDamaged(HeadPath(s.path), fmt.Errorf("it says %d rows, but its last row is row %d", head.Size, i+1))
			}
		}
		return rep, &AuditIntegrityError{Row: rep.Rows + 1, Problem: fmt.Sprintf("missing: the head file says %d rows were written, the log ends at row %d (truncated)", head.Size, rep.Rows)}
	}
	if head.Size > 0 {
		// From the recomputed rows, not the stored tree: a rewrite that
		// left the old tree nodes in place must not pass.
		if treeOf(leaves[:head.Size]) != head.Tree {
			return rep, &AuditIntegrityError{Problem: fmt.Sprintf("the first %d rows do not match the head file (rows were rewritten)", head.Size)}
		}
		if leaves[head.Size-1].String() != head.Last {
			return rep, &AuditIntegrityError{Row: head.Size, Problem: "its hash does not match the head file (rows were rewritten)"}
		}
	}
	if rep.Rows > head.Size && (rep.Rows != head.Size+head.pendingRows() || leaves[rep.Rows-1].String() != head.Pending) {
		return rep, &AuditIntegrityError{Row: head.Size + 1, Problem: fmt.Sprintf("it lies beyond the head file (%d rows), and Carebook did not announce it (inserted)", head.Size)}
	}
	if s.auditBroken != nil {
		return rep, s.auditBroken.Cause
	}
	return rep, nil
}

// verifyRows checks the rows after seq `after`, whose predecessor's hash is
// prev, and returns the tree over all rows when after is 0.
func verifyRows(ctx context.Context, q querier, after int64, prev string) (AuditReport, error) {
	rep, _, err := verifyLeaves(ctx, q, after, prev)
	return rep, err
}

// verifyLeaves is verifyRows, returning the recomputed row hashes too.
func verifyLeaves(ctx context.Context, q querier, after int64, prev string) (AuditReport, []tlog.Hash, error) {
	var rep AuditReport
	rows, err := q.QueryContext(ctx, auditSelect+` WHERE seq > ? ORDER BY seq`, after)
	if err != nil {
		return rep, nil, fmt.Errorf("verify audit log: %w", err)
	}
	defer rows.Close()
	var leaves []tlog.Hash
	redacted := map[int64]bool{}
	want := after + 1
	for rows.Next() {
		r, err := scanStored(rows)
		if err != nil {
			return rep, leaves, fmt.Errorf("verify audit log: %w", err)
		}
		if bad := checkRow(r, want, prev); bad != nil {
			return rep, leaves, bad
		}
		h, _ := tlog.ParseHash(r.Hash)
		leaves = append(leaves, h)
		prev = r.Hash
		want++
		rep.Rows++
		if e, ok := restoreEpoch(r); ok {
			rep.Restores = append(rep.Restores, e)
		}
		if r.redacted {
			rep.Redacted++
			redacted[r.Seq] = true
		}
		for _, seq := range redactedBy(r) {
			if seq < r.Seq {
				delete(redacted, seq)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return rep, leaves, fmt.Errorf("verify audit log: %w", err)
	}
	if len(redacted) > 0 && after == 0 {
		first := slices.Min(slices.Collect(maps.Keys(redacted)))
		return rep, leaves, &AuditIntegrityError{Row: first, Problem: "its text was removed, but no forget recorded it (edited)"}
	}
	if after == 0 {
		rep.Tree = treeOf(leaves)
	}
	return rep, leaves, nil
}

// redactedBy lists the rows that row r, a forget, redacted.
func redactedBy(r storedRow) []int64 {
	if r.redacted || !strings.Contains(r.Action, "redacted_rows") {
		return nil
	}
	var act struct {
		Tool     string  `json:"tool"`
		Redacted []int64 `json:"redacted_rows"`
	}
	if json.Unmarshal([]byte(r.Action), &act) != nil || act.Tool != "forget" {
		return nil
	}
	return act.Redacted
}

// checkRow names what is wrong with row r, expected at seq want after a row
// whose hash is prev.
func checkRow(r storedRow, want int64, prev string) *AuditIntegrityError {
	switch {
	case r.Seq > want:
		return &AuditIntegrityError{Row: want, Problem: "missing (deleted)"}
	case r.Seq < want:
		return &AuditIntegrityError{Row: r.Seq, Problem: "appears twice"}
	case !r.hasHashes:
		return &AuditIntegrityError{Row: r.Seq, Problem: "has no hash (inserted by hand)"}
	case r.badIDs:
		return &AuditIntegrityError{Row: r.Seq, Problem: "its patient ids are malformed (edited)"}
	}
	if r.redacted && r.hasText {
		return &AuditIntegrityError{Row: r.Seq, Problem: "a forget removed its text, but there is text in it again (edited)"}
	}
	if !r.redacted {
		if commit("request", r.salt, r.Request) != r.requestC ||
			commit("action", r.salt, r.Action) != r.actionC ||
			commit("message", r.salt, r.Message) != r.msgC {
			return &AuditIntegrityError{Row: r.Seq, Problem: "its text does not match its commitment (edited)"}
		}
	}
	if r.leafHash().String() != r.Hash {
		return &AuditIntegrityError{Row: r.Seq, Problem: "its content does not match its hash (edited)"}
	}
	if r.prev != prev {
		return &AuditIntegrityError{Row: r.Seq, Problem: fmt.Sprintf("does not follow row %d (a row was deleted, inserted or moved)", r.Seq-1)}
	}
	return nil
}
