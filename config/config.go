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
	// KeepAlive is how long Ollama keeps the model loaded after a request
	// ("12h", "45m"; negative: until Ollama stops), below
	// $CAREBOOK_KEEP_ALIVE.
	KeepAlive string `toml:"keep_alive"`
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
		return Config{}, fmt.Errorf("unknown setting %s (known: ollama_host, model, allowed_hosts, history, keep_alive)", strings.Join(keys, ", "))
	}
	return cfg, nil
}
