// Package config reads Carebook's optional configuration files and says
// where each setting came from. Settings come from flags, then the
// environment, then the files, then defaults; doctor shows the source of
// each.
//
// There are three files, strongest first:
//   - carebook.toml beside the database: the practice's own settings travel
//     with its data;
//   - $XDG_CONFIG_HOME/carebook/config.toml (~/.config when unset): one
//     person's settings;
//   - /etc/carebook/config.toml ($CAREBOOK_SYSTEM_CONFIG overrides the path):
//     what the IT person set for every account on the machine.
//
// Each setting is taken from the strongest file that sets it. Unknown keys
// are an error, so that a typo such as "allowed_host" does not silently do
// nothing, and so is a key set in a file where it cannot work (db beside a
// database: the database is chosen before that file is found).
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"
)

// File is what the configuration files may set.
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
	// AllowCloudEnabledOllama lets requests go to an Ollama whose cloud
	// features are on. Off by default: on such a server any model name can
	// be pointed at ollama.com between two requests (ollama cp).
	AllowCloudEnabledOllama bool `toml:"allow_cloud_enabled_ollama"`
	// DB is the practice database, below --db and $CAREBOOK_DB: so that
	// staff who type `carebook` in any folder reach the practice's file.
	// Only the user's and the system's files may set it.
	DB string `toml:"db"`
	// IdleLogoffText is how long a REPL may sit idle before it locks
	// ("10m", the default; "0" never). The server's setting is what counts
	// in team mode.
	IdleLogoffText string `toml:"idle_logoff"`
	// Socket is where carebook serve listens (default: <db>.sock).
	Socket string `toml:"socket"`
	// Server is the socket of the carebook serve that commands work
	// through, below --server and $CAREBOOK_SERVER.
	Server string `toml:"server"`
	// KeepAlive is how long Ollama keeps the model loaded after a request
	// ("12h", "45m"; negative: until Ollama stops), below
	// $CAREBOOK_KEEP_ALIVE.
	KeepAlive string `toml:"keep_alive"`
}

// DefaultIdleLogoff is how long a REPL may sit idle before it locks.
const DefaultIdleLogoff = 10 * time.Minute

// IdleLogoff is idle_logoff, or the default when unset (Parse refuses one
// that is not a duration).
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
		return 0, fmt.Errorf("not a duration")
	}
	return d, nil
}

func duration(v any) string {
	if s, _ := v.(string); s != "" {
		if _, err := parseIdle(s); err == nil {
			return ""
		}
	}
	return "must be a duration in quotes, like \"10m\" (or \"0\" for never)"
}

// Scope is the role of a configuration file. Each setting lists the scopes
// it may be set in.
type Scope uint8

const (
	// Practice is carebook.toml beside the database.
	Practice Scope = 1 << iota
	// User is $XDG_CONFIG_HOME/carebook/config.toml.
	User
	// System is /etc/carebook/config.toml.
	System

	anyScope = Practice | User | System
)

func (s Scope) String() string {
	switch s {
	case Practice:
		return FileName + " beside a database"
	case User:
		return "the user's configuration"
	case System:
		return "the system configuration"
	}
	return "a configuration file"
}

// setting is one key a file may set. Adding a key is one row here and one
// field in File.
type setting struct {
	key    string
	scopes Scope
	// field points into a File: *string, *bool or *[]string.
	field func(*File) any
	// check vets a value beyond its type, or nil.
	check func(v any) string
	// elsewhere says why a file outside scopes cannot set it, and where to.
	elsewhere string
}

var settings = []setting{
	{key: "ollama_host", scopes: anyScope, field: func(f *File) any { return &f.OllamaHost }},
	{key: "model", scopes: anyScope, field: func(f *File) any { return &f.Model }},
	{key: "allowed_hosts", scopes: anyScope, field: func(f *File) any { return &f.AllowedHosts }},
	{key: "history", scopes: anyScope, field: func(f *File) any { return &f.History }},
	{key: "allow_cloud_enabled_ollama", scopes: anyScope, field: func(f *File) any { return &f.AllowCloudEnabledOllama }},
	{key: "db", scopes: User | System, field: func(f *File) any { return &f.DB }, check: absolutePath,
		elsewhere: "the database is chosen before that file is found; set db in ~/.config/carebook/config.toml or " + SystemPath},
	{key: "keep_alive", scopes: anyScope, field: func(f *File) any { return &f.KeepAlive }},
	{key: "idle_logoff", scopes: anyScope, field: func(f *File) any { return &f.IdleLogoffText }, check: duration},
	{key: "socket", scopes: anyScope, field: func(f *File) any { return &f.Socket }, check: absolutePath},
	{key: "server", scopes: User | System, field: func(f *File) any { return &f.Server }, check: absolutePath,
		elsewhere: "staff reach the server without reaching the database's folder; set server in ~/.config/carebook/config.toml or " + SystemPath},
}

func absolutePath(v any) string {
	if p, _ := v.(string); !filepath.IsAbs(p) {
		return "must be an absolute path, like \"/srv/carebook/practice.duckdb\""
	}
	return ""
}

// Keys lists every setting's name, for messages.
func Keys() []string {
	out := make([]string, len(settings))
	for i, s := range settings {
		out[i] = s.key
	}
	return out
}

func lookup(key string) (setting, bool) {
	i := slices.IndexFunc(settings, func(s setting) bool { return s.key == key })
	if i < 0 {
		return setting{}, false
	}
	return settings[i], true
}

// FileName is the per-practice configuration file, beside the database.
const FileName = "carebook.toml"

// SystemPath is the system-wide file, unless $CAREBOOK_SYSTEM_CONFIG names
// another (tests, unusual installs).
const SystemPath = "/etc/carebook/config.toml"

// Location is one configuration file.
type Location struct {
	Scope Scope
	Path  string
}

// Locations lists the files, strongest first: beside the database (when
// dbPath is not ""), the user's (when a home is known) and the system's.
func Locations(dbPath string, getenv func(string) string) []Location {
	var out []Location
	if dbPath != "" {
		out = append(out, Location{Practice, filepath.Join(filepath.Dir(dbPath), FileName)})
	}
	if p := UserPath(getenv); p != "" {
		out = append(out, Location{User, p})
	}
	system := getenv("CAREBOOK_SYSTEM_CONFIG")
	if system == "" {
		system = SystemPath
	}
	return append(out, Location{System, system})
}

// UserPath is $XDG_CONFIG_HOME/carebook/config.toml, else under
// $HOME/.config, else "".
func UserPath(getenv func(string) string) string {
	base := getenv("XDG_CONFIG_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			return ""
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "carebook", "config.toml")
}

// Config is the settings of every file read, and where each came from.
type Config struct {
	File
	// Files are the files that exist and were read, strongest first.
	Files []Location
	// from maps a key to the file that set it.
	from map[string]string
}

// PathOf is the file that set key, or "" when none did.
func (c Config) PathOf(key string) string { return c.from[key] }

// Source says where key was set, as "model in /etc/carebook/config.toml",
// or "" when no file sets it.
func (c Config) Source(key string) string {
	if p := c.from[key]; p != "" {
		return key + " in " + p
	}
	return ""
}

// Error is a problem in one configuration file, in words an IT person can
// act on: the file, the line when known, the setting, and the fix.
type Error struct {
	Path string
	Line int    // 0 when unknown
	Key  string // "" when unknown
	Msg  string
}

func (e *Error) Error() string {
	where := "configuration file " + e.Path
	if e.Line > 0 {
		where += fmt.Sprintf(", line %d", e.Line)
	}
	return where + ": " + e.Msg
}

// Load reads every configuration file that exists, for the database at
// dbPath ("" before the database is known: the user's and the system's
// files only). No file is not an error: every setting has a default.
func Load(dbPath string, getenv func(string) string) (Config, error) {
	cfg := Config{from: map[string]string{}}
	seen := map[string]bool{}
	for _, loc := range Locations(dbPath, getenv) {
		if seen[loc.Path] {
			continue
		}
		seen[loc.Path] = true
		data, err := os.ReadFile(loc.Path)
		// A file where a folder of the path would be (a binary named
		// carebook in $XDG_CONFIG_HOME, say) means there is no such file.
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			continue
		}
		if err != nil {
			return Config{}, fmt.Errorf("read the configuration file %s: %w", loc.Path, err)
		}
		one, err := Parse(loc, data)
		if err != nil {
			return Config{}, err
		}
		cfg.Files = append(cfg.Files, loc)
		// The strongest file that sets a key wins.
		for key, path := range one.from {
			if _, ok := cfg.from[key]; ok {
				continue
			}
			s, _ := lookup(key)
			copyField(s.field(&cfg.File), s.field(&one.File))
			cfg.from[key] = path
		}
	}
	return cfg, nil
}

// Parse reads one file's content, playing the role loc.Scope.
func Parse(loc Location, data []byte) (Config, error) {
	cfg := Config{from: map[string]string{}}
	fail := func(line int, key, format string, args ...any) (Config, error) {
		return Config{}, &Error{Path: loc.Path, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	var raw map[string]any
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		var pe toml.ParseError
		if !errors.As(err, &pe) {
			return fail(0, "", "it is not valid TOML (%v)", err)
		}
		subject := "this line"
		if pe.LastKey != "" {
			subject = "the setting " + pe.LastKey
		}
		return fail(pe.Position.Line, pe.LastKey, "%s is not valid TOML (%s); write each setting as key = value, with text in quotes, like model = \"qwen3:4b-instruct\"",
			subject, strings.TrimSuffix(pe.Message, "."))
	}
	for _, k := range md.Keys() {
		if len(k) != 1 {
			continue // inside a table, whose name is refused below
		}
		key := k[0]
		line := lineOf(data, key)
		s, ok := lookup(key)
		if !ok {
			return fail(line, key, "unknown setting %s (known: %s)", key, strings.Join(Keys(), ", "))
		}
		if s.scopes&loc.Scope == 0 {
			return fail(line, key, "%s cannot be set in %s: %s", key, loc.Scope, s.elsewhere)
		}
		if want := setField(s.field(&cfg.File), raw[key]); want != "" {
			return fail(line, key, "%s must be %s, not %s", key, want, describe(raw[key]))
		}
		if s.check != nil {
			if msg := s.check(raw[key]); msg != "" {
				return fail(line, key, "%s %s", key, msg)
			}
		}
		cfg.from[key] = loc.Path
	}
	return cfg, nil
}

// setField stores v in the field p points to, or says what v must be.
func setField(p any, v any) (want string) {
	switch p := p.(type) {
	case *string:
		s, ok := v.(string)
		if !ok {
			return "text in quotes"
		}
		*p = s
	case *bool:
		b, ok := v.(bool)
		if !ok {
			return "true or false"
		}
		*p = b
	case *[]string:
		list, ok := v.([]any)
		if !ok {
			return "a list of text in quotes, like [\"192.168.1.20\"]"
		}
		out := make([]string, 0, len(list))
		for _, e := range list {
			s, ok := e.(string)
			if !ok {
				return "a list of text in quotes, like [\"192.168.1.20\"]"
			}
			out = append(out, s)
		}
		*p = out
	default:
		panic(fmt.Sprintf("config: setting of unsupported type %T", p))
	}
	return ""
}

func copyField(dst, src any) {
	switch d := dst.(type) {
	case *string:
		*d = *src.(*string)
	case *bool:
		*d = *src.(*bool)
	case *[]string:
		*d = slices.Clone(*src.(*[]string))
	default:
		panic(fmt.Sprintf("config: setting of unsupported type %T", dst))
	}
}

// describe names a TOML value's kind in plain words.
func describe(v any) string {
	switch v.(type) {
	case string:
		return "text"
	case bool:
		return "true or false"
	case int64, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return "a date or time"
}

// lineOf finds the line that sets a top-level key, for messages; 0 when it
// cannot tell (BurntSushi/toml keeps key positions to itself).
func lineOf(data []byte, key string) int {
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		for _, spelled := range []string{key, `"` + key + `"`, "'" + key + "'", "[" + key + "]", "[[" + key + "]]"} {
			rest, ok := strings.CutPrefix(line, spelled)
			if !ok {
				continue
			}
			rest = strings.TrimSpace(rest)
			if strings.HasPrefix(rest, "=") || strings.HasPrefix(spelled, "[") && (rest == "" || rest[0] == '#') {
				return i + 1
			}
		}
	}
	return 0
}
