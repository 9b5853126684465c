package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// AuditRowJSON is an audit row as scripts see it (audit log --json) and as
// an export begins each line.
type AuditRowJSON struct {
	Seq         int64     `json:"seq"`
	At          time.Time `json:"at"`
	User        string    `json:"user"`
	Staff       string    `json:"staff,omitempty"`
	Mode        string    `json:"mode,omitempty"`
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
	FixedNow    string    `json:"fixed_now,omitempty"`
	LeafV       int       `json:"leaf_v"`
	Redacted    bool      `json:"redacted,omitempty"`
	Hash        string    `json:"hash"`
}

// JSON is r for scripts.
func (r AuditRow) JSON() AuditRowJSON {
	ids := r.PatientIDs
	if ids == nil {
		ids = []int64{}
	}
	return AuditRowJSON{Seq: r.Seq, At: r.At, User: r.User, Staff: r.Staff, Mode: r.Mode, Host: r.Host, Channel: r.Channel,
		Request: r.Request, Action: r.Action, PatientIDs: ids, Rows: r.Rows, Outcome: string(r.Outcome), Message: r.Message,
		Model: r.Model, ModelDigest: r.ModelDigest, FixedNow: r.FixedNow, LeafV: r.LeafV, Redacted: r.Redacted, Hash: r.Hash}
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
	leafV := e.LeafV
	if leafV == 0 {
		leafV = 1 // exports made before leaf versions were recorded
	}
	return storedRow{
		AuditRow: AuditRow{Seq: e.Seq, At: e.At.UTC(), User: e.User, Staff: e.Staff, Mode: e.Mode, Host: e.Host, Channel: e.Channel,
			Request: e.Request, Action: e.Action, PatientIDs: e.PatientIDs, Rows: e.Rows, Outcome: Outcome(e.Outcome),
			Message: e.Message, Model: e.Model, ModelDigest: e.ModelDigest, FixedNow: e.FixedNow, LeafV: leafV,
			Redacted: e.Redacted, Hash: e.Hash},
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
	return s.exportAudit(ctx, wh, w)
}

// exportAudit writes the rows wh selects, then the current tree head.
func (s *Store) exportAudit(ctx context.Context, wh where, w io.Writer) (int, error) {
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
