package main

import (
	"os"
	"path/filepath"
	"strings"
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
