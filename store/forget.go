package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Forgotten is what a forget removed.
type Forgotten struct {
	// MRNHash is a salted commitment to the MRN, in hex: with the receipt
	// (the salt) and the MRN, an auditor confirms that this row is that
	// patient's deletion. The audit row holds the commitment only; the salt
	// is given to whoever forgot, once, because an MRN is short enough to
	// guess from its plain hash in milliseconds.
	MRNHash string `json:"mrn_commitment"`
	// Receipt is the salt, in hex: shown to the person who forgot, and
	// stored nowhere.
	Receipt      string `json:"receipt"`
	Tags         int    `json:"tags"`
	Appointments int    `json:"appointments"`
	Interactions int    `json:"interactions"`
	Tasks        int    `json:"tasks"`
	// ConsentChanges is how many rows of the consent history went.
	ConsentChanges int `json:"consent_changes"`
	// AuditRows is how many earlier audit rows named the patient and had
	// their free text redacted.
	AuditRows int `json:"audit_rows_redacted"`
}

// CommitMRN is how the audit log names a forgotten patient: a commitment
// to the MRN under a secret salt.
func CommitMRN(mrn string, salt []byte) string {
	return commit("forgotten mrn", salt, mrn)
}

// CheckReceipt reports whether a forget's commitment and receipt name the
// patient with this MRN.
func CheckReceipt(commitment, receipt, mrn string) bool {
	salt, err := hex.DecodeString(receipt)
	return err == nil && len(salt) > 0 && CommitMRN(mrn, salt) == commitment
}

// Forget deletes one patient with their tags, appointments, interactions,
// tasks and consent history in one transaction, audited by MRN commitment
// and row counts only. The
// bytes stay in the file's free blocks until Compact rewrites it, which the
// caller does next; a marker in the same transaction makes the next open
// finish the rewrite if it never happens.
func (s *Store) Forget(ctx context.Context, entry AuditEntry, id int64) (Forgotten, error) {
	p, err := s.Reader().PatientByID(ctx, id)
	if err != nil {
		return Forgotten{}, fmt.Errorf("forget: %w", err)
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	out := Forgotten{MRNHash: CommitMRN(p.MRN, salt), Receipt: hex.EncodeToString(salt)}
	action, _ := json.Marshal(map[string]any{"tool": "forget", "args": map[string]string{"mrn_commitment": out.MRNHash}})
	entry.Action = string(action)
	err = s.Write(ctx, entry, func(tx *Tx) error {
		steps := []struct {
			n *int
			q string
		}{
			{&out.Tags, "DELETE FROM patient_tags WHERE patient_id = ?"},
			{&out.Appointments, "DELETE FROM appointments WHERE patient_id = ?"},
			{&out.Interactions, "DELETE FROM interactions WHERE patient_id = ?"},
			{&out.Tasks, "DELETE FROM tasks WHERE patient_id = ?"},
			{&out.ConsentChanges, "DELETE FROM consent_events WHERE patient_id = ?"},
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
		// Until the file is rewritten the deleted bytes are in it: the
		// marker commits with the deletion, and the next open finishes a
		// rewrite that was stopped.
		if _, err := tx.conn.ExecContext(ctx, `INSERT OR REPLACE INTO maintenance (kind, since, detail) VALUES ('compact', ?, 'forget')`,
			tx.store.auditNow().UTC()); err != nil {
			return fmt.Errorf("forget: %w", err)
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
