package root

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes a configuration file, making its folder.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Staff who open a terminal anywhere and type `carebook` reach the
// practice's database: --db, else $CAREBOOK_DB, else db in the user's
// configuration, else db in the system configuration, else
// ./carebook.duckdb.
func TestDatabaseFromConfiguration(t *testing.T) {
	p := newPractice(t)
	p.noDBFlag = true
	t.Chdir(t.TempDir()) // ./carebook.duckdb, if anything fell through to it
	dir := t.TempDir()
	system, user := filepath.Join(dir, "etc", "config.toml"), filepath.Join(dir, "xdg", "carebook", "config.toml")
	p.env["CAREBOOK_SYSTEM_CONFIG"] = system
	p.env["XDG_CONFIG_HOME"] = filepath.Join(dir, "xdg")

	writeFile(t, system, "db = \""+p.db+"\"\n")
	if o := p.run("", false, "patients"); o.code != 1 || !strings.Contains(o.stderr, "no database at "+p.db+" (from db in "+system+"); create one with `carebook init`") {
		t.Fatalf("missing, from the system file: exit %d, %q", o.code, o.stderr)
	}
	p.mustRun("init")
	if _, err := os.Stat(p.db); err != nil {
		t.Fatalf("init did not create the system file's database: %v", err)
	}

	mine := filepath.Join(dir, "mine.duckdb")
	writeFile(t, user, "db = \""+mine+"\"\n")
	p.mustRun("init")
	if _, err := os.Stat(mine); err != nil {
		t.Fatalf("the user's db does not win over the system's: %v", err)
	}

	env := filepath.Join(dir, "env.duckdb")
	p.env["CAREBOOK_DB"] = env
	p.mustRun("init")
	flag := filepath.Join(dir, "flag.duckdb")
	p.mustRun("--db", flag, "init")
	for _, f := range []string{env, flag} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := os.Stat("carebook.duckdb"); err == nil {
		t.Error("./carebook.duckdb was created")
	}
}

// db beside a database is refused with a sentence; a malformed file names
// the line and the key, and nothing falls back to ./carebook.duckdb.
func TestConfigurationMistakesAreSaidPlainly(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	p.withModel(countDiabetes)
	p.writeConfig("model = \"tiny:latest\"\ndb = \"/srv/carebook/practice.duckdb\"\n")
	o := p.run("", false, "ask", "how many have diabetes")
	want := "configuration file " + filepath.Join(filepath.Dir(p.db), "carebook.toml") + ", line 2: db cannot be set in carebook.toml beside a database: the database is chosen before that file is found; set db in ~/.config/carebook/config.toml or /etc/carebook/config.toml"
	if o.code != 1 || strings.TrimSpace(o.stderr) != want {
		t.Errorf("db beside the database: exit %d\n got %q\nwant %q", o.code, o.stderr, want)
	}
	rep, _ := p.doctor()
	if status, detail := rep.status("configuration"); status != "fail" || !strings.Contains(detail, "line 2: db cannot be set") {
		t.Errorf("doctor: %s %q", status, detail)
	}

	q := newPractice(t)
	q.noDBFlag = true
	t.Chdir(t.TempDir())
	xdg := t.TempDir()
	q.env["XDG_CONFIG_HOME"] = xdg
	q.env["CAREBOOK_SYSTEM_CONFIG"] = filepath.Join(xdg, "none.toml")
	user := filepath.Join(xdg, "carebook", "config.toml")
	writeFile(t, user, "# the practice\ndb = /srv/carebook/practice.duckdb\n")
	o = q.run("", false, "init")
	want = "configuration file " + user + ", line 2: the setting db is not valid TOML"
	if o.code != 1 || !strings.Contains(o.stderr, want) || !strings.Contains(o.stderr, "with text in quotes") {
		t.Errorf("malformed: exit %d, %q", o.code, o.stderr)
	}
	if _, err := os.Stat("carebook.duckdb"); err == nil {
		t.Error("a malformed configuration created ./carebook.duckdb")
	}
}
