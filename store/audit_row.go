package store

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

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

// AuditIntegrityError says the audit log failed a check. Row is the first
// bad row (0 when the problem is not one row's).
type AuditIntegrityError struct {
	Row     int64
	Problem string
	// Head is set when the head file beside the database is the problem:
	// HeadDamaged when it is not a head Carebook wrote (truncated, garbled,
	// a size no log has), HeadMissing when it is gone while the log holds
	// rows. The rows may be intact; the head is what vouches for them.
	Head HeadProblem
}

// HeadProblem says what is wrong with the head file, if it is the problem.
type HeadProblem int

const (
	// HeadOK: the head file is not the problem.
	HeadOK HeadProblem = iota
	// HeadDamaged: the head file is not a head Carebook wrote.
	HeadDamaged
	// HeadMissing: the head file is gone, and the log holds rows.
	HeadMissing
)

func (e *AuditIntegrityError) Error() string {
	if e.Head != HeadOK {
		return e.Problem
	}
	where := "the audit log"
	if e.Row > 0 {
		where = fmt.Sprintf("audit row %d", e.Row)
	}
	return fmt.Sprintf("%s: %s", where, e.Problem)
}

// headDamaged says the head file at path is not a head Carebook wrote.
func headDamaged(path string, why error) *AuditIntegrityError {
	return &AuditIntegrityError{Head: HeadDamaged, Problem: fmt.Sprintf("the audit log's head file %s is damaged (%v)", path, why)}
}

// headMissing says the head file at path is gone while the log holds rows.
func headMissing(path string, rows int64) *AuditIntegrityError {
	return &AuditIntegrityError{Head: HeadMissing, Problem: fmt.Sprintf("the audit log's head file %s is missing, but the log holds %d rows", path, rows)}
}

// AuditBrokenError is what every write and every audited read returns after
// the open-time check failed: nothing is recorded in a log that does not
// verify, until someone has looked.
type AuditBrokenError struct {
	Cause *AuditIntegrityError
}

func (e *AuditBrokenError) Error() string {
	switch e.Cause.Head {
	case HeadDamaged:
		return fmt.Sprintf("%v, so Carebook cannot vouch for the log and records nothing more: run `carebook audit verify`, which checks the rows themselves, then put back an undamaged copy of that file or restore the last good backup (carebook restore BACKUP --force)", e.Cause)
	case HeadMissing:
		return fmt.Sprintf("%v, so Carebook records nothing more: if this database was copied or moved here, copy its .audit-head from where it came from too; otherwise run `carebook audit verify` and restore the last good backup (carebook restore BACKUP --force)", e.Cause)
	}
	return fmt.Sprintf("the audit log does not match its records (%v); Carebook records nothing more until this is investigated: run `carebook audit verify`, and restore the last good backup if the log was tampered with", e.Cause)
}

func (e *AuditBrokenError) Unwrap() error { return e.Cause }

// ErrAuditBroken matches any AuditBrokenError with errors.Is.
var ErrAuditBroken = errors.New("audit log broken")

func (e *AuditBrokenError) Is(target error) bool { return target == ErrAuditBroken }

// auditLeaf is the canonical content a version 1 row's hash covers. JSON of
// a struct has a fixed field order, so the encoding is deterministic. Never
// change a field: rows already written were hashed with these.
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

// auditLeafV2 is what a version 2 row's hash covers: version 1 and who
// acted (the staff member beside the OS account), how (direct on the file,
// or through carebook serve), and the fixed "today" when CAREBOOK_NOW was
// set. Never change a field.
type auditLeafV2 struct {
	V          int     `json:"v"`
	Seq        int64   `json:"seq"`
	Prev       string  `json:"prev"`
	At         string  `json:"at"`
	User       string  `json:"user"`
	Staff      string  `json:"staff"`
	Mode       string  `json:"mode"`
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
	FixedNow   string  `json:"fixed_now"`
}

// leafVersion is the version new rows are written with.
const leafVersion = 2

// leafHash hashes the canonical encoding of a leaf.
func leafHash(leaf any) tlog.Hash {
	data, err := json.Marshal(leaf)
	if err != nil {
		panic(err) // a struct of strings and ints always encodes
	}
	return tlog.RecordHash(data)
}

// auditTime is how logged_at enters the hash: DuckDB keeps microseconds.
const auditTime = "2006-01-02T15:04:05.000000Z"

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

// leafHash is the hash the row's content gives, by its leaf version. A
// version it does not know hashes to nothing that can match.
func (r storedRow) leafHash() tlog.Hash {
	ids := r.PatientIDs
	if ids == nil {
		ids = []int64{}
	}
	at := r.At.UTC().Format(auditTime)
	switch r.LeafV {
	case 1:
		return leafHash(auditLeaf{
			V: 1, Seq: r.Seq, Prev: r.prev, At: at,
			User: r.User, Host: r.Host, Channel: r.Channel,
			Request: r.requestC, Action: r.actionC, Message: r.msgC,
			PatientIDs: ids, Rows: r.Rows, Outcome: string(r.Outcome), Model: r.Model, Digest: r.ModelDigest,
		})
	case 2:
		return leafHash(auditLeafV2{
			V: 2, Seq: r.Seq, Prev: r.prev, At: at,
			User: r.User, Staff: r.Staff, Mode: r.Mode, Host: r.Host, Channel: r.Channel,
			Request: r.requestC, Action: r.actionC, Message: r.msgC,
			PatientIDs: ids, Rows: r.Rows, Outcome: string(r.Outcome), Model: r.Model, Digest: r.ModelDigest,
			FixedNow: r.FixedNow,
		})
	}
	return tlog.Hash{}
}

const auditSelect = `SELECT seq, logged_at, os_user, coalesce(staff, ''), coalesce(mode, ''), host, channel, request, action, patient_ids,
	rows_affected, outcome, message, coalesce(model, ''), coalesce(model_digest, ''), coalesce(fixed_now, ''), leaf_v,
	salt, coalesce(request_commit, ''), coalesce(action_commit, ''), coalesce(message_commit, ''),
	coalesce(prev_hash, ''), row_hash, redacted_at IS NOT NULL FROM audit_log`

// auditSelectV1 reads the columns of schema versions 1 to 4, for sealing
// rows written before the log was hash-chained, during migration.
const auditSelectV1 = `SELECT seq, logged_at, os_user, '', '', host, channel, request, action, patient_ids,
	rows_affected, outcome, message, coalesce(model, ''), coalesce(model_digest, ''), '', 1,
	salt, coalesce(request_commit, ''), coalesce(action_commit, ''), coalesce(message_commit, ''),
	coalesce(prev_hash, ''), row_hash, redacted_at IS NOT NULL FROM audit_log`

type scanner interface{ Scan(dest ...any) error }

func scanStored(rows scanner) (storedRow, error) {
	var r storedRow
	var ids any
	var outcome string
	var request, action, message, hash sql.NullString
	if err := rows.Scan(&r.Seq, &r.At, &r.User, &r.Staff, &r.Mode, &r.Host, &r.Channel, &request, &action, &ids, &r.Rows,
		&outcome, &message, &r.Model, &r.ModelDigest, &r.FixedNow, &r.LeafV,
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
