package store

import (
	"context"
	"fmt"
	"time"
)

// AuditRow is one row of the audit log as stored.
type AuditRow struct {
	Seq  int64
	At   time.Time
	User string // the OS account
	// Staff is the staff member, as carebook serve authenticated them
	// ("" in direct mode, where the OS account is all there is).
	Staff string
	// Mode is "direct" (the file opened by the command itself) or
	// "server" (through carebook serve); "" on rows written before.
	Mode        string
	Host        string
	Channel     string
	Request     string
	Action      string
	PatientIDs  []int64
	Rows        int64
	Outcome     Outcome
	Message     string
	Model       string
	ModelDigest string
	// FixedNow is $CAREBOOK_NOW when it was set: "today" for relative
	// dates was fixed, though At is the real clock.
	FixedNow string
	// LeafV is the version of the hashed content (1: before staff and
	// mode were recorded).
	LeafV int
	// Redacted rows had their free text removed when a patient they named
	// was forgotten. Their hash still verifies.
	Redacted bool
	Hash     string
}

// AuditLog returns the audit rows after seq, oldest first.
func (r Reader) AuditLog(ctx context.Context, afterSeq int64) ([]AuditRow, error) {
	return r.FindAudit(ctx, AuditQuery{AfterSeq: afterSeq})
}

// AuditQuery selects audit rows. Zero fields do not filter.
type AuditQuery struct {
	AfterSeq    int64
	Patient     int64 // rows that read or changed this patient
	Since       time.Time
	Until       time.Time // exclusive
	User        string    // staff member or OS account
	Channel     string
	Disclosures bool // exports logged as disclosures only
}

// FindAudit returns the rows q selects, oldest first.
func (r Reader) FindAudit(ctx context.Context, q AuditQuery) ([]AuditRow, error) {
	var w where
	w.add("seq > ?", q.AfterSeq)
	if q.Patient != 0 {
		w.add("contains(',' || patient_ids || ',', ?)", fmt.Sprintf(",%d,", q.Patient))
	}
	if !q.Since.IsZero() {
		w.add("logged_at >= ?", q.Since.UTC())
	}
	if !q.Until.IsZero() {
		w.add("logged_at < ?", q.Until.UTC())
	}
	if q.User != "" {
		// Staff names are one member whatever their case (StaffByName), as
		// a manager types them; OS account names are the kernel's, exact.
		w.add("(lower(staff) = lower(?) OR os_user = ?)", q.User, q.User)
	}
	if q.Channel != "" {
		w.add("channel = ?", q.Channel)
	}
	if q.Disclosures {
		// A restore that rolled disclosures back is listed with them: the
		// accounting must show where those went (the file it names).
		w.add(`((channel = 'export' AND starts_with(coalesce(message, ''), 'disclosure:'))
			OR (channel = '` + ChannelRestore + `' AND coalesce(action, '') LIKE '%"disclosures":%'))`)
	}
	rows, err := r.q.QueryContext(ctx, auditSelect+" WHERE "+w.sql()+" ORDER BY seq", w.args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditRow
	for rows.Next() {
		sr, err := scanStored(rows)
		if err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		out = append(out, sr.AuditRow)
	}
	return out, rows.Err()
}
