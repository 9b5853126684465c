package main

// The README's promises about the database, its audit log and its
// backups, checked through the built binary: real DuckDB files, real
// processes, damaged and killed for real.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const passphrase = "correct horse battery staple"

// binPractice is one practice database driven through the binary.
type binPractice struct {
	t   *testing.T
	bin string
	dir string // the database's folder, 0700
	db  string
	env []string
}

func newBinPractice(t *testing.T) *binPractice {
	t.Helper()
	home := t.TempDir()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := &binPractice{t: t, bin: carebookBinary(t), dir: dir, db: filepath.Join(dir, "p.duckdb")}
	p.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + home,
		"CAREBOOK_SYSTEM_CONFIG=" + filepath.Join(home, "no-system.toml"), "CAREBOOK_DB=" + p.db,
		"CAREBOOK_NOW=2026-06-15T10:00:00Z", "CAREBOOK_BACKUP_PASSPHRASE=" + passphrase,
		// Nothing here needs a model: a closed port makes sure.
		"CAREBOOK_OLLAMA_HOST=http://127.0.0.1:9"}
	return p
}

type binResult struct {
	stdout, stderr string
	code           int
}

func (p *binPractice) runEnv(env []string, args ...string) binResult {
	p.t.Helper()
	return runBinary(p.t, p.bin, "", append(append([]string{}, p.env...), env...), nil, args...)
}

// runBinary runs bin with exactly env (nothing inherited), in dir when it
// is not empty, as cred's account when it is not nil, and returns what it
// printed and its exit code. An exit code is an answer, not a failure:
// only a binary that could not be run at all fails the test.
func runBinary(t *testing.T, bin, dir string, env []string, cred *syscall.Credential, args ...string) binResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Dir = dir
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("carebook %s: %v", strings.Join(args, " "), err)
	}
	return binResult{out.String(), errb.String(), code}
}

func (p *binPractice) run(args ...string) binResult {
	p.t.Helper()
	return p.runEnv(nil, args...)
}

func (p *binPractice) must(args ...string) string {
	p.t.Helper()
	r := p.run(args...)
	if r.code != 0 {
		p.t.Fatalf("carebook %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// oneSentence fails unless stderr is one line that holds every want, and
// none of the driver's words.
func oneSentence(t *testing.T, what string, r binResult, want ...string) {
	t.Helper()
	if r.code != 1 {
		t.Errorf("%s: exit %d, want 1 (stdout %q, stderr %q)", what, r.code, r.stdout, r.stderr)
		return
	}
	msg := strings.TrimSuffix(r.stderr, "\n")
	if strings.Contains(msg, "\n") {
		t.Errorf("%s: more than one line:\n%s", what, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: %q does not say %q", what, msg, w)
		}
	}
	for _, raw := range []string{"sql:", "IO Error", "FATAL", "Corrupt database file", "database/sql/driver", "INTERNAL", "stat ", "is the disk full"} {
		if strings.Contains(msg, raw) {
			t.Errorf("%s: driver or system text %q in %q", what, raw, msg)
		}
	}
}

type auditRow struct {
	Seq        int64     `json:"seq"`
	At         time.Time `json:"at"`
	Channel    string    `json:"channel"`
	Action     string    `json:"action"`
	Outcome    string    `json:"outcome"`
	Message    string    `json:"message"`
	PatientIDs []int64   `json:"patient_ids"`
	FixedNow   string    `json:"fixed_now"`
	Hash       string    `json:"hash"`
}

func (p *binPractice) auditRows(args ...string) []auditRow {
	p.t.Helper()
	var rows []auditRow
	if err := json.Unmarshal([]byte(p.must(append([]string{"audit", "log", "--json"}, args...)...)), &rows); err != nil {
		p.t.Fatal(err)
	}
	return rows
}

// #6: restoring an older backup rolled the audit history back in silence.
// The rows the backup does not hold are kept beside the database, the
// restore is a row of the restored log, and audit verify shows it.
func TestRestoreKeepsWhatItRollsBack(t *testing.T) {
	p := newBinPractice(t)
	p.must("demo", "--patients", "40")
	backup := filepath.Join(t.TempDir(), "b.age")
	p.must("backup", backup)
	p.must("show", "D000001")
	p.must("export", "patient", "D000002", "--to", "the patient", "-o", filepath.Join(t.TempDir(), "x.json"))
	p.must("forget", "D000003", "--yes")
	before := p.auditRows()

	out := p.must("restore", backup, "--force")
	matches, _ := filepath.Glob(p.db + ".rolled-back-*.jsonl")
	if len(matches) != 1 {
		t.Fatalf("want one rolled-back file beside the database, found %v; restore said %q", matches, out)
	}
	kept := matches[0]
	if fi, _ := os.Stat(kept); fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %04o", kept, fi.Mode().Perm())
	}
	if !strings.Contains(out, kept) || !strings.Contains(out, "forget them again") {
		t.Errorf("restore did not say where the rows are and that a forget was undone: %q", out)
	}
	// The file holds exactly the rows after the backup's head (the demo's
	// row), unchanged, then the replaced log's head.
	f, _ := os.Open(kept)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var got []auditRow
	sawHead := false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), `{"head"`) {
			sawHead = true
			continue
		}
		var r auditRow
		json.Unmarshal(sc.Bytes(), &r)
		got = append(got, r)
	}
	// audit log's own row comes after the rows it listed: one more.
	if !sawHead || len(got) != len(before) {
		t.Fatalf("kept %d rows (head line %v), want the %d after the backup", len(got), sawHead, len(before))
	}
	for i, r := range before[1:] {
		if got[i].Seq != r.Seq || got[i].Hash != r.Hash {
			t.Errorf("kept row %d is not the replaced log's row %d", got[i].Seq, r.Seq)
		}
	}

	after := p.auditRows()
	last := after[len(after)-1]
	if last.Channel != "restore" || !strings.Contains(last.Message, "restored backup of") ||
		!strings.Contains(last.Message, fmt.Sprintf("%d later rows were rolled back", len(got))) || !strings.Contains(last.Message, filepath.Base(kept)) {
		t.Errorf("the restored log does not record the restore: %+v", last)
	}
	// The accounting of disclosures shows where the rolled-back one went.
	if d := p.must("audit", "disclosures"); !strings.Contains(d, "restore") || !strings.Contains(d, "1 disclosure") {
		t.Errorf("audit disclosures does not list the restore that rolled a disclosure back:\n%s", d)
	}
	// The backup's own row was rolled back; the restore proves it exists.
	if d := p.run("doctor"); strings.Contains(d.stdout, "no backup has been made") {
		t.Errorf("doctor forgets the backup that was just restored:\n%s", d.stdout)
	}
	v := p.must("audit", "verify")
	for _, want := range []string{"Restored at row", "from a backup of", "rolled back (1 disclosure among them)", filepath.Base(kept)} {
		if !strings.Contains(v, want) {
			t.Errorf("audit verify does not show the epoch (%q):\n%s", want, v)
		}
	}
}

// restore is a direct-mode command: while carebook serve holds the
// database it refuses, and replaces nothing.
func TestRestoreRefusesWhileServeHoldsTheDatabase(t *testing.T) {
	p := newBinPractice(t)
	p.must("demo", "--patients", "10")
	backup := filepath.Join(t.TempDir(), "b.age")
	p.must("backup", backup)
	p.must("show", "D000001")
	data, _ := os.ReadFile(p.db)

	// What carebook serve does: hold the lock file and say so in it.
	lock, err := os.OpenFile(p.db+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	lock.Truncate(0)
	lock.WriteAt([]byte(`{"pid":4242,"server":true,"socket":"/run/carebook/carebook.sock"}`+"\n"), 0)
	r := p.run("restore", backup, "--force")
	oneSentence(t, "restore while serve holds the database", r, "carebook serve (pid 4242)", "--server")
	// Said before the passphrase is asked for, not after the decryption.
	r = p.runEnv([]string{"CAREBOOK_BACKUP_PASSPHRASE="}, "restore", backup, "--force")
	oneSentence(t, "restore while serve holds the database, no passphrase", r, "carebook serve (pid 4242)")
	syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if now, _ := os.ReadFile(p.db); !bytes.Equal(now, data) {
		t.Error("the refused restore replaced the database")
	}
}

// #9: a head file that is not one Carebook wrote made every command fail
// with "sql: no rows in result set" (or passed, or read as tampering).
func TestGarbledHeadIsReportedAsDamaged(t *testing.T) {
	p := newBinPractice(t)
	p.must("demo", "--patients", "10")
	p.must("show", "D000001") // two rows: the head's last row is not row 1
	good, err := os.ReadFile(p.db + ".audit-head")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(good), "\n")
	size := ""
	for _, l := range lines {
		if strings.HasPrefix(l, "size ") {
			size = l
		}
	}
	shapes := map[string]string{
		"negative size":  strings.Replace(string(good), size, "size -1", 1),
		"huge size":      strings.Replace(string(good), size, "size 99999999999999", 1),
		"truncated":      string(good[:len(good)/3]),
		"wrong magic":    strings.Replace(string(good), "carebook audit head v1", "carebook audit head v9", 1),
		"two pending":    string(good) + "pending AAAA\npending BBBB\n",
		"empty":          "",
		"a line missing": strings.Replace(string(good), size+"\n", "", 1),
	}
	for name, head := range shapes {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(p.db+".audit-head", []byte(head), 0o600); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(p.db+".audit-head", good, 0o600)
			for _, args := range [][]string{{"show", "D000001"}, {"tag", "add", "vip", "D000001", "--yes"}, {"log", "D000001", "--channel", "call", "--summary", "hi", "--yes"}} {
				oneSentence(t, strings.Join(args, " "), p.run(args...), "head file", "is damaged", "restore the last good backup")
			}
			v := p.run("audit", "verify")
			if v.code != 1 || !strings.Contains(v.stderr, "is damaged") || !strings.Contains(v.stderr, "rows themselves verify") || strings.Contains(v.stderr, "sql:") {
				t.Errorf("audit verify does not explain the damaged head: exit %d\n%s", v.code, v.stderr)
			}
			d := p.run("doctor")
			if !strings.Contains(d.stdout, "is damaged") {
				t.Errorf("doctor does not say the head is damaged:\n%s", d.stdout)
			}
		})
	}
}

// #19: a database copied without its head file gets the way out, not
// only an incident text.
func TestDatabaseCopiedWithoutItsHead(t *testing.T) {
	p := newBinPractice(t)
	p.must("demo", "--patients", "10")
	os.Remove(p.db + ".audit-head")
	oneSentence(t, "show", p.run("show", "D000001"), "head file", "is missing", "copy its .audit-head from where it came from")
	v := p.run("audit", "verify")
	if v.code != 1 || !strings.Contains(v.stderr, "copy its .audit-head") {
		t.Errorf("audit verify does not give the way out: exit %d\n%s", v.code, v.stderr)
	}
}

// #19: init and demo on a path whose database is gone but whose head file
// (and WAL) remain move them aside and say so, instead of crying
// tampering; and make demo runs twice, make clean in between or not.
func TestDeletedDatabaseLeavesNoTrap(t *testing.T) {
	p := newBinPractice(t)
	p.must("demo", "--patients", "10")
	p.must("show", "D000001")
	for _, args := range [][]string{{"demo", "--patients", "10"}, {"init"}} {
		os.Remove(p.db)
		r := p.run(args...)
		if r.code != 0 || !strings.Contains(r.stderr, "moved to") {
			t.Fatalf("%v after the database was deleted: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		p.must("tag", "list")
		p.must("audit", "verify")
	}
	orphans, _ := filepath.Glob(p.db + ".audit-head.orphaned-*")
	if len(orphans) == 0 {
		t.Error("the stale head file was not kept aside")
	}
}

func TestMakeDemoTwice(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	p := newBinPractice(t)
	// A copy: make clean removes $(BIN).
	bin := filepath.Join(t.TempDir(), "carebook")
	data, _ := os.ReadFile(p.bin)
	os.WriteFile(bin, data, 0o700)
	demo := filepath.Join(p.dir, "demo.duckdb")
	make := func(target string) {
		t.Helper()
		// GO=true: the binary is built already.
		cmd := exec.Command("make", "-C", "../..", target, "GO=true", "BIN="+bin, "DEMO_DB="+demo)
		cmd.Env = p.env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v\n%s", target, err, out)
		}
	}
	make("demo")
	make("demo")
	make("clean")
	os.WriteFile(bin, data, 0o700)
	make("demo")
}

// #21: a damaged database file says so in one sentence with the fix,
// whatever DuckDB found and wherever: at open, at a query, or at a commit
// it could not roll back ("FATAL Error: Failed to rollback transaction",
// over three lines). doctor says the same.
func TestDamagedDatabaseIsOneSentence(t *testing.T) {
	p := newBinPractice(t)
	p.must("demo", "--patients", "300")
	good, _ := os.ReadFile(p.db)
	head, _ := os.ReadFile(p.db + ".audit-head")
	failures := 0
	for _, at := range []int64{4096, 500000, 1200000, 2400000, 3600000} {
		if at >= int64(len(good)) {
			continue
		}
		os.WriteFile(p.db, good, 0o600)
		os.WriteFile(p.db+".audit-head", head, 0o600)
		os.Remove(p.db + ".wal")
		f, _ := os.OpenFile(p.db, os.O_RDWR, 0)
		f.WriteAt(bytes.Repeat([]byte{0xde, 0xad}, 100000), at)
		f.Close()
		for _, args := range [][]string{{"tag", "list"}, {"show", "D000002"}, {"tag", "add", "vip", "D000001", "--yes"},
			{"log", "D000002", "--channel", "call", "--summary", "hi", "--yes"}, {"forget", "D000005", "--yes"}, {"audit", "verify"}} {
			r := p.run(args...)
			if r.code == 0 {
				continue
			}
			failures++
			oneSentence(t, fmt.Sprintf("%s on a file damaged at %d", strings.Join(args, " "), at), r,
				"the database file "+p.db+" is damaged", "restore the last backup")
		}
		if at == 4096 {
			d := p.run("doctor")
			if !strings.Contains(d.stdout, "the database file "+p.db+" is damaged") {
				t.Errorf("doctor does not say the file is damaged:\n%s", d.stdout)
			}
		}
	}
	if failures < 10 {
		t.Errorf("only %d commands noticed the damage: the test damages too little to prove anything", failures)
	}
}

// #21: restore of a file that is not a backup must not echo its bytes, and
// restore into a missing folder says the folder is missing.
func TestRestoreMessages(t *testing.T) {
	p := newBinPractice(t)
	p.must("demo", "--patients", "10")
	csv := filepath.Join(t.TempDir(), "notes.csv")
	os.WriteFile(csv, []byte("name,dob\nJane Roe,1980-01-01\n"), 0o600)
	r := p.run("restore", csv, "--force")
	oneSentence(t, "restore of a CSV", r, "is not a Carebook backup")
	if strings.Contains(r.stderr, "Jane") || strings.Contains(r.stderr, "name,dob") {
		t.Errorf("restore echoed the file: %q", r.stderr)
	}
	backup := filepath.Join(t.TempDir(), "b.age")
	p.must("backup", backup)
	missing := filepath.Join(t.TempDir(), "gone", "p.duckdb")
	oneSentence(t, "restore into a missing folder", p.run("--db", missing, "restore", backup), "does not exist", "create it first")
}

// #20: --db naming a file that is not a database fails in one sentence
// and leaves it, and its folder, as they were.
func TestNotADatabaseIsLeftAlone(t *testing.T) {
	p := newBinPractice(t)
	dir := t.TempDir()
	csv := filepath.Join(dir, "notes.csv")
	os.WriteFile(csv, []byte("name,dob\nJane Roe,1980-01-01\n"), 0o600)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(csv, old, old)
	for _, args := range [][]string{{"tag", "list"}, {"show", "Jane Roe"}, {"tag", "add", "x", "P1", "--yes"}} {
		r := p.run(append([]string{"--db", csv}, args...)...)
		oneSentence(t, strings.Join(args, " "), r, "is not a Carebook database")
		if strings.Contains(r.stderr, "Jane") {
			t.Errorf("the error echoes the file: %q", r.stderr)
		}
	}
	fi, _ := os.Stat(csv)
	data, _ := os.ReadFile(csv)
	if string(data) != "name,dob\nJane Roe,1980-01-01\n" || !fi.ModTime().Equal(old) {
		t.Error("the file was touched")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files appeared beside it: %v", entries)
	}
}

// #21: permission errors say so, with the fix, and never "is the disk
// full?". Root ignores modes, so the binary runs as nobody.
func TestPermissionMessages(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run the binary as another account")
	}
	// A folder nobody can reach, with a copy of the binary it may run.
	base, err := os.MkdirTemp("", "carebook-perm-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	data, _ := os.ReadFile(carebookBinary(t))
	bin := filepath.Join(base, "carebook")
	os.WriteFile(bin, data, 0o755)
	dir := filepath.Join(base, "data")
	os.Mkdir(dir, 0o700)
	os.Chown(dir, 65534, 65534)
	db := filepath.Join(dir, "p.duckdb")
	// Nothing inherited: the binary runs as nobody, with only this env.
	env := []string{"HOME=" + base, "XDG_CONFIG_HOME=" + base, "CAREBOOK_SYSTEM_CONFIG=" + filepath.Join(base, "none.toml"),
		"CAREBOOK_NOW=2026-06-15T10:00:00Z", "CAREBOOK_OLLAMA_HOST=http://127.0.0.1:9"}
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	run := func(args ...string) binResult {
		t.Helper()
		return runBinary(t, bin, "", env, nobody, append([]string{"--db", db}, args...)...)
	}
	if r := run("demo", "--patients", "10"); r.code != 0 {
		t.Fatalf("demo as nobody: %s", r.stderr)
	}

	// A folder it may not write: the head cannot be announced.
	os.Chmod(dir, 0o500)
	oneSentence(t, "tag add in a read-only folder", run("tag", "add", "vip", "D000001", "--yes"),
		"cannot write the audit log's head file", "may not write in the folder "+dir, "nothing was written")
	os.Chmod(dir, 0o700)

	// A head file it may not read: a mode to fix, not damage.
	os.Chmod(db+".audit-head", 0)
	for _, args := range [][]string{{"show", "D000001"}, {"audit", "verify"}} {
		r := run(args...)
		oneSentence(t, strings.Join(args, " ")+" with an unreadable head", r, "cannot read the audit log's head file", "permission denied", "chmod 600")
		if strings.Contains(r.stderr, "damaged") {
			t.Errorf("a permission problem reads as damage: %q", r.stderr)
		}
	}
	os.Chmod(db+".audit-head", 0o600)

	// A database file it may not read.
	os.Chmod(db, 0)
	oneSentence(t, "tag list on an unreadable database", run("tag", "list"), "permission denied", "chmod 600")
	if r := run("doctor"); !strings.Contains(r.stdout, "permission denied") || strings.Contains(r.stdout, "doctor says more") {
		t.Errorf("doctor on an unreadable database:\n%s", r.stdout)
	}
}

// #5: a backup to a missing folder is a clear sentence, not an "ok" row,
// and doctor still warns.
func TestBackupToMissingFolder(t *testing.T) {
	p := newBinPractice(t)
	p.must("demo", "--patients", "10")
	oneSentence(t, "backup to a missing folder", p.run("backup", filepath.Join(t.TempDir(), "gone", "b.age")), "does not exist", "create it first")
	for _, r := range p.auditRows() {
		if r.Channel == "backup" && r.Outcome == "ok" {
			t.Errorf("an ok backup row for a backup that was not made: %+v", r)
		}
	}
	if d := p.run("doctor"); !strings.Contains(d.stdout, "no backup has been made") {
		t.Errorf("doctor does not warn:\n%s", d.stdout)
	}
}

// #5: kill -9 in the middle of a backup leaves no "ok" row; its temporary
// file is removed by the next backup to the same place once it is stale
// (older than 10 s: a younger one may be another backup's, in progress).
func TestBackupKilledMidway(t *testing.T) {
	p := newBinPractice(t)
	p.must("demo", "--patients", "20000")
	out := t.TempDir()
	target := filepath.Join(out, "b.age")
	killed := 0
	for _, after := range []time.Duration{150 * time.Millisecond, 400 * time.Millisecond, 700 * time.Millisecond, 1000 * time.Millisecond} {
		cmd := exec.Command(p.bin, "backup", target)
		cmd.Env = p.env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(after)
		cmd.Process.Signal(syscall.SIGKILL)
		if err := cmd.Wait(); err != nil {
			killed++
		}
		os.Remove(target) // one that finished before the kill
	}
	if killed == 0 {
		t.Fatal("every backup finished before it was killed: the test proves nothing")
	}
	for _, r := range p.auditRows() {
		if r.Channel == "backup" && r.Outcome == "ok" {
			t.Errorf("a killed backup left an ok row: %+v", r)
		}
	}
	if d := p.run("doctor"); !strings.Contains(d.stdout, "no backup has been made") {
		t.Errorf("doctor does not warn after killed backups:\n%s", d.stdout)
	}
	temps, _ := filepath.Glob(filepath.Join(out, ".b.age.*.tmp"))
	if len(temps) == 0 {
		t.Fatal("no killed backup left a temporary file: the test proves nothing")
	}
	// A young temporary may be a backup in progress: kept. Stale ones go.
	young := filepath.Join(out, ".b.age.young.tmp")
	os.WriteFile(young, []byte("x"), 0o600)
	old := time.Now().Add(-time.Minute)
	for _, tmp := range temps {
		os.Chtimes(tmp, old, old)
	}
	p.must("backup", target)
	left, _ := filepath.Glob(filepath.Join(out, ".b.age.*.tmp"))
	if len(left) != 1 || left[0] != young {
		t.Errorf("after the next backup the temporaries are %v, want only %s", left, young)
	}
	ok := 0
	for _, r := range p.auditRows() {
		if r.Channel == "backup" && r.Outcome == "ok" {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d ok backup rows, want 1", ok)
	}
}

// #7: CAREBOOK_NOW fixes "today", never an audit row's time: rows carry
// the real clock and record the fixed one, and audit log --since today
// finds them.
func TestFixedNowDoesNotBackdateTheAuditLog(t *testing.T) {
	p := newBinPractice(t)
	p.must("demo", "--patients", "10")
	fixed := []string{"CAREBOOK_NOW=2019-03-01T10:00:00Z"}
	start := time.Now().Add(-time.Minute)
	if r := p.runEnv(fixed, "show", "D000001"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	var rows []auditRow
	r := p.runEnv(fixed, "audit", "log", "--since", "today", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("audit log --since today: %v\n%s", err, r.stderr)
	}
	var show *auditRow
	for i := range rows {
		if strings.Contains(rows[i].Action, `"show`) || rows[i].Channel == "cli" && len(rows[i].PatientIDs) == 1 {
			show = &rows[i]
		}
	}
	if show == nil {
		t.Fatalf("audit log --since today does not list the read:\n%s", r.stdout)
	}
	if show.At.Before(start) || show.At.After(time.Now().Add(time.Minute)) {
		t.Errorf("the row's time %s is not the real clock", show.At)
	}
	if show.FixedNow != "2019-03-01T10:00:00Z" {
		t.Errorf("the row does not record CAREBOOK_NOW: fixed_now %q", show.FixedNow)
	}
}

// #12: a forget whose rewrite could not finish is reported by doctor and
// audit verify until the next open finishes it. The rewrite's scratch file
// is made a folder with something in it: the rewrite cannot remove it, as
// a full disk would stop it, even for root.
func TestInterruptedForgetIsReported(t *testing.T) {
	p := newBinPractice(t)
	p.must("demo", "--patients", "10")
	block := p.db + ".compact"
	os.MkdirAll(filepath.Join(block, "x"), 0o700)
	r := p.run("forget", "D000003", "--yes")
	if r.code != 1 || !strings.Contains(r.stderr, "the patient is deleted (deletion receipt ") {
		t.Fatalf("forget with the rewrite blocked: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	d := p.run("doctor")
	if d.code != 1 || !strings.Contains(d.stdout, "deletion") || !strings.Contains(d.stdout, "rewrite of the database file is not finished") {
		t.Errorf("doctor does not report the unfinished rewrite:\n%s", d.stdout)
	}
	v := p.must("audit", "verify")
	if !strings.Contains(v, "rewrite of the database file is not finished") {
		t.Errorf("audit verify does not report it:\n%s", v)
	}
	os.RemoveAll(block)
	p.must("tag", "list") // any command finishes it
	if d := p.run("doctor"); strings.Contains(d.stdout, "not finished") {
		t.Errorf("doctor still reports it after the rewrite:\n%s", d.stdout)
	}
	if v := p.must("audit", "verify"); strings.Contains(v, "not finished") {
		t.Errorf("audit verify still reports it:\n%s", v)
	}
}

// #6: a database too damaged to read, the usual reason for a restore, is
// kept whole beside the restored one, and the restore says so.
func TestRestoreOverADamagedDatabase(t *testing.T) {
	p := newBinPractice(t)
	p.must("demo", "--patients", "10")
	backup := filepath.Join(t.TempDir(), "b.age")
	p.must("backup", backup)
	f, _ := os.OpenFile(p.db, os.O_RDWR, 0)
	f.WriteAt(bytes.Repeat([]byte{0xde, 0xad}, 4096), 4096)
	f.Close()
	damaged, _ := os.ReadFile(p.db)
	oneSentence(t, "tag list on the damaged file", p.run("tag", "list"), "is damaged", "restore the last backup")

	out := p.must("restore", backup, "--force")
	kept, _ := filepath.Glob(p.db + ".replaced-*")
	var whole string
	for _, k := range kept {
		if !strings.HasSuffix(k, ".audit-head") && !strings.HasSuffix(k, ".wal") {
			whole = k
		}
	}
	if whole == "" || !strings.Contains(out, "could not be read; it is kept whole in "+whole) {
		t.Fatalf("the damaged database was not kept whole (%v); restore said %q", kept, out)
	}
	if data, _ := os.ReadFile(whole); !bytes.Equal(data, damaged) {
		t.Error("the kept file is not the damaged database")
	}
	p.must("tag", "list")
	if v := p.must("audit", "verify"); !strings.Contains(v, "could not be read and is kept whole in "+filepath.Base(whole)) {
		t.Errorf("audit verify does not show the restore:\n%s", v)
	}
}
