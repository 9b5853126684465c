package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// appendAudit writes one row, its tree hashes, in the caller's transaction.
// The caller holds s.auditMu until it has committed or rolled back, so that
// the next row sees this one as its predecessor.
func (tx *Tx) appendAudit(ctx context.Context, entry AuditEntry, outcome Outcome, message string) error {
	if err := tx.store.auditBroken; err != nil {
		return err
	}
	ids := slices.Clone(tx.touched)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if ids == nil {
		ids = []int64{}
	}
	var last sql.NullInt64
	var prev sql.NullString
	switch h := tx.store.head; {
	case tx.head != nil:
		// A group commit: this row follows the group's previous one.
		last.Int64, prev.String = tx.head.Size, tx.head.Last
	case tx.store.headKnown:
		last.Int64, prev.String = h.Size, h.Last
	default:
		err := tx.conn.QueryRowContext(ctx, `SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("write audit log: %w", err)
		}
	}
	if len(tx.redacted) > 0 {
		var act map[string]any
		if err := json.Unmarshal([]byte(entry.Action), &act); err != nil {
			return fmt.Errorf("write audit log: the action of a redacting write is not JSON: %w", err)
		}
		act["redacted_rows"] = tx.redacted
		b, _ := json.Marshal(act)
		entry.Action = string(b)
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	who := tx.store.identity(entry)
	row := storedRow{
		AuditRow: AuditRow{
			// The audit log carries the real clock, whatever "today" is
			// for relative dates: a fixed CAREBOOK_NOW must not backdate
			// (or hide) a read. The row says when it was set.
			Seq: last.Int64 + 1, At: tx.store.auditNow().UTC().Truncate(time.Microsecond),
			User: who.OSUser, Staff: who.Staff, Mode: who.Mode, Host: who.Host, Channel: entry.Channel,
			Request: entry.Request, Action: entry.Action, PatientIDs: ids, Rows: tx.rows,
			Outcome: outcome, Message: message, Model: entry.Model, ModelDigest: entry.ModelDigest,
			FixedNow: tx.store.fixedNow, LeafV: leafVersion,
		},
		salt: salt, prev: prev.String,
	}
	row.requestC = commit("request", salt, row.Request)
	row.actionC = commit("action", salt, row.Action)
	row.msgC = commit("message", salt, row.Message)
	leaf := row.leafHash()
	// The row and its tree hashes are inserted with the others of this
	// transaction just before it commits (flushAudit): one statement each
	// for a whole group, rather than two per row.
	tx.auditRows = append(tx.auditRows, []any{row.Seq, row.At, row.User, nullable(row.Staff), nullable(row.Mode), row.Host, row.Channel,
		nullable(row.Request), row.Action, formatIDs(ids), row.Rows, string(outcome), nullable(message), nullable(row.Model),
		nullable(row.ModelDigest), nullable(row.FixedNow), row.LeafV, salt, row.requestC, row.actionC, row.msgC, row.prev, leaf.String()})
	// The store's cache of tree hashes is only read here: this transaction
	// may roll back. What it reads and adds goes to pending, which the
	// store keeps once the transaction commits; the hashes this
	// transaction adds are found there before they are inserted.
	pending := tx.treeCache
	if pending == nil {
		pending = map[int64]tlog.Hash{}
	}
	hashes := cachedReader(treeReader(ctx, tx.conn), tx.store.treeCache, pending)
	idx, vals, err := treeHashes(row.Seq-1, leaf, hashes, pending)
	if err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	tx.treeIdx, tx.treeVals = append(tx.treeIdx, idx...), append(tx.treeVals, vals...)
	tree, err := tlog.TreeHash(row.Seq, hashes)
	if err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	tx.head = &Head{Size: row.Seq, Tree: tree, Last: leaf.String()}
	tx.treeCache = pending
	tx.appended++
	return nil
}

// auditColumns are audit_log's columns in the order appendAudit gives them.
const auditColumns = `(seq, logged_at, os_user, staff, mode, host, channel, request, action, patient_ids, rows_affected, outcome, message,
	model, model_digest, fixed_now, leaf_v, salt, request_commit, action_commit, message_commit, prev_hash, row_hash)`

// flushAudit inserts the audit rows and tree hashes appendAudit prepared,
// in the transaction, before it commits.
func (tx *Tx) flushAudit(ctx context.Context) error {
	if len(tx.auditRows) > 0 {
		row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(tx.auditRows[0])), ", ") + ")"
		values := make([]string, len(tx.auditRows))
		var args []any
		for i, r := range tx.auditRows {
			values[i] = row
			args = append(args, r...)
		}
		if _, err := tx.conn.ExecContext(ctx, `INSERT INTO audit_log `+auditColumns+` VALUES `+strings.Join(values, ", "), args...); err != nil {
			return fmt.Errorf("write audit log: %w", err)
		}
		tx.auditRows = nil
	}
	if len(tx.treeIdx) > 0 {
		if _, err := tx.conn.ExecContext(ctx, `INSERT INTO audit_tree SELECT unnest(?::BIGINT[]), unnest(?::VARCHAR[])`, tx.treeIdx, tx.treeVals); err != nil {
			return fmt.Errorf("write audit log: tree hashes: %w", err)
		}
		tx.treeIdx, tx.treeVals = nil, nil
	}
	return nil
}
