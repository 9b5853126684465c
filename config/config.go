// Package config reads Carebook's optional configuration file and says
// where each setting came from. Settings come from flags, then the
// environment, then the file, then defaults; doctor shows the source of
// each.
//
// The file is TOML: carebook.toml beside the database (the practice's own
// settings travel with its data), else $XDG_CONFIG_HOME/carebook/config.toml
// (~/.config when unset). Unknown keys are an error, so that a typo such as
// "allowed_host" does not silently do nothing.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// File is what the configuration file may set.
type File struct {
	// OllamaHost is the Ollama base URL, below --ollama-host and the
	// environment.
	OllamaHost string `toml:"ollama_host"`
	// Model is the Ollama model, below --model and $CAREBOOK_MODEL.
	Model string `toml:"model"`
	// AllowedHosts are private-network Ollama hosts (a GPU box on the
	// practice's LAN) the guard lets through. Public addresses are refused
	// whatever this says.
	AllowedHosts []string `toml:"allowed_hosts"`
	// History keeps REPL history in a file beside the database (0600),
	// which forget scrubs. Off by default: requests name patients.
	History bool `toml:"history"`
	// IdleLogoffText is how long a REPL may sit idle before it locks
	// ("10m", the default; "0" never).
	IdleLogoffText string `toml:"idle_logoff"`
	// Socket is where carebook serve listens (default: <db>.sock).
	Socket string `toml:"socket"`
	// Server is the socket of the carebook serve that commands work
	// through, below --server and $CAREBOOK_SERVER.
	Server string `toml:"server"`
}

// DefaultIdleLogoff is how long a REPL may sit idle before it locks.
const DefaultIdleLogoff = 10 * time.Minute

// IdleLogoff is idle_logoff, or the default when unset or unreadable (Parse
// refuses an unreadable one).
func (f File) IdleLogoff() time.Duration {
	if f.IdleLogoffText == "" {
		return DefaultIdleLogoff
	}
	d, err := parseIdle(f.IdleLogoffText)
	if err != nil {
		return DefaultIdleLogoff
	}
	return d
}

func parseIdle(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("idle_logoff = %q is not a duration (like \"10m\", or \"0\" for never)", s)
	}
	return d, nil
}

// Config is the loaded file and where it came from.
type Config struct {
	File
	// Path is the file read, or "" when there was none.
	Path string
}

// FileName is the per-practice configuration file, beside the database.
const FileName = "carebook.toml"

// Candidates lists where the file is looked for, first found wins.
func Candidates(dbPath string, getenv func(string) string) []string {
	out := []string{filepath.Join(filepath.Dir(dbPath), FileName)}
	base := getenv("XDG_CONFIG_HOME")
	if base == "" {
		if home := getenv("HOME"); home != "" {
			base = filepath.Join(home, ".config")
		}
	}
	if base != "" {
		out = append(out, filepath.Join(base, "carebook", "config.toml"))
	}
	return out
}

// Load reads the first configuration file that exists. No file is not an
// error: every setting has a default.
func Load(dbPath string, getenv func(string) string) (Config, error) {
	for _, path := range Candidates(dbPath, getenv) {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return Config{}, fmt.Errorf("read configuration %s: %w", path, err)
		}
		cfg, err := Parse(data)
		if err != nil {
			return Config{}, fmt.Errorf("configuration %s: %w", path, err)
		}
		cfg.Path = path
		return cfg, nil
	}
	return Config{}, nil
}

// Parse reads a configuration file's content.
func Parse(data []byte) (Config, error) {
	var cfg Config
	md, err := toml.Decode(string(data), &cfg.File)
	if err != nil {
		return Config{}, err
	}
	if extra := md.Undecoded(); len(extra) > 0 {
		keys := make([]string, len(extra))
		for i, k := range extra {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return Config{}, fmt.Errorf("unknown setting %s (known: ollama_host, model, allowed_hosts, history, idle_logoff, socket, server)", strings.Join(keys, ", "))
	}
	if cfg.IdleLogoffText != "" {
		if _, err := parseIdle(cfg.IdleLogoffText); err != nil {
			return Config{}, err
		}
	}
	return cfg, nil
}
