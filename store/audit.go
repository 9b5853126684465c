package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// The audit log is tamper-evident in three layers:
//
//   - Each row's hash covers its content and the previous row's hash (a
//     chain), so an edited, deleted, inserted or reordered row breaks every
//     hash after it.
//   - The row hashes are the leaves of a Merkle tree (RFC 6962, through
//     golang.org/x/mod/sumdb/tlog), whose interior hashes live in audit_tree.
//     Its head (size and root hash) is written after every commit to a small
//     file beside the database, so truncating the log, or rewriting it and
//     recomputing every hash inside the database, no longer matches the head.
//   - Free text (the request, the action and the message) is not hashed
//     directly: the row hashes a salted commitment of each, stored beside the
//     text. Forgetting a patient deletes the text and the salt of the rows
//     that name them, and the commitments still verify the row. Without the
//     salt, a commitment cannot be tested against guessed text.
//
// Anyone who can write both files can recompute everything; the anchor
// against that is an offline copy (audit export), which audit verify --file
// checks against the live log.

// headSuffix names the tree-head file beside the database.
const headSuffix = ".audit-head"

// HeadPath is the tree-head file for the database at dbPath.
func HeadPath(dbPath string) string { return dbPath + headSuffix }

// AuditIntegrityError says the audit log failed a check. Row is the first
// bad row (0 when the problem is not one row's).
type AuditIntegrityError struct {
	Row     int64
	Problem string
}

func (e *AuditIntegrityError) Error() string {
	where := "the audit log"
	if e.Row > 0 {
		where = fmt.Sprintf("audit row %d", e.Row)
	}
	return fmt.Sprintf("%s: %s", where, e.Problem)
}

// AuditBrokenError is what every write and every audited read returns after
// the open-time check failed: nothing is recorded in a log that does not
// verify, until someone has looked.
type AuditBrokenError struct {
	Cause *AuditIntegrityError
}

func (e *AuditBrokenError) Error() string {
	return fmt.Sprintf("the audit log does not match its records (%v); Carebook records nothing more until this is investigated: run `carebook audit verify`, and restore the last good backup if the log was tampered with", e.Cause)
}

func (e *AuditBrokenError) Unwrap() error { return e.Cause }

// ErrAuditBroken matches any AuditBrokenError with errors.Is.
var ErrAuditBroken = errors.New("audit log broken")

func (e *AuditBrokenError) Is(target error) bool { return target == ErrAuditBroken }

// auditLeaf is the canonical content a row hash covers. JSON of a struct has
// a fixed field order, so the encoding is deterministic. Never change a field:
// rows already written were hashed with these.
type auditLeaf struct {
	V          int     `json:"v"`
	Seq        int64   `json:"seq"`
	Prev       string  `json:"prev"`
	At         string  `json:"at"`
	User       string  `json:"user"`
	Host       string  `json:"host"`
	Channel    string  `json:"channel"`
	Request    string  `json:"request_c"`
	Action     string  `json:"action_c"`
	Message    string  `json:"message_c"`
	PatientIDs []int64 `json:"patient_ids"`
	Rows       int64   `json:"rows"`
	Outcome    string  `json:"outcome"`
	Model      string  `json:"model"`
	Digest     string  `json:"model_digest"`
}

const leafVersion = 1

// auditTime is how logged_at enters the hash: DuckDB keeps microseconds.
const auditTime = "2006-01-02T15:04:05.000000Z"

func (l auditLeaf) hash() tlog.Hash {
	data, err := json.Marshal(l)
	if err != nil {
		panic(err) // a struct of strings and ints always encodes
	}
	return tlog.RecordHash(data)
}

// commit is the salted commitment to one text field of a row.
func commit(field string, salt []byte, text string) string {
	h := sha256.New()
	h.Write([]byte("carebook audit commitment\x00"))
	h.Write([]byte(field))
	h.Write([]byte{0})
	h.Write(salt)
	h.Write([]byte(text))
	return hex.EncodeToString(h.Sum(nil))
}

// storedRow is an audit row with everything verification needs.
type storedRow struct {
	AuditRow
	salt                    []byte
	requestC, actionC, msgC string
	prev                    string
	redacted                bool
	hasHashes               bool
	badIDs                  bool
	// hasText says the request, action, message or salt is not NULL: a
	// redacted row must have none of them.
	hasText bool
}

func (r storedRow) leaf() auditLeaf {
	ids := r.PatientIDs
	if ids == nil {
		ids = []int64{}
	}
	return auditLeaf{
		V: leafVersion, Seq: r.Seq, Prev: r.prev, At: r.At.UTC().Format(auditTime),
		User: r.User, Host: r.Host, Channel: r.Channel,
		Request: r.requestC, Action: r.actionC, Message: r.msgC,
		PatientIDs: ids, Rows: r.Rows, Outcome: string(r.Outcome), Model: r.Model, Digest: r.ModelDigest,
	}
}

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
	if h := tx.store.head; tx.store.headKnown {
		last.Int64, prev.String = h.Size, h.Last
	} else {
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
	row := storedRow{
		AuditRow: AuditRow{
			Seq: last.Int64 + 1, At: tx.store.now().UTC().Truncate(time.Microsecond),
			User: tx.store.actor, Host: tx.store.host, Channel: entry.Channel,
			Request: entry.Request, Action: entry.Action, PatientIDs: ids, Rows: tx.rows,
			Outcome: outcome, Message: message, Model: entry.Model, ModelDigest: entry.ModelDigest,
		},
		salt: salt, prev: prev.String,
	}
	row.requestC = commit("request", salt, row.Request)
	row.actionC = commit("action", salt, row.Action)
	row.msgC = commit("message", salt, row.Message)
	leaf := row.leaf().hash()
	_, err := tx.conn.ExecContext(ctx, `INSERT INTO audit_log
		(seq, logged_at, os_user, host, channel, request, action, patient_ids, rows_affected, outcome, message, model, model_digest,
		 salt, request_commit, action_commit, message_commit, prev_hash, row_hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		row.Seq, row.At, row.User, row.Host, row.Channel, nullable(row.Request), row.Action, formatIDs(ids), row.Rows,
		string(outcome), nullable(message), nullable(row.Model), nullable(row.ModelDigest),
		salt, row.requestC, row.actionC, row.msgC, row.prev, leaf.String())
	if err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	// The store's cache of tree hashes is only read here: this transaction
	// may roll back. What it reads and adds goes to pending, which the
	// store keeps once the transaction commits.
	pending := map[int64]tlog.Hash{}
	hashes := cachedReader(treeReader(ctx, tx.conn), tx.store.treeCache, pending)
	if err := storeTreeHashes(ctx, tx.conn, row.Seq-1, leaf, hashes, pending); err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	tree, err := tlog.TreeHash(row.Seq, hashes)
	if err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	tx.head = &Head{Size: row.Seq, Tree: tree, Last: leaf.String()}
	tx.treeCache = pending
	return nil
}

// storeTreeHashes adds record n's interior tree hashes to audit_tree,
// reading earlier ones through r, and records them in keep when it is not
// nil.
func storeTreeHashes(ctx context.Context, q querier, n int64, leaf tlog.Hash, r tlog.HashReader, keep map[int64]tlog.Hash) error {
	hashes, err := tlog.StoredHashesForRecordHash(n, leaf, r)
	if err != nil {
		return fmt.Errorf("tree hashes: %w", err)
	}
	first := tlog.StoredHashIndex(0, n)
	idx := make([]int64, len(hashes))
	vals := make([]string, len(hashes))
	for i, h := range hashes {
		idx[i] = first + int64(i)
		vals[i] = hex.EncodeToString(h[:])
	}
	_, err = q.ExecContext(ctx, `INSERT INTO audit_tree SELECT unnest(?::BIGINT[]), unnest(?::VARCHAR[])`, idx, vals)
	if err != nil {
		return fmt.Errorf("tree hashes: %w", err)
	}
	if keep != nil {
		for i, h := range hashes {
			keep[idx[i]] = h
		}
	}
	return nil
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

// Head is the audit log's tree head: how many rows, the Merkle root over
// them, and the last row's hash.
type Head struct {
	Size int64     `json:"size"`
	Tree tlog.Hash `json:"tree"`
	Last string    `json:"last"`
	// Pending is the hash of the one row being committed when the head was
	// written: the only row the next open may find beyond Size.
	Pending string `json:"pending,omitempty"`
}

const headMagic = "carebook audit head v1"

func (h Head) marshal() []byte {
	b := fmt.Appendf(nil, "%s\nsize %d\ntree %s\nlast %s\n", headMagic, h.Size, h.Tree, h.Last)
	if h.Pending != "" {
		b = fmt.Appendf(b, "pending %s\n", h.Pending)
	}
	return b
}

func parseHead(data []byte) (Head, error) {
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) < 4 || len(lines) > 5 || lines[0] != headMagic {
		return Head{}, errors.New("not a carebook audit head")
	}
	var h Head
	var err error
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, " ")
		switch k {
		case "size":
			h.Size, err = strconv.ParseInt(v, 10, 64)
		case "tree":
			h.Tree, err = tlog.ParseHash(v)
		case "last":
			h.Last = v
		case "pending":
			h.Pending = v
		default:
			err = fmt.Errorf("unknown line %q", k)
		}
		if err != nil {
			return Head{}, fmt.Errorf("not a carebook audit head: %w", err)
		}
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
	return writeFileAtomic(HeadPath(s.path), h.marshal())
}

// announce writes the committed head with the hash of the row about to be
// committed, before the commit. The next open then accepts that one row
// beyond the head (a crash between commit and head), and no other: rows
// appended by anyone else are found. A head that cannot be written (a full
// disk) refuses the write, so nothing is committed that the head cannot
// vouch for.
func (s *Store) announce(tx *Tx) error {
	if tx.head == nil || s.path == ":memory:" {
		return nil
	}
	h := s.head
	h.Pending = tx.head.Last
	if err := writeFileAtomic(HeadPath(s.path), h.marshal()); err != nil {
		return fmt.Errorf("cannot record the audit log's head beside the database (is the disk full?), so nothing was written: %w", err)
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// checkAudit is the open-time check: cheap (O(log n) reads plus the rows
// written after the head, if a crash left it behind), and it catches a
// truncated, shortened, renumbered or rehashed log and a missing head file.
// Edits that leave the stored hashes alone are audit verify's to find: it
// recomputes every row.
func (s *Store) checkAudit(ctx context.Context, sealed bool) error {
	var count, minSeq, maxSeq int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(min(seq), 1), coalesce(max(seq), 0) FROM audit_log`).Scan(&count, &minSeq, &maxSeq); err != nil {
		return fmt.Errorf("check audit log: %w", err)
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
		return &AuditIntegrityError{Problem: fmt.Sprintf("the head file %s is missing, but the log holds %d rows", HeadPath(s.path), count)}
	}
	if err != nil {
		return &AuditIntegrityError{Problem: fmt.Sprintf("the head file %s cannot be read: %v", HeadPath(s.path), err)}
	}
	if head.Size > count {
		return &AuditIntegrityError{Row: count + 1, Problem: fmt.Sprintf("missing: the head file says %d rows were written, the log ends at row %d (truncated)", head.Size, count)}
	}
	if head.Size > 0 {
		tree, err := tlog.TreeHash(head.Size, treeReader(ctx, s.db))
		if err != nil || tree != head.Tree {
			return &AuditIntegrityError{Problem: fmt.Sprintf("the first %d rows no longer match the head file (rows were rewritten)", head.Size)}
		}
		var last string
		if err := s.db.QueryRowContext(ctx, `SELECT coalesce(row_hash, '') FROM audit_log WHERE seq = ?`, head.Size).Scan(&last); err != nil || last != head.Last {
			return &AuditIntegrityError{Row: head.Size, Problem: "its hash does not match the head file (rows were rewritten)"}
		}
	}
	if count > head.Size {
		// Only the row announced before a commit may lie beyond the head: a
		// crash between that commit and the head's update.
		var next string
		if err := s.db.QueryRowContext(ctx, `SELECT coalesce(row_hash, '') FROM audit_log WHERE seq = ?`, head.Size+1).Scan(&next); err != nil {
			return fmt.Errorf("check audit log: %w", err)
		}
		if count > head.Size+1 || head.Pending == "" || next != head.Pending {
			return &AuditIntegrityError{Row: head.Size + 1, Problem: fmt.Sprintf("it lies beyond the head file (%d rows), and Carebook did not announce it (inserted)", head.Size)}
		}
		if _, err := verifyRows(ctx, s.db, head.Size, head.Last); err != nil {
			return err
		}
		return s.writeHead(ctx)
	}
	if head.Pending != "" {
		// A commit that was announced but did not happen.
		head.Pending = ""
		if err := writeFileAtomic(HeadPath(s.path), head.marshal()); err != nil {
			return fmt.Errorf("check audit log: %w", err)
		}
	}
	s.head, s.headKnown = head, true
	return nil
}

// AuditReport is what a full verification found.
type AuditReport struct {
	Rows     int64     `json:"rows"`
	Redacted int64     `json:"redacted"`
	Tree     tlog.Hash `json:"tree"`
	Head     *Head     `json:"head,omitempty"`
}

// VerifyAudit recomputes every row's commitments and hash, the chain and
// the tree, and compares the result with the stored tree hashes and the head
// file. The first bad row is named in an *AuditIntegrityError.
func (s *Store) VerifyAudit(ctx context.Context) (AuditReport, error) {
	rep, leaves, err := verifyLeaves(ctx, s.db, 0, "")
	if err != nil {
		return rep, err
	}
	if rep.Rows > 0 {
		stored, err := tlog.TreeHash(rep.Rows, treeReader(ctx, s.db))
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
	case err != nil:
		return rep, &AuditIntegrityError{Problem: fmt.Sprintf("the head file %s: %v", HeadPath(s.path), err)}
	}
	rep.Head = &head
	if head.Size > rep.Rows {
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
	if rep.Rows > head.Size+1 || rep.Rows == head.Size+1 && leaves[head.Size].String() != head.Pending {
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
	if r.leaf().hash().String() != r.Hash {
		return &AuditIntegrityError{Row: r.Seq, Problem: "its content does not match its hash (edited)"}
	}
	if r.prev != prev {
		return &AuditIntegrityError{Row: r.Seq, Problem: fmt.Sprintf("does not follow row %d (a row was deleted, inserted or moved)", r.Seq-1)}
	}
	return nil
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

const auditSelect = `SELECT seq, logged_at, os_user, host, channel, request, action, patient_ids,
	rows_affected, outcome, message, coalesce(model, ''), coalesce(model_digest, ''),
	salt, coalesce(request_commit, ''), coalesce(action_commit, ''), coalesce(message_commit, ''),
	coalesce(prev_hash, ''), row_hash, redacted_at IS NOT NULL FROM audit_log`

type scanner interface{ Scan(dest ...any) error }

func scanStored(rows scanner) (storedRow, error) {
	var r storedRow
	var ids any
	var outcome string
	var request, action, message, hash sql.NullString
	if err := rows.Scan(&r.Seq, &r.At, &r.User, &r.Host, &r.Channel, &request, &action, &ids, &r.Rows,
		&outcome, &message, &r.Model, &r.ModelDigest,
		&r.salt, &r.requestC, &r.actionC, &r.msgC, &r.prev, &hash, &r.redacted); err != nil {
		return r, err
	}
	r.Request, r.Action, r.Message = request.String, action.String, message.String
	r.hasText = request.Valid || action.Valid || message.Valid || r.salt != nil
	r.Hash, r.hasHashes = hash.String, hash.Valid
	r.Redacted = r.redacted
	r.Outcome = Outcome(outcome)
	r.At = r.At.UTC()
	switch v := ids.(type) {
	case string:
		var err error
		// Malformed ids are verification's to report, naming the row.
		r.PatientIDs, err = parseIDs(v)
		r.badIDs = err != nil
	case []any: // schema versions 1 to 3 kept a list, read while migrating
		for _, id := range v {
			if n, ok := id.(int64); ok {
				r.PatientIDs = append(r.PatientIDs, n)
			}
		}
	}
	return r, nil
}

// formatIDs is how an audit row stores its patient ids: decimal, comma
// separated, in a VARCHAR. A LIST column holding one import's hundred
// thousand ids made every later commit to the table three times slower
// (DuckDB 1.5, measured); text is stored like any string.
func formatIDs(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

func parseIDs(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]int64, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("patient ids: %w", err)
		}
		out[i] = n
	}
	return out, nil
}

// sealLegacyRows hashes rows written before the log was hash-chained
// (schema version 1), in the migration's transaction.
func sealLegacyRows(ctx context.Context, q querier) (int, error) {
	rows, err := q.QueryContext(ctx, auditSelect+` ORDER BY seq`)
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
		leaf := r.leaf().hash()
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

// redactAudit removes the free text of every earlier row that names the
// patient (by id, or by name, email, phone or MRN in its text), keeping the
// commitments, so that the chain still verifies and nothing identifies them.
func (tx *Tx) redactAudit(ctx context.Context, p Patient) (int, error) {
	rows, err := tx.conn.QueryContext(ctx, `SELECT seq, patient_ids, coalesce(request, ''), coalesce(action, ''), coalesce(message, '')
		FROM audit_log WHERE redacted_at IS NULL`)
	if err != nil {
		return 0, fmt.Errorf("redact audit log: %w", err)
	}
	needles := identifyingText(p)
	var names []string
	for _, n := range []string{p.FirstName, p.LastName} {
		if n = strings.ToLower(strings.TrimSpace(n)); len(n) >= 2 {
			names = append(names, n)
		}
	}
	var seqs []int64
	for rows.Next() {
		var seq int64
		var idText, request, action, message string
		if err := rows.Scan(&seq, &idText, &request, &action, &message); err != nil {
			rows.Close()
			return 0, fmt.Errorf("redact audit log: %w", err)
		}
		ids, err := parseIDs(idText)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("redact audit log: row %d: %w", seq, err)
		}
		touched, among := slices.Contains(ids, p.ID), len(ids)
		if strings.Contains(action, `"tool":"forget"`) {
			// A forget's row names nobody (an MRN hash, row numbers), and
			// the rows it lists must stay listed.
			continue
		}
		// A row that addressed a few patients, the forgotten one among them,
		// may name them in ways no pattern catches ("the Garcia boy"); one
		// over a whole cohort or an import does not, and keeps its text
		// unless that names them.
		individual := touched && (among <= 5 || mentions(names, request, action, message))
		if individual || mentions(needles, request, action, message) {
			seqs = append(seqs, seq)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("redact audit log: %w", err)
	}
	if len(seqs) == 0 {
		return 0, nil
	}
	_, err = tx.conn.ExecContext(ctx, `UPDATE audit_log SET request = NULL, action = NULL, message = NULL, salt = NULL, redacted_at = ?
		WHERE seq IN (SELECT unnest(?::BIGINT[]))`, tx.Now().UTC(), seqs)
	if err != nil {
		return 0, fmt.Errorf("redact audit log: %w", err)
	}
	tx.redacted = append(tx.redacted, seqs...)
	return len(seqs), nil
}

// NamedIn reports whether text names the patient: their full name, email,
// phone (in any punctuation), MRN, or last name. Forget scrubs REPL history
// lines this matches; a line about a namesake goes too, which is the safe
// side.
func (p Patient) NamedIn(text string) bool {
	needles := identifyingText(p)
	if last := strings.ToLower(strings.TrimSpace(p.LastName)); len(last) >= 3 {
		needles = append(needles, last)
	}
	return mentions(needles, text)
}

// identifyingText is what in a free-text field would name the patient.
func identifyingText(p Patient) []string {
	var out []string
	add := func(s string) {
		if s = strings.ToLower(strings.TrimSpace(s)); len(s) >= 3 {
			out = append(out, s)
		}
	}
	add(p.FirstName + " " + p.LastName)
	add(p.LastName + ", " + p.FirstName)
	add(p.Email)
	add(p.MRN)
	add(p.Phone)
	if d := Digits(p.Phone); len(d) >= 7 {
		out = append(out, "#"+d) // matched against the digits of the text
	}
	return out
}

func mentions(needles []string, texts ...string) bool {
	for _, t := range texts {
		lt := strings.ToLower(t)
		dt := Digits(t)
		for _, n := range needles {
			if d, ok := strings.CutPrefix(n, "#"); ok {
				if strings.Contains(dt, d) {
					return true
				}
			} else if strings.Contains(lt, n) {
				return true
			}
		}
	}
	return false
}

// AuditRowJSON is an audit row as scripts see it (audit log --json) and as
// an export begins each line.
type AuditRowJSON struct {
	Seq         int64     `json:"seq"`
	At          time.Time `json:"at"`
	User        string    `json:"user"`
	Host        string    `json:"host"`
	Channel     string    `json:"channel"`
	Request     string    `json:"request,omitempty"`
	Action      string    `json:"action,omitempty"`
	PatientIDs  []int64   `json:"patient_ids"`
	Rows        int64     `json:"rows"`
	Outcome     string    `json:"outcome"`
	Message     string    `json:"message,omitempty"`
	Model       string    `json:"model,omitempty"`
	ModelDigest string    `json:"model_digest,omitempty"`
	Redacted    bool      `json:"redacted,omitempty"`
	Hash        string    `json:"hash"`
}

// JSON is r for scripts.
func (r AuditRow) JSON() AuditRowJSON {
	ids := r.PatientIDs
	if ids == nil {
		ids = []int64{}
	}
	return AuditRowJSON{Seq: r.Seq, At: r.At, User: r.User, Host: r.Host, Channel: r.Channel, Request: r.Request, Action: r.Action,
		PatientIDs: ids, Rows: r.Rows, Outcome: string(r.Outcome), Message: r.Message, Model: r.Model, ModelDigest: r.ModelDigest,
		Redacted: r.Redacted, Hash: r.Hash}
}

// ExportRow is one line of an audit export: the row with everything its hash
// covers, so that the copy verifies on its own.
type ExportRow struct {
	AuditRowJSON
	Salt     string `json:"salt,omitempty"`
	RequestC string `json:"request_c"`
	ActionC  string `json:"action_c"`
	MessageC string `json:"message_c"`
	Prev     string `json:"prev"`
}

func (e ExportRow) stored() (storedRow, error) {
	salt, err := hex.DecodeString(e.Salt)
	if err != nil {
		return storedRow{}, err
	}
	return storedRow{
		AuditRow: AuditRow{Seq: e.Seq, At: e.At.UTC(), User: e.User, Host: e.Host, Channel: e.Channel, Request: e.Request,
			Action: e.Action, PatientIDs: e.PatientIDs, Rows: e.Rows, Outcome: Outcome(e.Outcome), Message: e.Message,
			Model: e.Model, ModelDigest: e.ModelDigest, Redacted: e.Redacted, Hash: e.Hash},
		salt: salt, requestC: e.RequestC, actionC: e.ActionC, msgC: e.MessageC, prev: e.Prev,
		redacted: e.Redacted, hasHashes: e.Hash != "",
	}, nil
}

// exportTrailer is an export's last line.
type exportTrailer struct {
	Head Head `json:"head"`
}

// ExportAudit writes the rows logged at or after since (all when zero) as
// JSON lines, then the current tree head, and returns the row count.
func (s *Store) ExportAudit(ctx context.Context, since time.Time, w io.Writer) (int, error) {
	var wh where
	if !since.IsZero() {
		wh.add("logged_at >= ?", since.UTC())
	}
	rows, err := s.db.QueryContext(ctx, auditSelect+" WHERE "+wh.sql()+" ORDER BY seq", wh.args...)
	if err != nil {
		return 0, fmt.Errorf("export audit log: %w", err)
	}
	defer rows.Close()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	n := 0
	for rows.Next() {
		r, err := scanStored(rows)
		if err != nil {
			return n, fmt.Errorf("export audit log: %w", err)
		}
		e := ExportRow{AuditRowJSON: r.AuditRow.JSON(), Salt: hex.EncodeToString(r.salt),
			RequestC: r.requestC, ActionC: r.actionC, MessageC: r.msgC, Prev: r.prev}
		if err := enc.Encode(e); err != nil {
			return n, fmt.Errorf("export audit log: %w", err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("export audit log: %w", err)
	}
	head, err := currentHead(ctx, s.db)
	if err != nil {
		return n, err
	}
	return n, enc.Encode(exportTrailer{Head: head})
}

// CheckAuditExport checks an export made by ExportAudit: each row verifies
// on its own and follows the one before it, each is still in the live log
// with the same hash, and the export's tree head is a prefix of the live
// tree. It returns the number of rows checked.
func (s *Store) CheckAuditExport(ctx context.Context, r io.Reader) (int, error) {
	dec := json.NewDecoder(r)
	n := 0
	prev := ""
	sawHead := false
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return n, fmt.Errorf("line %d is not JSON: %w", n+1, err)
		}
		if bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`{"head"`)) {
			var t exportTrailer
			if err := json.Unmarshal(raw, &t); err != nil {
				return n, fmt.Errorf("the head line: %w", err)
			}
			if t.Head.Size > 0 {
				live, err := tlog.TreeHash(t.Head.Size, treeReader(ctx, s.db))
				if err != nil || live != t.Head.Tree {
					return n, &AuditIntegrityError{Problem: fmt.Sprintf("the live log's first %d rows no longer match the exported tree head", t.Head.Size)}
				}
			}
			sawHead = true
			continue
		}
		var e ExportRow
		if err := json.Unmarshal(raw, &e); err != nil {
			return n, fmt.Errorf("line %d: %w", n+1, err)
		}
		row, err := e.stored()
		if err != nil {
			return n, &AuditIntegrityError{Row: e.Seq, Problem: "the exported row's salt is malformed"}
		}
		if n == 0 {
			prev = row.prev // an export may start anywhere
		}
		if bad := checkRow(row, row.Seq, prev); bad != nil {
			bad.Problem = "in the export, " + bad.Problem
			return n, bad
		}
		var live sql.NullString
		err = s.db.QueryRowContext(ctx, `SELECT row_hash FROM audit_log WHERE seq = ?`, row.Seq).Scan(&live)
		if errors.Is(err, sql.ErrNoRows) {
			return n, &AuditIntegrityError{Row: row.Seq, Problem: "is in the export but no longer in the live log (deleted)"}
		}
		if err != nil {
			return n, err
		}
		if live.String != row.Hash {
			return n, &AuditIntegrityError{Row: row.Seq, Problem: "differs between the export and the live log (rewritten)"}
		}
		prev = row.Hash
		n++
	}
	if !sawHead {
		return n, errors.New("the export has no head line: it is incomplete")
	}
	return n, nil
}
