package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadPrefersTheFileBesideTheDatabase(t *testing.T) {
	dir := t.TempDir()
	xdg := t.TempDir()
	os.MkdirAll(filepath.Join(xdg, "carebook"), 0o700)
	os.WriteFile(filepath.Join(xdg, "carebook", "config.toml"), []byte(`model = "user-model"`), 0o600)
	env := func(k string) string {
		if k == "XDG_CONFIG_HOME" {
			return xdg
		}
		return ""
	}
	db := filepath.Join(dir, "p.duckdb")
	cfg, err := Load(db, env)
	if err != nil || cfg.Model != "user-model" {
		t.Fatalf("user file: %+v %v", cfg, err)
	}
	os.WriteFile(filepath.Join(dir, FileName), []byte("allowed_hosts = [\"10.0.0.5\"]\nhistory = true\n"), 0o600)
	cfg, err = Load(db, env)
	if err != nil || cfg.Model != "" || !cfg.History || len(cfg.AllowedHosts) != 1 || cfg.Path != filepath.Join(dir, FileName) {
		t.Fatalf("practice file: %+v %v", cfg, err)
	}
}

func TestParseRejectsUnknownKeysAndBadTOML(t *testing.T) {
	for in, want := range map[string]string{
		`allowed_host = ["10.0.0.5"]`: "unknown setting allowed_host",
		`history = "yes"`:             "history",
		`model = `:                    "",
	} {
		_, err := Parse([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", in, err, want)
		}
	}
}
