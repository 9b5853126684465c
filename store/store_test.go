package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var fixedNow = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "practice.duckdb")
	s, err := Open(context.Background(), path, Options{Now: func() time.Time { return fixedNow }, Actor: "tester", Host: "testhost"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenCreatesPrivateFileAndFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new-folder")
	path := filepath.Join(dir, "practice.duckdb")
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s.Close()
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{path, 0o600}, {dir, 0o700}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != c.want {
			t.Errorf("%s has mode %o, want %o", c.path, got, c.want)
		}
	}
}

// The store's connection must not reach a file, a URL or an extension,
// whatever SQL runs on it.
func TestHardening(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	outside := filepath.Join(filepath.Dir(path), "leak.csv")
	attack := []struct {
		name string
		sql  string
	}{
		{"read a system file", `SELECT * FROM read_csv('/etc/passwd')`},
		{"read a file by replacement scan", `SELECT * FROM '/etc/passwd'`},
		{"list files", `SELECT * FROM glob('/etc/*')`},
		{"copy to a file", fmt.Sprintf(`COPY patients TO '%s'`, outside)},
		{"copy the database", fmt.Sprintf(`COPY FROM DATABASE memory TO '%s'`, outside)},
		{"attach another database", fmt.Sprintf(`ATTACH '%s' AS other`, filepath.Join(filepath.Dir(path), "other.duckdb"))},
		{"install an extension", `INSTALL httpfs`},
		{"load an extension", `LOAD httpfs`},
		{"read a URL", `SELECT * FROM read_csv('https://example.com/x.csv')`},
		{"turn external access back on", `SET enable_external_access = true`},
		{"unlock the configuration", `SET lock_configuration = false`},
		{"turn autoload back on", `SET autoload_known_extensions = true`},
		{"turn autoinstall back on", `SET autoinstall_known_extensions = true`},
	}
	for _, a := range attack {
		t.Run(a.name, func(t *testing.T) {
			rows, err := s.db.QueryContext(ctx, a.sql)
			if err == nil {
				for rows.Next() {
				}
				err = rows.Err()
				rows.Close()
			}
			if err == nil {
				t.Fatalf("%s succeeded; the store must refuse it", a.sql)
			}
		})
	}
	if _, err := os.Stat(outside); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file was written outside the database: %v", err)
	}
	for name, want := range map[string]string{
		"enable_external_access":       "false",
		"autoinstall_known_extensions": "false",
		"autoload_known_extensions":    "false",
		"lock_configuration":           "true",
	} {
		got, err := s.Setting(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("setting %s = %q, want %q", name, got, want)
		}
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT max(version) FROM schema_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() {
		t.Fatalf("schema version %d, want %d", v, SchemaVersion())
	}
	s.Close()

	// Reopening a current file changes nothing.
	s2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	var rows int
	s2.db.QueryRowContext(ctx, `SELECT count(*) FROM schema_version`).Scan(&rows)
	if rows != SchemaVersion() {
		t.Errorf("reopen added migration rows: %d", rows)
	}
	// A file from a newer Carebook is refused, clearly.
	if _, err := s2.db.ExecContext(ctx, `INSERT INTO schema_version VALUES (999, now())`); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	_, err = Open(ctx, path, Options{})
	var tooNew *TooNewError
	if !errors.As(err, &tooNew) || tooNew.FileVersion != 999 {
		t.Fatalf("opening a newer file: got %v, want TooNewError for version 999", err)
	}
	if !strings.Contains(err.Error(), "upgrade carebook") {
		t.Errorf("error does not say what to do: %v", err)
	}
}

// A file at an older schema version is upgraded in one transaction: a
// migration that fails leaves the file at its old version.
func TestMigrationIsAtomic(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.duckdb")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	saved := migrations
	t.Cleanup(func() { migrations = saved })
	migrations = append(slicesClone(saved), "CREATE TABLE upgraded (x INT);\nTHIS IS NOT SQL;\n")
	if _, err := Open(ctx, path, Options{}); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("schema version %d", len(migrations))) {
		t.Fatalf("failing migration: got %v", err)
	}
	migrations = append(slicesClone(saved), "CREATE TABLE upgraded (x INT);\n")
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	defer s.Close()
	var v int
	s.db.QueryRowContext(ctx, `SELECT max(version) FROM schema_version`).Scan(&v)
	if v != len(migrations) {
		t.Errorf("after upgrade at version %d, want %d", v, len(migrations))
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// holdEnv makes the test binary a second process that holds the database.
const holdEnv = "CAREBOOK_TEST_HOLD_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(holdEnv); path != "" {
		hold(path)
		return
	}
	os.Exit(m.Run())
}

func hold(path string) {
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("holding")
	d, _ := time.ParseDuration(os.Getenv("CAREBOOK_TEST_HOLD_FOR"))
	time.Sleep(d)
	s.Close()
}

func startHolder(t *testing.T, path string, holdFor time.Duration) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+path, "CAREBOOK_TEST_HOLD_FOR="+holdFor.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "holding") {
		t.Fatalf("holder did not start: %q", buf[:n])
	}
	return cmd
}

func TestLockHeldByAnotherProcessFailsWithPID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.duckdb")
	holder := startHolder(t, path, time.Minute)
	start := time.Now()
	_, err := Open(context.Background(), path, Options{LockTimeout: 400 * time.Millisecond})
	var locked *LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("got %v, want LockedError", err)
	}
	want := "the database is in use by another carebook process (pid " + strconv.Itoa(holder.Process.Pid) + ")"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("gave up after %v, before retrying", waited)
	}
}

func TestLockIsWaitedFor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queued.duckdb")
	startHolder(t, path, 600*time.Millisecond)
	s, err := Open(context.Background(), path, Options{LockTimeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("Open should wait for the other process: %v", err)
	}
	s.Close()
}

func TestWriteRollsBackOnErrorAndLogsIt(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	addPatients(t, s, Patient{MRN: "P1", FirstName: "Ada", LastName: "Lovelace"})
	boom := errors.New("boom")
	err := s.Write(ctx, AuditEntry{Channel: "cli", Action: `{"tool":"tag"}`}, func(tx *Tx) error {
		ids, _ := tx.PatientIDs(ctx, PatientFilter{})
		if _, err := tx.AddTag(ctx, "vip", ids); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write: %v", err)
	}
	tags, _ := s.Reader().ListTags(ctx)
	if len(tags) != 0 {
		t.Errorf("a failed write left tags behind: %v", tags)
	}
	log, _ := s.Reader().AuditLog(ctx, 0)
	last := log[len(log)-1]
	if last.Outcome != OutcomeError || last.Message != "boom" || last.Channel != "cli" {
		t.Errorf("last audit row %+v, want the error", last)
	}
}

func TestWriteCancelledBeforeCommitWritesNothing(t *testing.T) {
	s, _ := openTemp(t)
	addPatients(t, s, Patient{MRN: "P1", FirstName: "Ada", LastName: "Lovelace"})
	ctx, cancel := context.WithCancel(context.Background())
	err := s.Write(ctx, AuditEntry{Channel: "run", Action: `{}`}, func(tx *Tx) error {
		ids, _ := tx.PatientIDs(ctx, PatientFilter{})
		_, err := tx.AddTag(ctx, "vip", ids)
		cancel()
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Write: %v", err)
	}
	n, _ := s.Reader().CountPatients(context.Background(), PatientFilter{TagsAny: []string{"vip"}})
	if n != 0 {
		t.Errorf("cancelled write tagged %d patients", n)
	}
}

func TestWriteAuditsTouchedPatients(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	addPatients(t, s, Patient{MRN: "P1", FirstName: "Ada", LastName: "Lovelace"}, Patient{MRN: "P2", FirstName: "Alan", LastName: "Turing"})
	err := s.Write(ctx, AuditEntry{Channel: "ask", Request: "tag everyone vip", Action: `{"tool":"tag"}`, Model: "m", ModelDigest: "d"}, func(tx *Tx) error {
		ids, _ := tx.PatientIDs(ctx, PatientFilter{})
		_, err := tx.AddTag(ctx, "vip", ids)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	log, _ := s.Reader().AuditLog(ctx, 0)
	last := log[len(log)-1]
	if len(last.PatientIDs) != 2 || last.Rows != 2 || last.User != "tester" || last.Host != "testhost" || last.Mode != ModeDirect ||
		last.Model != "m" || last.ModelDigest != "d" || last.Request != "tag everyone vip" || last.LeafV != 2 {
		t.Errorf("audit row %+v", last)
	}
}

// A fixed "today" (CAREBOOK_NOW) set relative dates in 2019 and, before,
// dated every audit row in 2019 too, so that --since hid them. The audit
// log keeps the real clock and records that "today" was fixed.
func TestAuditRowsCarryTheRealClockAndSayWhenNowWasFixed(t *testing.T) {
	ctx := context.Background()
	past := time.Date(2019, 3, 1, 9, 0, 0, 0, time.UTC)
	s, err := Open(ctx, filepath.Join(t.TempDir(), "p.duckdb"), Options{Now: func() time.Time { return past }, FixedNow: "2019-03-01T09:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := time.Now().Add(-time.Minute)
	if err := s.LogOutcome(ctx, AuditEntry{Channel: "cli", Action: `{"tool":"query"}`}, nil, 0, OutcomeOK, ""); err != nil {
		t.Fatal(err)
	}
	rows, _ := s.Reader().AuditLog(ctx, 0)
	r := rows[len(rows)-1]
	if r.At.Before(before) || r.FixedNow != "2019-03-01T09:00:00Z" {
		t.Errorf("row at %v with fixed_now %q; want the real time and the fixed one recorded", r.At, r.FixedNow)
	}
	if since, _ := s.Reader().FindAudit(ctx, AuditQuery{Since: before}); len(since) == 0 {
		t.Error("--since today hides a row written under a fixed CAREBOOK_NOW")
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

func addPatients(t *testing.T, s *Store, ps ...Patient) {
	t.Helper()
	err := s.Write(context.Background(), AuditEntry{Channel: "test", Action: "{}"}, func(tx *Tx) error {
		_, err := tx.UpsertPatients(context.Background(), ps, []PatientField{FieldFirstName, FieldLastName, FieldDOB, FieldEmail, FieldPhone, FieldCity, FieldLanguage, FieldMarketingConsent, FieldStatus})
		return err
	})
	if err != nil {
		t.Fatalf("add patients: %v", err)
	}
}
