package root

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBackupRoundTrip(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	file := filepath.Join(t.TempDir(), "b.age")
	if o := p.run("", false, "backup", file); o.code != 1 || !strings.Contains(o.stderr, "CAREBOOK_BACKUP_PASSPHRASE") {
		t.Errorf("no passphrase: exit %d, %q", o.code, o.stderr)
	}
	p.env["CAREBOOK_BACKUP_PASSPHRASE"] = "correct horse battery staple"
	p.mustRun("backup", file)
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %o", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(file)
	if !strings.HasPrefix(string(data), "age-encryption.org/v1") || strings.Contains(string(data), "Smyth") {
		t.Error("the backup is not age-encrypted")
	}

	// Restoring over the live database needs --force.
	if o := p.run("", false, "restore", file); o.code != 1 || !strings.Contains(o.stderr, "--force") {
		t.Errorf("over an existing database: exit %d, %q", o.code, o.stderr)
	}
	q := newPractice(t)
	q.env["CAREBOOK_BACKUP_PASSPHRASE"] = "wrong passphrase entirely"
	if o := q.run("", false, "restore", file); o.code != 1 || !strings.Contains(o.stderr, "does not open") {
		t.Errorf("wrong passphrase: exit %d, %q", o.code, o.stderr)
	}
	if _, err := os.Stat(q.db); err == nil {
		t.Error("a failed restore left a database behind")
	}
	q.env["CAREBOOK_BACKUP_PASSPHRASE"] = "correct horse battery staple"
	out := q.mustRun("restore", file)
	if !strings.Contains(out, "240 patients, 595 appointments, 599 interactions") {
		t.Errorf("restore said %q", out)
	}
	if a, b := p.mustRun("export", "patients"), q.mustRun("export", "patients"); a != b {
		t.Error("the restored practice differs from the original")
	}
	fi, _ = os.Stat(q.db)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("restored database mode %o", fi.Mode().Perm())
	}

	// A damaged backup is refused and replaces nothing.
	os.WriteFile(file, data[:len(data)/2], 0o600)
	if o := q.run("", false, "restore", file, "--force"); o.code != 1 {
		t.Errorf("truncated backup: exit %d", o.code)
	}
	if out := q.mustRun("tag", "list"); !strings.Contains(out, "diabetes") {
		t.Error("a failed restore damaged the existing database")
	}
}
