package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Forgotten is what a forget removed.
type Forgotten struct {
	// MRNHash is the SHA-256 of the MRN, in hex: enough for an auditor who
	// holds the MRN to confirm that the patient was forgotten, and no name.
	MRNHash      string `json:"mrn_sha256"`
	Tags         int    `json:"tags"`
	Appointments int    `json:"appointments"`
	Interactions int    `json:"interactions"`
	// AuditRows is how many earlier audit rows named the patient and had
	// their free text redacted.
	AuditRows int `json:"audit_rows_redacted"`
}

// HashMRN is how the audit log names a forgotten patient.
func HashMRN(mrn string) string {
	sum := sha256.Sum256([]byte(mrn))
	return hex.EncodeToString(sum[:])
}

// Forget deletes one patient with their tags, appointments and interactions
// in one transaction, audited by MRN hash and row counts only. The bytes
// stay in the file's free blocks until Compact rewrites it; the caller
// closes the store and compacts.
func (s *Store) Forget(ctx context.Context, channel string, id int64) (Forgotten, error) {
	p, err := s.Reader().PatientByID(ctx, id)
	if err != nil {
		return Forgotten{}, fmt.Errorf("forget: %w", err)
	}
	out := Forgotten{MRNHash: HashMRN(p.MRN)}
	action, _ := json.Marshal(map[string]any{"tool": "forget", "args": map[string]string{"mrn_sha256": out.MRNHash}})
	err = s.Write(ctx, AuditEntry{Channel: channel, Action: string(action)}, func(tx *Tx) error {
		steps := []struct {
			n *int
			q string
		}{
			{&out.Tags, "DELETE FROM patient_tags WHERE patient_id = ?"},
			{&out.Appointments, "DELETE FROM appointments WHERE patient_id = ?"},
			{&out.Interactions, "DELETE FROM interactions WHERE patient_id = ?"},
			{nil, "DELETE FROM patients WHERE id = ?"},
		}
		for _, st := range steps {
			res, err := tx.conn.ExecContext(ctx, st.q, id)
			if err != nil {
				return fmt.Errorf("forget: %w", err)
			}
			n, _ := res.RowsAffected()
			if st.n != nil {
				*st.n = int(n)
			}
			tx.AddRows(int(n))
		}
		n, err := tx.redactAudit(ctx, p)
		if err != nil {
			return err
		}
		out.AuditRows = n
		tx.Touch(id)
		return nil
	})
	if err != nil {
		return Forgotten{}, err
	}
	return out, nil
}
