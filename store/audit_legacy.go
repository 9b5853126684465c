package store

import (
	"context"
	"crypto/rand"
	"time"
)

// sealLegacyRows hashes rows written before the log was hash-chained
// (schema version 1), in the migration's transaction.
func sealLegacyRows(ctx context.Context, q querier) (int, error) {
	rows, err := q.QueryContext(ctx, auditSelectV1+` ORDER BY seq`)
	if err != nil {
		return 0, err
	}
	var all []storedRow
	for rows.Next() {
		r, err := scanStored(rows)
		if err != nil {
			rows.Close()
			return 0, err
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	prev := ""
	for i, r := range all {
		// Renumber densely: version 1 never left gaps, and the chain needs none.
		r.Seq = int64(i + 1)
		r.salt = make([]byte, 16)
		rand.Read(r.salt)
		r.requestC = commit("request", r.salt, r.Request)
		r.actionC = commit("action", r.salt, r.Action)
		r.msgC = commit("message", r.salt, r.Message)
		r.prev = prev
		r.At = r.At.Truncate(time.Microsecond)
		leaf := r.leafHash()
		if _, err := q.ExecContext(ctx, `UPDATE audit_log SET salt = ?, request_commit = ?, action_commit = ?, message_commit = ?,
			prev_hash = ?, row_hash = ? WHERE seq = ?`, r.salt, r.requestC, r.actionC, r.msgC, r.prev, leaf.String(), all[i].Seq); err != nil {
			return 0, err
		}
		if err := storeTreeHashes(ctx, q, r.Seq-1, leaf, treeReader(ctx, q), nil); err != nil {
			return 0, err
		}
		prev = leaf.String()
	}
	return len(all), nil
}
