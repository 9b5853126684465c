package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// storeTreeHashes adds record n's interior tree hashes to audit_tree,
// reading earlier ones through r, and records them in keep when it is not
// nil.
func storeTreeHashes(ctx context.Context, q querier, n int64, leaf tlog.Hash, r tlog.HashReader, keep map[int64]tlog.Hash) error {
	idx, vals, err := treeHashes(n, leaf, r, keep)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO audit_tree SELECT unnest(?::BIGINT[]), unnest(?::VARCHAR[])`, idx, vals)
	if err != nil {
		return fmt.Errorf("tree hashes: %w", err)
	}
	return nil
}

// treeHashes computes record n's interior tree hashes, to be stored at idx
// (as vals), reading earlier ones through r, and records them in keep when
// it is not nil.
func treeHashes(n int64, leaf tlog.Hash, r tlog.HashReader, keep map[int64]tlog.Hash) (idx []int64, vals []string, err error) {
	hashes, err := tlog.StoredHashesForRecordHash(n, leaf, r)
	if err != nil {
		return nil, nil, fmt.Errorf("tree hashes: %w", err)
	}
	first := tlog.StoredHashIndex(0, n)
	idx = make([]int64, len(hashes))
	vals = make([]string, len(hashes))
	for i, h := range hashes {
		idx[i] = first + int64(i)
		vals[i] = hex.EncodeToString(h[:])
		if keep != nil {
			keep[idx[i]] = h
		}
	}
	return idx, vals, nil
}

// cachedReader answers from committed, then pending, what they hold, and
// asks next for the rest, which it adds to pending. The tree's stored
// hashes never change once written, so a cache of them is never stale; it
// saves the queries of every append. committed (the store's, nil at first)
// is only read: the transaction using the reader may roll back, and the
// store keeps pending only once it commits.
func cachedReader(next tlog.HashReader, committed, pending map[int64]tlog.Hash) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		var missing []int64
		var at []int // positions in out of the missing hashes
		for i, x := range indexes {
			if h, ok := committed[x]; ok {
				out[i] = h
			} else if h, ok := pending[x]; ok {
				out[i] = h
			} else {
				missing = append(missing, x)
				at = append(at, i)
			}
		}
		if len(missing) == 0 {
			return out, nil
		}
		got, err := next.ReadHashes(missing)
		if err != nil {
			return nil, err
		}
		for k, i := range at {
			out[i] = got[k]
			pending[missing[k]] = got[k]
		}
		return out, nil
	})
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func treeReader(ctx context.Context, q querier) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		// One placeholder per index: an IN list of constants is answered
		// from the primary-key index, where list_contains would scan the
		// whole tree table on every audit row.
		marks := strings.TrimSuffix(strings.Repeat("?,", len(indexes)), ",")
		args := make([]any, len(indexes))
		for i, x := range indexes {
			args[i] = x
		}
		if len(indexes) == 0 {
			return nil, nil
		}
		rows, err := q.QueryContext(ctx, `SELECT idx, hash FROM audit_tree WHERE idx IN (`+marks+`)`, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		got := make(map[int64]tlog.Hash, len(indexes))
		for rows.Next() {
			var i int64
			var x string
			if err := rows.Scan(&i, &x); err != nil {
				return nil, err
			}
			var h tlog.Hash
			if b, err := hex.DecodeString(x); err != nil || len(b) != len(h) {
				return nil, fmt.Errorf("tree hash %d is malformed", i)
			} else {
				copy(h[:], b)
			}
			got[i] = h
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		out := make([]tlog.Hash, len(indexes))
		for k, i := range indexes {
			h, ok := got[i]
			if !ok {
				return nil, fmt.Errorf("tree hash %d is missing", i)
			}
			out[k] = h
		}
		return out, nil
	})
}

// treeOf is the RFC 6962 Merkle tree hash over leaf hashes, the same as
// tlog.TreeHash over stored hashes; computing it from the rows alone means
// verification does not trust audit_tree.
func treeOf(leaves []tlog.Hash) tlog.Hash {
	switch len(leaves) {
	case 0:
		return tlog.Hash{}
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return tlog.NodeHash(treeOf(leaves[:k]), treeOf(leaves[k:]))
}

// trimTreeCache keeps the cache from growing with the log in a long-lived
// server: appending the next row and computing the head read only the
// right frontier of the tree, one stored hash per level, so once the cache
// is large the rest is dropped (it can always be read again).
func (s *Store) trimTreeCache() {
	const keepBelow = 4096
	if len(s.treeCache) < keepBelow || !s.headKnown {
		return
	}
	n := s.head.Size
	frontier := make(map[int64]tlog.Hash, 64)
	for level := 0; level < 63 && n>>level > 0; level++ {
		if (n>>level)&1 == 1 {
			idx := tlog.StoredHashIndex(level, (n>>level)-1)
			if h, ok := s.treeCache[idx]; ok {
				frontier[idx] = h
			}
		}
	}
	s.treeCache = frontier
}
