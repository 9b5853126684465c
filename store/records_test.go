package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// Schema 6 starts the consent history where each record stands: a row for
// every patient whose consent is known (given, or withdrawn with a date),
// none for a patient of whom nothing is known.
func TestMigration6BackfillsConsentHistory(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.duckdb")
	all := migrations
	migrations = all[:5]
	st, err := Open(ctx, path, Options{})
	if err != nil {
		migrations = all
		t.Fatal(err)
	}
	when := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	_, err = st.db.ExecContext(ctx, `INSERT INTO patients (mrn, first_name, last_name, marketing_consent, consent_changed_at, created_at, updated_at) VALUES
		('P1', 'Ann', 'Lee', true, NULL, now(), now()), ('P2', 'Bo', 'Diaz', false, ?, now(), now()), ('P3', 'Cy', 'Ng', false, NULL, now(), now())`, when)
	st.Close()
	migrations = all
	if err != nil {
		t.Fatal(err)
	}
	st, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := map[string]struct {
		n         int
		marketing bool
		at        time.Time
	}{"P1": {1, true, time.Time{}}, "P2": {1, false, when}, "P3": {0, false, time.Time{}}}
	for mrn, w := range want {
		ps, err := st.Reader().FindPatients(ctx, PatientFilter{MRNs: []string{mrn}}, 0)
		if err != nil || len(ps) != 1 {
			t.Fatal(mrn, err)
		}
		h, err := st.Reader().ConsentHistory(ctx, ps[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != w.n || w.n == 1 && (h[0].Marketing != w.marketing || !h[0].At.Equal(w.at) || h[0].Source != SourceImport) {
			t.Errorf("%s: history %+v, want %+v", mrn, h, w)
		}
	}
}

// Forget leaves no task or consent row of the patient behind; a merge
// moves them to the record kept.
func TestForgetAndMergeTakeTasksAndConsent(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "p.duckdb"), Options{Actor: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []int64
	err = st.Write(ctx, AuditEntry{Channel: "test"}, func(tx *Tx) error {
		if ids, err = tx.LoadPatients(ctx, []Patient{{MRN: "P1", FirstName: "A", LastName: "B"}, {MRN: "P2", FirstName: "A", LastName: "B"},
			{MRN: "P3", FirstName: "C", LastName: "D"}}); err != nil {
			return err
		}
		if _, err := tx.AddTasks(ctx, NewTask{Kind: KindTask, Text: "call"}, ids); err != nil {
			return err
		}
		for _, id := range ids {
			if err := tx.SetConsent(ctx, id, true, tx.Now(), SourceForm); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	count := func(table string, id int64) int {
		var n int
		if err := st.db.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE patient_id = ?`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := st.Forget(ctx, AuditEntry{Channel: "test"}, ids[2]); err != nil {
		t.Fatal(err)
	}
	if count("tasks", ids[2]) != 0 || count("consent_events", ids[2]) != 0 {
		t.Errorf("forget left tasks or consent rows")
	}
	keep, _ := st.Reader().PatientByID(ctx, ids[0])
	other, _ := st.Reader().PatientByID(ctx, ids[1])
	err = st.Write(ctx, AuditEntry{Channel: "test"}, func(tx *Tx) error {
		_, err := tx.MergePatients(ctx, keep, other, PatientFill{City: "Fairview"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if count("tasks", ids[0]) != 2 || count("consent_events", ids[0]) != 2 || count("tasks", ids[1]) != 0 {
		t.Errorf("merge moved %d tasks and %d consent rows", count("tasks", ids[0]), count("consent_events", ids[0]))
	}
	if p, _ := st.Reader().PatientByID(ctx, ids[0]); p.City != "Fairview" {
		t.Errorf("merge did not fill the blank city")
	}
	if _, err := st.Reader().PatientByID(ctx, ids[1]); err == nil {
		t.Errorf("the merged record is still there")
	}
}
