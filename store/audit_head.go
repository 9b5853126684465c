package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/carebook/carebook/internal/atomicfile"
	"golang.org/x/mod/sumdb/tlog"
)

// headSuffix names the tree-head file beside the database.
const headSuffix = ".audit-head"

// HeadPath is the tree-head file for the database at dbPath.
func HeadPath(dbPath string) string { return dbPath + headSuffix }

// Head is the audit log's tree head: how many rows, the Merkle root over
// them, and the last row's hash.
type Head struct {
	Size int64     `json:"size"`
	Tree tlog.Hash `json:"tree"`
	Last string    `json:"last"`
	// Pending is the hash of the last row being committed when the head
	// was written, and PendingRows how many rows that commit adds (one,
	// or a group): the only rows the next open may find beyond Size.
	Pending     string `json:"pending,omitempty"`
	PendingRows int64  `json:"pending_rows,omitempty"`
}

// pendingRows is how many rows the announced commit adds.
func (h Head) pendingRows() int64 {
	if h.Pending == "" {
		return 0
	}
	return max(h.PendingRows, 1)
}

const headMagic = "carebook audit head v1"

func (h Head) marshal() []byte {
	b := fmt.Appendf(nil, "%s\nsize %d\ntree %s\nlast %s\n", headMagic, h.Size, h.Tree, h.Last)
	if h.Pending != "" {
		b = fmt.Appendf(b, "pending %s\n", h.Pending)
		if h.PendingRows > 1 {
			b = fmt.Appendf(b, "pending_rows %d\n", h.PendingRows)
		}
	}
	return b
}

func parseHead(data []byte) (Head, error) {
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) < 4 || len(lines) > 6 || lines[0] != headMagic {
		return Head{}, errors.New("not a carebook audit head: it is truncated or not one at all")
	}
	var h Head
	var err error
	seen := map[string]bool{}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, " ")
		if seen[k] {
			return Head{}, fmt.Errorf("not a carebook audit head: %q appears twice", k)
		}
		seen[k] = true
		switch k {
		case "size":
			h.Size, err = strconv.ParseInt(v, 10, 64)
			if err == nil && h.Size < 0 {
				err = fmt.Errorf("size %d is not a row count", h.Size)
			}
		case "tree":
			h.Tree, err = tlog.ParseHash(v)
		case "last":
			h.Last = v
		case "pending":
			h.Pending = v
		case "pending_rows":
			h.PendingRows, err = strconv.ParseInt(v, 10, 64)
			if err == nil && h.PendingRows < 1 {
				err = fmt.Errorf("pending_rows %d is not a row count", h.PendingRows)
			}
		default:
			err = fmt.Errorf("unknown line %q", k)
		}
		if err != nil {
			return Head{}, fmt.Errorf("not a carebook audit head: %w", err)
		}
	}
	if !seen["size"] || !seen["tree"] || !seen["last"] {
		return Head{}, errors.New("not a carebook audit head: a line is missing")
	}
	return h, nil
}

// ReadHead reads the tree-head file beside the database at dbPath.
func ReadHead(dbPath string) (Head, error) {
	data, err := os.ReadFile(HeadPath(dbPath))
	if err != nil {
		return Head{}, err
	}
	return parseHead(data)
}

// currentHead computes the head of the log as the database holds it, from
// the stored tree hashes: O(log n) reads.
func currentHead(ctx context.Context, q querier) (Head, error) {
	var n int64
	var last sql.NullString
	err := q.QueryRowContext(ctx, `SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&n, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return Head{}, nil
	}
	if err != nil {
		return Head{}, fmt.Errorf("read audit head: %w", err)
	}
	tree, err := tlog.TreeHash(n, treeReader(ctx, q))
	if err != nil {
		return Head{}, fmt.Errorf("read audit head: %w", err)
	}
	return Head{Size: n, Tree: tree, Last: last.String}, nil
}

// writeHead records the current head beside the database, atomically. It
// runs after the commit: a crash in between leaves the head one row behind,
// which the next open checks and catches up.
func (s *Store) writeHead(ctx context.Context) error {
	h, err := currentHead(ctx, s.db)
	if err != nil {
		return err
	}
	s.head, s.headKnown = h, true
	if s.path == ":memory:" {
		return nil
	}
	if err := atomicfile.WriteFile(HeadPath(s.path), h.marshal()); err != nil {
		return headWriteError(s.path, err, false)
	}
	return nil
}

// headWriteError words a failure to write the head file: the folder is
// not writable, the disk is full or read-only. The head is written as a
// new file in the database's folder, renamed over the old one.
func headWriteError(dbPath string, err error, refused bool) error {
	dir := filepath.Dir(dbPath)
	var why string
	switch {
	case errors.Is(err, os.ErrPermission):
		why = fmt.Sprintf("this account may not write in the folder %s; let it (ls -ld %s, then chmod 700 %s as its owner)", dir, dir, dir)
	case errors.Is(err, syscall.ENOSPC):
		why = "the disk is full; free some space"
	case errors.Is(err, syscall.EROFS):
		why = fmt.Sprintf("the folder %s is on a read-only file system; mount it read-write", dir)
	default:
		why = err.Error()
	}
	if refused {
		return fmt.Errorf("cannot write the audit log's head file %s, so nothing was written: %s", HeadPath(dbPath), why)
	}
	return fmt.Errorf("cannot write the audit log's head file %s: %s", HeadPath(dbPath), why)
}

// announce writes the committed head with the hash of the last row about to
// be committed and their number, before the commit. The next open then
// accepts those rows beyond the head (a crash between commit and head), and
// no other: rows appended by anyone else are found. A head that cannot be written (a full
// disk) refuses the write, so nothing is committed that the head cannot
// vouch for.
func (s *Store) announce(tx *Tx) error {
	if tx.head == nil || s.path == ":memory:" {
		return nil
	}
	h := s.head
	h.Pending, h.PendingRows = tx.head.Last, int64(tx.appended)
	if err := atomicfile.WriteFile(HeadPath(s.path), h.marshal()); err != nil {
		return headWriteError(s.path, err, true)
	}
	return nil
}
