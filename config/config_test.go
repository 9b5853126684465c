package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// files lays out the three configuration files and returns the getenv that
// finds them.
type files struct {
	t                      *testing.T
	practice, user, system string
	dbPath, xdg            string
	practiceDir, systemDir string
}

func newFiles(t *testing.T) *files {
	f := &files{t: t, practiceDir: t.TempDir(), xdg: t.TempDir(), systemDir: t.TempDir()}
	f.dbPath = filepath.Join(f.practiceDir, "p.duckdb")
	f.practice = filepath.Join(f.practiceDir, FileName)
	f.user = filepath.Join(f.xdg, "carebook", "config.toml")
	f.system = filepath.Join(f.systemDir, "config.toml")
	return f
}

func (f *files) getenv(k string) string {
	switch k {
	case "XDG_CONFIG_HOME":
		return f.xdg
	case "CAREBOOK_SYSTEM_CONFIG":
		return f.system
	}
	return ""
}

func (f *files) write(path, content string) {
	f.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// Each setting comes from the strongest file that sets it: beside the
// database, then the user's, then the system's.
func TestLoadTakesEachSettingFromTheStrongestFile(t *testing.T) {
	f := newFiles(t)
	cfg, err := Load(f.dbPath, f.getenv)
	if err != nil || len(cfg.Files) != 0 || cfg.Model != "" {
		t.Fatalf("no files: %+v %v", cfg, err)
	}
	f.write(f.system, "model = \"system-model\"\nhistory = true\ndb = \"/srv/carebook/practice.duckdb\"\n")
	f.write(f.user, "model = \"user-model\"\n")
	f.write(f.practice, "allowed_hosts = [\"10.0.0.5\"]\nhistory = false\n")
	cfg, err = Load(f.dbPath, f.getenv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Model != "user-model" || cfg.Source("model") != "model in "+f.user {
		t.Errorf("model %q from %q", cfg.Model, cfg.Source("model"))
	}
	if cfg.History || cfg.PathOf("history") != f.practice {
		t.Errorf("history = false beside the database must win over the system's true: %v from %q", cfg.History, cfg.PathOf("history"))
	}
	if len(cfg.AllowedHosts) != 1 || cfg.DB != "/srv/carebook/practice.duckdb" || cfg.PathOf("db") != f.system {
		t.Errorf("allowed_hosts %v, db %q from %q", cfg.AllowedHosts, cfg.DB, cfg.PathOf("db"))
	}
	if len(cfg.Files) != 3 || cfg.Files[0].Path != f.practice || cfg.Files[2].Scope != System {
		t.Errorf("files %+v", cfg.Files)
	}
	if cfg.PathOf("ollama_host") != "" || cfg.Source("ollama_host") != "" {
		t.Errorf("an unset key has a source")
	}

	// Before the database is known, only the user's and the system's.
	cfg, err = Load("", f.getenv)
	if err != nil || len(cfg.Files) != 2 || len(cfg.AllowedHosts) != 0 {
		t.Errorf("without a database: %+v %v", cfg, err)
	}
}

func TestSystemFileDefaultsToEtc(t *testing.T) {
	locs := Locations("", func(string) string { return "" })
	if len(locs) != 1 || locs[0].Path != SystemPath || locs[0].Scope != System {
		t.Errorf("locations without HOME: %+v", locs)
	}
}

// db only makes sense where it is read before the database is chosen.
func TestDBOnlyInTheUserAndSystemFiles(t *testing.T) {
	f := newFiles(t)
	f.write(f.practice, "model = \"m\"\n\ndb = \"/srv/other.duckdb\"\n")
	_, err := Load(f.dbPath, f.getenv)
	var cerr *Error
	if !errors.As(err, &cerr) || cerr.Key != "db" || cerr.Line != 3 || cerr.Path != f.practice {
		t.Fatalf("got %#v", err)
	}
	want := "configuration file " + f.practice + ", line 3: db cannot be set in carebook.toml beside a database: the database is chosen before that file is found; set db in ~/.config/carebook/config.toml or /etc/carebook/config.toml"
	if err.Error() != want {
		t.Errorf("message\n got %s\nwant %s", err, want)
	}
	f.write(f.practice, "")
	f.write(f.user, "db = \"practice.duckdb\"\n")
	if _, err := Load(f.dbPath, f.getenv); err == nil || !strings.Contains(err.Error(), "line 1: db must be an absolute path") {
		t.Errorf("relative db: %v", err)
	}
}

// A malformed file names the file, the line and the setting in plain words.
func TestParseErrorsNameTheLineAndTheKey(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{"model = \"m\"\nallowed_host = [\"10.0.0.5\"]", "line 2: unknown setting allowed_host (known: ollama_host, model, allowed_hosts, history, allow_cloud_enabled_ollama, db, keep_alive, idle_logoff, socket, server)"},
		{"# comment\n\nhistory = \"yes\"", "line 3: history must be true or false, not text"},
		{"allowed_hosts = \"10.0.0.5\"", "line 1: allowed_hosts must be a list of text in quotes, like [\"192.168.1.20\"], not text"},
		{"allowed_hosts = [10]", "line 1: allowed_hosts must be a list of text in quotes"},
		{"model = llama", "line 1: the setting model is not valid TOML (expected value but found \"llama\" instead); write each setting as key = value, with text in quotes, like model = \"qwen3:4b-instruct\""},
		{"model = ", "line 1: the setting model is not valid TOML (unexpected EOF; expected value)"},
		{"history = true\n[server]\nurl = \"x\"", "line 2: server must be text in quotes, not a table"},
		{"history = true\n[servers]\nurl = \"x\"", "line 2: unknown setting servers"},
	} {
		_, err := Parse(Location{User, "/home/u/.config/carebook/config.toml"}, []byte(c.in))
		if err == nil || !strings.HasPrefix(err.Error(), "configuration file /home/u/.config/carebook/config.toml, ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant …%s…", c.in, err, c.want)
		}
	}
}
