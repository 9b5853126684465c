package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// auditLogOf builds a closed database file holding n audit rows, some with
// patients, requests and messages, and returns its path.
func auditLogOf(t *testing.T, n int) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.duckdb")
	tick := fixedNow
	st, err := Open(ctx, path, Options{Now: func() time.Time { tick = tick.Add(time.Second); return tick }, Actor: "tester", Host: "testhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := 1; i <= n; i++ {
		entry := AuditEntry{Channel: "ask", Request: fmt.Sprintf("request %d", i), Action: fmt.Sprintf(`{"tool":"find_patients","args":{"n":%d}}`, i), Model: "m", ModelDigest: "d"}
		if err := st.LogOutcome(ctx, entry, []int64{int64(i % 7)}, i%3, OutcomeOK, fmt.Sprintf("message %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// copyDB copies a closed database and its head file to a new folder.
func copyDB(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy.duckdb")
	for _, suffix := range []string{"", headSuffix} {
		data, err := os.ReadFile(src + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// tamper runs SQL on the file directly, as someone with a DuckDB shell would.
func tamper(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, s := range stmts {
		if _, err := conn.ExecContext(context.Background(), s); err != nil {
			t.Fatalf("tamper %q: %v", s, err)
		}
	}
}

// rebuild rewrites audit_log from a temp copy with a SELECT over t, so that
// rows can be moved, renumbered or inserted whatever the primary key says.
func rebuild(selectFromT string) []string {
	return []string{
		"CREATE TEMP TABLE t AS SELECT * FROM audit_log",
		"DELETE FROM audit_log",
		"INSERT INTO audit_log " + selectFromT,
	}
}

func TestAuditVerifyNamesTheFirstTamperedRow(t *testing.T) {
	const n = 1000
	pristine := auditLogOf(t, n)
	cases := []struct {
		name    string
		stmts   []string
		row     int64
		problem string
		// atOpen says the cheap open-time check already refuses writes.
		atOpen bool
	}{
		{name: "edit request text", stmts: []string{"UPDATE audit_log SET request = 'nothing to see' WHERE seq = 500"}, row: 500, problem: "edited"},
		{name: "edit row count", stmts: []string{"UPDATE audit_log SET rows_affected = 0 WHERE seq = 500"}, row: 500, problem: "edited"},
		{name: "edit user", stmts: []string{"UPDATE audit_log SET os_user = 'someone-else' WHERE seq = 731"}, row: 731, problem: "edited"},
		{name: "edit patients", stmts: []string{"UPDATE audit_log SET patient_ids = '' WHERE seq = 12"}, row: 12, problem: "edited"},
		{name: "redact without forget", stmts: []string{"UPDATE audit_log SET request = NULL, action = NULL, message = NULL, salt = NULL, redacted_at = now() WHERE seq = 64"}, row: 64, problem: "no forget"},
		{name: "text in a redacted row", stmts: []string{"UPDATE audit_log SET redacted_at = now(), request = 'made up' WHERE seq = 65"}, row: 65, problem: "text in it again"},
		{name: "row numbered 0", stmts: []string{"UPDATE audit_log SET seq = 0 WHERE seq = 3", "DELETE FROM audit_log WHERE seq = 1000"}, row: 3, problem: "missing", atOpen: true},
		{name: "delete a row", stmts: []string{"DELETE FROM audit_log WHERE seq = 500"}, row: 500, problem: "missing", atOpen: true},
		{name: "delete and renumber", stmts: rebuild("SELECT * REPLACE (CASE WHEN seq > 500 THEN seq - 1 ELSE seq END AS seq) FROM t WHERE seq <> 500"), row: 500, problem: "does not match its hash", atOpen: true},
		{name: "reorder two rows", stmts: rebuild("SELECT * REPLACE (CASE seq WHEN 500 THEN 501 WHEN 501 THEN 500 ELSE seq END AS seq) FROM t"), row: 500, problem: "does not match its hash"},
		{name: "insert a copy", stmts: rebuild("SELECT * REPLACE (CASE WHEN seq >= 500 THEN seq + 1 ELSE seq END AS seq) FROM t UNION ALL SELECT * REPLACE (500 AS seq) FROM t WHERE seq = 499"), row: 500, problem: "", atOpen: true},
		{name: "insert without hash", stmts: []string{"INSERT INTO audit_log (seq, logged_at, os_user, host, channel, action, patient_ids, rows_affected, outcome, leaf_v) VALUES (1001, now(), 'x', 'y', 'cli', '{}', '', 0, 'ok', 2)"}, row: 1001, problem: "no hash", atOpen: true},
		{name: "truncate", stmts: []string{"DELETE FROM audit_log WHERE seq > 900"}, row: 901, problem: "truncated", atOpen: true},
		{name: "truncate log and tree", stmts: []string{"DELETE FROM audit_log WHERE seq > 900", fmt.Sprintf("DELETE FROM audit_tree WHERE idx >= %d", tlog.StoredHashCount(900))}, row: 901, problem: "truncated", atOpen: true},
		{name: "empty the log", stmts: []string{"DELETE FROM audit_log", "DELETE FROM audit_tree"}, row: 1, problem: "truncated", atOpen: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := copyDB(t, pristine)
			tamper(t, path, c.stmts...)
			ctx := context.Background()
			st, err := Open(ctx, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			_, err = st.VerifyAudit(ctx)
			var bad *AuditIntegrityError
			if !errors.As(err, &bad) {
				t.Fatalf("verify: got %v, want an integrity error", err)
			}
			if bad.Row != c.row || !strings.Contains(bad.Error(), c.problem) {
				t.Errorf("verify: %v; want row %d and %q", bad, c.row, c.problem)
			}
			if got := st.AuditBroken() != nil; got != c.atOpen {
				t.Errorf("open-time check refused writes: %v, want %v (%v)", got, c.atOpen, st.AuditBroken())
			}
			if c.atOpen {
				err := st.LogOutcome(ctx, AuditEntry{Channel: "cli", Action: "{}"}, nil, 0, OutcomeOK, "")
				if !errors.Is(err, ErrAuditBroken) || !strings.Contains(err.Error(), "carebook audit verify") {
					t.Errorf("append after a failed check: %v", err)
				}
			}
		})
	}

	t.Run("untouched copy verifies", func(t *testing.T) {
		path := copyDB(t, pristine)
		st, err := Open(context.Background(), path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		rep, err := st.VerifyAudit(context.Background())
		if err != nil || rep.Rows != n || st.AuditBroken() != nil {
			t.Fatalf("verify %+v: %v (open: %v)", rep, err, st.AuditBroken())
		}
	})
}

// A head file removed, or replaced by one from another database, is loud.
func TestAuditHeadFileMissingOrForeign(t *testing.T) {
	a := auditLogOf(t, 20)
	b := auditLogOf(t, 20)

	missing := copyDB(t, a)
	os.Remove(missing + headSuffix)
	foreign := copyDB(t, a)
	data, _ := os.ReadFile(b + headSuffix)
	os.WriteFile(foreign+headSuffix, data, 0o600)

	garbled := copyDB(t, a)
	os.WriteFile(garbled+headSuffix, []byte("carebook audit head v1\nsize lots\n"), 0o600)

	for name, path := range map[string]string{"missing": missing, "foreign": foreign, "garbled": garbled} {
		st, err := Open(context.Background(), path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if st.AuditBroken() == nil {
			t.Errorf("%s head file: the open-time check passed", name)
		}
		st.Close()
	}
}

// A crash between a commit and the head's update leaves the head one row
// behind, with that row announced: the next open checks it and catches up.
// A row nobody announced (appended with a DuckDB shell, hashes and all) is
// tampering, and so is a second one.
func TestAuditHeadCatchesUpAfterCrashOnly(t *testing.T) {
	ctx := context.Background()
	pristine := auditLogOf(t, 10)
	old, err := ReadHead(pristine)
	if err != nil {
		t.Fatal(err)
	}
	appendRows := func(path string, n int) []AuditRow {
		st, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		for range n {
			if err := st.LogOutcome(ctx, AuditEntry{Channel: "cli", Action: "{}"}, nil, 0, OutcomeOK, ""); err != nil {
				t.Fatal(err)
			}
		}
		rows, _ := st.Reader().AuditLog(ctx, 10)
		return rows
	}
	cases := []struct {
		name    string
		rows    int
		pending func(rows []AuditRow) string
		broken  bool
	}{
		{"announced row", 1, func(r []AuditRow) string { return r[0].Hash }, false},
		{"unannounced row", 1, func([]AuditRow) string { return "" }, true},
		{"announcement of another row", 1, func([]AuditRow) string { return old.Last }, true},
		{"two rows beyond", 2, func(r []AuditRow) string { return r[0].Hash }, true},
		{"announced, never committed", 0, func([]AuditRow) string { return "c2FtZQ==" }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := copyDB(t, pristine)
			rows := appendRows(path, c.rows)
			crashed := old
			crashed.Pending = c.pending(rows)
			os.WriteFile(path+headSuffix, crashed.marshal(), 0o600)
			st, err := Open(ctx, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if got := st.AuditBroken() != nil; got != c.broken {
				t.Fatalf("broken = %v, want %v (%v)", got, c.broken, st.AuditBroken())
			}
			if c.broken {
				return
			}
			head, err := ReadHead(path)
			if err != nil || head.Size != int64(10+c.rows) || head.Pending != "" {
				t.Fatalf("head after catch-up: %+v %v", head, err)
			}
			if err := st.LogOutcome(ctx, AuditEntry{Channel: "cli", Action: "{}"}, nil, 0, OutcomeOK, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := st.VerifyAudit(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
	fi, _ := os.Stat(pristine + headSuffix)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("head file mode %o", fi.Mode().Perm())
	}
}

// A head file that cannot be written refuses the write: nothing is
// committed that the head does not announce.
func TestAuditRefusesWhenHeadCannotBeWritten(t *testing.T) {
	ctx := context.Background()
	path := auditLogOf(t, 3)
	st, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// A folder in the head file's place, which no file can be renamed
	// over, stands in for a full disk (root ignores permissions).
	saved, err := os.ReadFile(HeadPath(path))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(HeadPath(path))
	if err := os.MkdirAll(filepath.Join(HeadPath(path), "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	err = st.LogOutcome(ctx, AuditEntry{Channel: "cli", Action: "{}"}, nil, 0, OutcomeOK, "")
	if err == nil || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("append with no head file: %v", err)
	}
	os.RemoveAll(HeadPath(path))
	if err := os.WriteFile(HeadPath(path), saved, 0o600); err != nil {
		t.Fatal(err)
	}
	if rows, _ := st.Reader().AuditLog(ctx, 0); len(rows) != 3 {
		t.Fatalf("%d rows after a refused append, want 3", len(rows))
	}
	if err := st.LogOutcome(ctx, AuditEntry{Channel: "cli", Action: "{}"}, nil, 0, OutcomeOK, ""); err != nil {
		t.Fatalf("append after the disk recovered: %v", err)
	}
	if _, err := st.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

// The tree computed from the rows alone is tlog's tree over stored hashes.
func TestTreeOfMatchesTlog(t *testing.T) {
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	var leaves []tlog.Hash
	for n := range int64(70) {
		leaf := tlog.RecordHash([]byte(fmt.Sprint(n)))
		leaves = append(leaves, leaf)
		hs, err := tlog.StoredHashesForRecordHash(n, leaf, reader)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
		want, err := tlog.TreeHash(n+1, reader)
		if err != nil {
			t.Fatal(err)
		}
		if got := treeOf(leaves); got != want {
			t.Fatalf("tree of %d leaves: %v, tlog says %v", n+1, got, want)
		}
	}
}

// Rows written by schema version 1 are sealed on upgrade and verify.
func TestLegacyAuditRowsAreSealed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.duckdb")
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	stmts := append([]string{"CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)"}, splitStatements(migrations[0])...)
	stmts = append(stmts, "INSERT INTO schema_version VALUES (1, now())",
		`INSERT INTO audit_log (seq, logged_at, os_user, host, channel, request, action, patient_ids, rows_affected, outcome)
		 VALUES (1, '2026-01-02 03:04:05.123456', 'u', 'h', 'cli', 'tag vip', '{"tool":"tag"}', [1, 2], 2, 'ok'),
		        (2, '2026-01-02 03:04:06', 'u', 'h', 'ask', NULL, '{"tool":"find"}', [], 0, 'error')`)
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	db.Close()

	st, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.AuditBroken(); err != nil {
		t.Fatal(err)
	}
	if err := st.LogOutcome(ctx, AuditEntry{Channel: "cli", Action: "{}"}, nil, 0, OutcomeOK, ""); err != nil {
		t.Fatal(err)
	}
	rep, err := st.VerifyAudit(ctx)
	if err != nil || rep.Rows != 3 {
		t.Fatalf("verify after upgrade: %+v %v", rep, err)
	}
}

// Concurrent appends from one process chain in order.
func TestConcurrentAppendsChain(t *testing.T) {
	st, _ := openTemp(t)
	ctx := context.Background()
	errs := make(chan error, 40)
	for i := range 40 {
		go func() {
			errs <- st.LogOutcome(ctx, AuditEntry{Channel: "cli", Action: fmt.Sprint(i)}, nil, 0, OutcomeOK, "")
		}()
	}
	for range 40 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if rep, err := st.VerifyAudit(ctx); err != nil || rep.Rows != 40 {
		t.Fatalf("%+v %v", rep, err)
	}
}

// A forget's own row names nobody, so a later forget never redacts it, even
// when the second patient's MRN happens to appear in it: the rows it lists
// must stay listed, or verification would call the first forget tampering.
func TestSecondForgetKeepsTheFirstForgetsRow(t *testing.T) {
	st, _ := openTemp(t)
	ctx := context.Background()
	load := func(ps ...Patient) []int64 {
		var ids []int64
		err := st.Write(ctx, AuditEntry{Channel: "test", Action: "{}"}, func(tx *Tx) error {
			var err error
			ids, err = tx.LoadPatients(ctx, ps)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	a := load(Patient{MRN: "A1", FirstName: "Ada", LastName: "Lovelace", Status: "active"})[0]
	if err := st.LogOutcome(ctx, AuditEntry{Channel: "ask", Request: "show Ada Lovelace", Action: `{"tool":"query"}`}, []int64{a}, 1, OutcomeOK, ""); err != nil {
		t.Fatal(err)
	}
	gone, err := st.Forget(ctx, AuditEntry{Channel: "cli"}, a)
	if err != nil || gone.AuditRows == 0 {
		t.Fatalf("first forget: %+v %v", gone, err)
	}
	// An MRN that occurs in the first forget's row (its hash of A1).
	b := load(Patient{MRN: strings.ToUpper(gone.MRNHash[:8]), FirstName: "Bo", LastName: "Zed", Status: "active"})[0]
	if _, err := st.Forget(ctx, AuditEntry{Channel: "cli"}, b); err != nil {
		t.Fatal(err)
	}
	if _, err := st.VerifyAudit(ctx); err != nil {
		t.Fatalf("verify after two forgets: %v", err)
	}
}

// An offline export verifies against the live log; an edited, shortened or
// foreign copy does not, and the bad row is named.
func TestCheckAuditExport(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, auditLogOf(t, 20), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var buf strings.Builder
	n, err := st.ExportAudit(ctx, time.Time{}, &buf)
	if err != nil || n != 20 {
		t.Fatalf("export: %d rows, %v", n, err)
	}
	export := buf.String()
	if got, err := st.CheckAuditExport(ctx, strings.NewReader(export)); err != nil || got != 20 {
		t.Fatalf("the export itself: %d rows, %v", got, err)
	}
	lines := strings.SplitAfter(export, "\n")
	cases := map[string]struct {
		text string
		row  int64
	}{
		"edited":   {strings.Replace(export, `"request":"request 7"`, `"request":"request 8"`, 1), 7},
		"no head":  {strings.Join(lines[:20], ""), 0},
		"not json": {export + "{\n", 0},
	}
	for name, c := range cases {
		_, err := st.CheckAuditExport(ctx, strings.NewReader(c.text))
		var bad *AuditIntegrityError
		switch {
		case err == nil:
			t.Errorf("%s: accepted", name)
		case c.row != 0 && (!errors.As(err, &bad) || bad.Row != c.row):
			t.Errorf("%s: %v, want row %d named", name, err, c.row)
		}
	}
	// An export of another log does not match this one.
	other, err := Open(ctx, auditLogOf(t, 20), Options{Now: func() time.Time { return fixedNow.Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.CheckAuditExport(ctx, strings.NewReader(export)); err == nil {
		t.Error("another log's export was accepted")
	}
}

// Someone who could plant a link at the head file's old fixed temporary
// name made Carebook overwrite another file with each audit row.
func TestHeadWriteFollowsNoPlantedLink(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.duckdb")
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, HeadPath(path)+".tmp"); err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, path, Options{Actor: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.LogOutcome(ctx, AuditEntry{Channel: "cli", Action: `{"tool":"t"}`}, nil, 0, OutcomeOK, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "precious" {
		t.Errorf("the linked file now holds %q", got)
	}
	if h, err := ReadHead(path); err != nil || h.Size != 1 {
		t.Errorf("head %+v, %v; want size 1", h, err)
	}
}

// A head file Carebook did not write is refused whole: each of these once
// parsed, or failed later with "sql: no rows in result set".
func TestParseHeadRefusesGarbledHeads(t *testing.T) {
	good := Head{Size: 3, Tree: tlog.Hash{1}, Last: "x"}.marshal()
	if _, err := parseHead(good); err != nil {
		t.Fatalf("a good head: %v", err)
	}
	for name, data := range map[string]string{
		"negative size":         strings.Replace(string(good), "size 3", "size -1", 1),
		"truncated":             string(good[:len(good)/2]),
		"wrong magic":           strings.Replace(string(good), "v1", "v9", 1),
		"two pending":           string(good) + "pending a\npending b\n",
		"size twice":            string(good) + "size 4\n",
		"no size":               strings.Replace(string(good), "size 3\n", "", 1) + "pending a\n",
		"negative pending":      string(good) + "pending a\npending_rows -2\n",
		"empty":                 "",
		"not a number for size": strings.Replace(string(good), "size 3", "size three", 1),
	} {
		if _, err := parseHead([]byte(data)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}
