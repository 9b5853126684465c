package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTeamBoundary: a database folder other accounts can write into, and a
// configuration file another account wrote or could write, are refused in
// direct mode, by carebook serve, and by a client, each with the fix.
func TestTeamBoundary(t *testing.T) {
	tm := newTeam(t)
	config := filepath.Join(tm.dir, "carebook.toml")
	serve := func() result {
		// A server that starts would run until killed: it should not.
		return tm.commandWithin(20*time.Second, tm.serveEnv, "", tm.bin, "--db", tm.db, "serve", "--socket", filepath.Join(t.TempDir(), "s.sock"))
	}
	cases := []struct {
		name string
		// setup breaks the boundary, and returns how to mend it.
		setup   func(t *testing.T) func()
		run     func() result
		want    []string
		forRoot bool
	}{
		{name: "direct: a group-writable folder", setup: chmod(tm.dir, 0o770, 0o700), run: func() result { return tm.direct("patients") },
			want: []string{tm.dir, "writable by other accounts (mode 0770)", "chmod 700 " + tm.dir}},
		{name: "serve: a group-writable folder", setup: chmod(tm.dir, 0o770, 0o700), run: serve,
			want: []string{tm.dir, "(mode 0770)", "chmod 700 " + tm.dir}},
		{name: "serve: a folder other accounts can open", setup: chmod(tm.dir, 0o750, 0o700), run: serve,
			want: []string{tm.dir, "can be opened by other accounts (mode 0750)", "chmod 700 " + tm.dir}},
		{name: "direct: a group-writable carebook.toml", setup: writeConfig(config, 0o620), run: func() result { return tm.direct("patients") },
			want: []string{config, "writable by other accounts (mode 0620)", "chmod 600 " + config}},
		{name: "serve: a group-writable carebook.toml", setup: writeConfig(config, 0o620), run: serve,
			want: []string{config, "writable by other accounts (mode 0620)", "chmod 600 " + config}},
		{name: "direct: a carebook.toml another account owns", setup: foreignConfig(config), run: func() result { return tm.direct("patients") },
			want: []string{config, "belongs to another account (uid 65534)"}, forRoot: true},
		{name: "serve: a carebook.toml another account owns", setup: foreignConfig(config), run: serve,
			want: []string{config, "belongs to another account (uid 65534)"}, forRoot: true},
		{name: "client: a group-writable config.toml naming the server", run: func() result {
			home := t.TempDir()
			user := filepath.Join(home, "carebook", "config.toml")
			os.MkdirAll(filepath.Dir(user), 0o700)
			os.WriteFile(user, []byte("server = \""+tm.socket+"\"\n"), 0o600)
			os.Chmod(user, 0o660)
			env := append(append([]string{}, tm.env...), "XDG_CONFIG_HOME="+home)
			return tm.command(env, "", tm.bin, "patients")
		}, want: []string{"config.toml", "writable by other accounts (mode 0660)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.forRoot && os.Geteuid() != 0 {
				t.Skip("needs root to give a file to another account")
			}
			if c.setup != nil {
				defer c.setup(t)()
			}
			r := c.run()
			if r.code == 0 {
				t.Fatalf("not refused: %s", r)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("the refusal does not say %q: %s", w, r)
				}
			}
			if _, err := os.Stat(filepath.Join(tm.dir, "p.duckdb.sock")); err == nil {
				t.Error("a socket was created")
			}
		})
	}
	// Mended, both modes work again.
	tm.mustDirect("patients", "--limit", "1")
	tm.serve()
	tm.mustClient("patients", "--limit", "1")
}

func chmod(path string, mode, mended os.FileMode) func(*testing.T) func() {
	return func(t *testing.T) func() {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		return func() { os.Chmod(path, mended) }
	}
}

func writeConfig(path string, mode os.FileMode) func(*testing.T) func() {
	return func(t *testing.T) func() {
		if err := os.WriteFile(path, []byte("history = false\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, mode)
		return func() { os.Remove(path) }
	}
}

func foreignConfig(path string) func(*testing.T) func() {
	return func(t *testing.T) func() {
		if err := os.WriteFile(path, []byte("history = false\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		return func() { os.Remove(path) }
	}
}

// doctorCheck is one line of doctor --json.
type doctorCheck struct {
	Check, Status, Detail, Fix string
}

// TestDoctorFailsOnTheBoundary: doctor exits non-zero with a failing check
// that names the fix, once, when the database's folder is group-writable
// (on the file itself, and through carebook serve) and when a
// configuration file is writable by others or belongs to another account.
func TestDoctorFailsOnTheBoundary(t *testing.T) {
	tm := newTeam(t)
	config := filepath.Join(tm.dir, "carebook.toml")
	// doctor is the failing checks of a doctor that must fail, or not.
	doctor := func(r result, fail bool) (failed []doctorCheck) {
		t.Helper()
		var rep struct {
			OK     bool          `json:"ok"`
			Checks []doctorCheck `json:"checks"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("doctor --json: %v\n%s", err, r)
		}
		if code := map[bool]int{true: 1, false: 0}[fail]; r.code != code || rep.OK == fail {
			t.Errorf("doctor exited %d with ok=%v, want %d", r.code, rep.OK, code)
		}
		for _, c := range rep.Checks {
			if c.Status == "fail" {
				failed = append(failed, c)
			}
		}
		return failed
	}
	cases := []struct {
		name    string
		setup   func(t *testing.T) func()
		server  bool
		check   string
		want    []string
		forRoot bool
	}{
		{name: "a group-writable folder", setup: chmod(tm.dir, 0o770, 0o700), check: "database file",
			want: []string{tm.dir + " is writable by other accounts (mode 0770)", "chmod 700 " + tm.dir}},
		{name: "a group-writable folder, through carebook serve", setup: chmod(tm.dir, 0o770, 0o700), server: true, check: "database file",
			want: []string{tm.dir + " is writable by other accounts (mode 0770)", "chmod 700 " + tm.dir}},
		{name: "a carebook.toml writable by others", setup: writeConfig(config, 0o606), check: "configuration",
			want: []string{config + " is writable by other accounts (mode 0606)", "chmod 600 " + config}},
		{name: "a group-writable carebook.toml", setup: writeConfig(config, 0o620), check: "configuration",
			want: []string{config + " is writable by other accounts (mode 0620)", "chmod 600 " + config}},
		{name: "a carebook.toml another account owns", setup: foreignConfig(config), check: "configuration",
			want: []string{config + " belongs to another account (uid 65534)", "chown 0 " + config}, forRoot: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.forRoot && os.Geteuid() != 0 {
				t.Skip("needs root to give a file to another account")
			}
			var r result
			if c.server {
				// The folder loosened while the server holds the file.
				tm.serve()
				defer tm.stop(syscall.SIGTERM)
				defer c.setup(t)()
				r = tm.client("doctor", "--json")
			} else {
				defer c.setup(t)()
				r = tm.direct("doctor", "--json")
			}
			failed := doctor(r, true)
			if len(failed) != 1 || failed[0].Check != c.check {
				t.Fatalf("failing checks %+v, want only %q", failed, c.check)
			}
			for _, w := range c.want {
				if !strings.Contains(failed[0].Detail+" fix: "+failed[0].Fix, w) {
					t.Errorf("the %s check does not say %q: %+v", c.check, w, failed[0])
				}
			}
		})
	}
	// Mended, doctor has nothing to fail.
	if failed := doctor(tm.direct("doctor", "--json"), false); len(failed) != 0 {
		t.Errorf("doctor on a mended practice fails %+v", failed)
	}
}
