package backup_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/backup"
	"github.com/carebook/carebook/store"
)

// A snapshot is the state when it was taken: what is written after, once
// the hold is released, is not in the backup made from it. Its copy has no
// name in the folder at any point after Take.
func TestSnapshotIsTheStateItWasTakenIn(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "practice.duckdb")
	st, err := store.Open(ctx, db, store.Options{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	addStaff := func(name string) {
		t.Helper()
		err := st.Write(ctx, store.AuditEntry{Channel: backend.ChannelStaff}, func(tx *store.Tx) error {
			return tx.AddStaff(ctx, store.Staff{Name: name, Role: backend.RoleManager, OSUser: strings.ToLower(name)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	addStaff("Early")
	snap, err := backup.Take(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	if left := copiesIn(t, dir); len(left) > 0 {
		t.Errorf("the snapshot's copies have names: %v", left)
	}
	addStaff("Late")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	rcpt, _ := age.NewScryptRecipient("a long test passphrase")
	rcpt.SetWorkFactor(10)
	var enc bytes.Buffer
	if _, err := snap.Write(ctx, &enc, rcpt); err != nil {
		t.Fatal(err)
	}
	if err := snap.Close(); err != nil {
		t.Fatal(err)
	}
	id, _ := age.NewScryptIdentity("a long test passphrase")
	var staff []string
	check := func(ctx context.Context, path string) error {
		st, err := store.Open(ctx, path, store.Options{})
		if err != nil {
			return err
		}
		defer st.Close()
		if _, err := st.VerifyAudit(ctx); err != nil {
			return err
		}
		for _, name := range []string{"Early", "Late"} {
			if _, err := st.Reader().StaffByName(ctx, name); err == nil {
				staff = append(staff, name)
			}
		}
		return nil
	}
	dst := filepath.Join(t.TempDir(), "restored.duckdb")
	if _, err := backup.Restore(ctx, &enc, dst, backup.RestoreOptions{Check: check, File: "b.age"}, id); err != nil {
		t.Fatal(err)
	}
	if len(staff) != 1 || staff[0] != "Early" {
		t.Errorf("the backup holds staff %v, want [Early]: the state when the snapshot was taken", staff)
	}
	if left := copiesIn(t, dir); len(left) > 0 {
		t.Errorf("copies left after Close: %v", left)
	}
}

// What a killed backup left beside the database goes, links included, and
// nothing a link points to is touched.
func TestRemoveStaleFollowsNoLink(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "practice.duckdb")
	outside := filepath.Join(t.TempDir(), "precious")
	for _, p := range []string{outside, filepath.Join(dir, ".practice.duckdb.backup-1"), filepath.Join(dir, ".other.duckdb.backup-2")} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dir, ".practice.duckdb.backup-3")); err != nil {
		t.Fatal(err)
	}
	backup.RemoveStale(db)
	if left := copiesIn(t, dir); len(left) != 1 || left[0] != ".other.duckdb.backup-2" {
		t.Errorf("left %v, want only another database's", left)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("the link's target: %v", err)
	}
}

func copiesIn(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".backup-") {
			out = append(out, e.Name())
		}
	}
	return out
}
