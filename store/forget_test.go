package store_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/carebook/carebook/backup"
	"github.com/carebook/carebook/importer"
	"github.com/carebook/carebook/store"
)

const fixtureDir = "../eval/testdata/clinic"

// forgetFixture is the fixture practice in an uncompressed file, with two
// audit rows naming P1002, and a function that lists which of P1002's
// identifying strings are in the raw bytes of the database, its WAL and
// its head file.
func forgetFixture(t *testing.T) (path string, opts store.Options, victim store.Patient, found func() [][]byte) {
	t.Helper()
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skip("shared fixtures not found")
	}
	ctx := context.Background()
	path = filepath.Join(t.TempDir(), "p.duckdb")
	now := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	opts = store.Options{Now: func() time.Time { return now }, Uncompressed: true}
	st, err := store.Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range importer.Kinds {
		f, err := os.Open(filepath.Join(fixtureDir, string(kind)+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = importer.Import(ctx, st, f.Name(), f, importer.Options{Kind: kind, Now: now})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	ps, _, err := st.Reader().MatchPatients(ctx, "P1002")
	if err != nil || len(ps) != 1 {
		t.Fatalf("P1002: %v %v", ps, err)
	}
	victim = ps[0]
	// Earlier audit rows that name the patient: one resolved to their id,
	// one only mentioning their email in its text.
	name := victim.FirstName + " " + victim.LastName
	if err := st.LogOutcome(ctx, store.AuditEntry{Channel: "ask", Request: "show " + name, Action: `{"tool":"find_patients","args":{"name":"` + name + `"}}`},
		[]int64{victim.ID}, 1, store.OutcomeOK, ""); err != nil {
		t.Fatal(err)
	}
	if err := st.LogOutcome(ctx, store.AuditEntry{Channel: "ask", Request: "who is " + victim.Email, Action: `{"tool":"find_patients"}`},
		nil, 0, store.OutcomeRefused, "no patient matches "+victim.Email); err != nil {
		t.Fatal(err)
	}
	st.Close()

	secrets := [][]byte{[]byte("Smyth"), []byte(victim.Email), []byte(victim.Phone), []byte("P1002"), []byte("Sent intake forms")}
	found = func() [][]byte {
		var hits [][]byte
		for _, p := range []string{path, path + ".wal", store.HeadPath(path)} {
			data, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			for _, s := range secrets {
				if bytes.Contains(data, s) {
					hits = append(hits, s)
				}
			}
		}
		return hits
	}
	// "Sent intake forms" is another patient's summary too, so it must
	// survive: it shows the compaction kept the rest.
	if hits := found(); len(hits) != len(secrets) {
		t.Fatalf("positive control: found %q of %q before the forget; the test cannot see the bytes", hits, secrets)
	}
	return path, opts, victim, found
}

// TestForgetLeavesNoBytes is the deletion test: after a forget and the
// compaction, the patient's name, email, phone and MRN are nowhere in the
// raw bytes of the database file or a WAL. Strings are stored uncompressed
// here, and the bytes are found before the forget: without that positive
// control, not finding them would prove nothing (DuckDB compresses strings).
func TestForgetLeavesNoBytes(t *testing.T) {
	ctx := context.Background()
	path, opts, victim, found := forgetFixture(t)
	now := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	st, err := store.Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	gone, err := st.Forget(ctx, store.AuditEntry{Channel: "cli"}, victim.ID)
	if err != nil {
		t.Fatal(err)
	}
	if gone.Appointments != 2 || gone.Interactions != 2 || gone.Tags != 2 || !store.CheckReceipt(gone.MRNHash, gone.Receipt, "P1002") || gone.AuditRows < 2 {
		t.Errorf("forgot %+v", gone)
	}
	if err := st.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	hits := found()
	if len(hits) != 1 || string(hits[0]) != "Sent intake forms" {
		t.Fatalf("after forget and compaction the file holds %q", hits)
	}
	if _, err := os.Stat(path + ".wal"); err == nil {
		t.Error("a WAL is left beside the compacted file")
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("compacted file mode %o", fi.Mode().Perm())
	}

	// The rest of the practice is intact, and new ids do not reuse old ones.
	st, err = store.Open(ctx, path, store.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.Reader().Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Patients != 239 || c.Appointments != 593 || c.Interactions != 597 {
		t.Errorf("counts after forget %+v, want 239/593/597", c)
	}
	other, _, _ := st.Reader().MatchPatients(ctx, "P1003")
	var newIDs []int64
	err = st.Write(ctx, store.AuditEntry{Channel: "cli"}, func(tx *store.Tx) error {
		newIDs, err = tx.LogInteraction(ctx, store.NewInteraction{Channel: store.ChannelCall, Direction: store.DirectionOutbound, Summary: "x", At: now}, []int64{other[0].ID})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if newIDs[0] <= 599 {
		t.Errorf("a new interaction got id %d, reusing an old one", newIDs[0])
	}
	// A backup made after the forget does not hold the patient either.
	rcpt, _ := age.NewScryptRecipient("a long test passphrase")
	rcpt.SetWorkFactor(10)
	var enc bytes.Buffer
	if _, err := backup.Write(ctx, st, &enc, rcpt); err != nil {
		t.Fatal(err)
	}
	id, _ := age.NewScryptIdentity("a long test passphrase")
	plain, err := age.Decrypt(&enc, id)
	if err != nil {
		t.Fatal(err)
	}
	snapshot, _ := io.ReadAll(plain)
	if !bytes.Contains(snapshot, []byte("Sent intake forms")) {
		t.Fatal("positive control: the backup does not hold the other patients' data")
	}
	secrets := [][]byte{[]byte("Smyth"), []byte(victim.Email), []byte(victim.Phone), []byte("P1002")}
	for _, sec := range secrets {
		if bytes.Contains(snapshot, sec) {
			t.Errorf("the backup after forget holds %q", sec)
		}
	}

	rows, _ := st.Reader().AuditLog(ctx, 0)
	for _, r := range rows {
		for _, sec := range secrets {
			if bytes.Contains([]byte(r.Action+r.Request+r.Message), sec) {
				t.Errorf("audit row %d names the forgotten patient (%s)", r.Seq, sec)
			}
		}
	}
	// Redaction keeps the chain: the log still verifies, and the rows
	// about the patient are still there, with their ids.
	rep, err := st.VerifyAudit(ctx)
	if err != nil {
		t.Fatalf("audit verify after forget: %v", err)
	}
	if rep.Redacted < 2 {
		t.Errorf("verify saw %d redacted rows, want at least 2", rep.Redacted)
	}
}

// A forget stopped after its deletion committed (kill -9, a full disk)
// left the patient's bytes in the file and nothing said so. The deletion
// records that a rewrite is pending, and the next open finishes it.
func TestInterruptedForgetIsFinishedOnOpen(t *testing.T) {
	ctx := context.Background()
	path, opts, victim, found := forgetFixture(t)
	st, err := store.Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Forget(ctx, store.AuditEntry{Channel: "cli"}, victim.ID); err != nil {
		t.Fatal(err)
	}
	st.Close() // "killed" before the rewrite
	if hits := found(); len(hits) < 2 {
		t.Fatalf("positive control: only %q left in the file after the deletion; the test cannot tell a rewrite", hits)
	}
	st, err = store.Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CompactionPending(); err != nil {
		t.Fatalf("the open did not finish the rewrite: %v", err)
	}
	st.Close()
	if hits := found(); len(hits) != 1 || string(hits[0]) != "Sent intake forms" {
		t.Fatalf("after the next open the file holds %q", hits)
	}
	// Done once: the marker went with the rewrite.
	st, err = store.Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}
