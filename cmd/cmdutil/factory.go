// Package cmdutil holds what every command shares: the factory that builds
// a command's dependencies, IO streams that know about the terminal, exit
// codes, and output helpers. It holds no SQL and no prompt text.
package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/user"
	"time"

	"github.com/carebook/carebook/agent"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// DefaultDBPath is used when neither --db nor $CAREBOOK_DB is set.
const DefaultDBPath = "carebook.duckdb"

// Factory builds what commands need. Commands copy what they use into their
// options struct, so that tests can replace any of it.
type Factory struct {
	IOStreams *IOStreams
	Version   string
	Getenv    func(string) string

	// DBFlag is the value of --db, bound by the root command.
	DBFlag string
	// OllamaHostFlag and ModelFlag are --ollama-host and --model.
	OllamaHostFlag string
	ModelFlag      string

	// HTTPClient, when set, replaces the Ollama HTTP client; tests use it.
	HTTPClient *http.Client
}

// New returns a factory for the real process.
func New(version string) *Factory {
	return &Factory{IOStreams: System(), Version: version, Getenv: os.Getenv}
}

// DatabasePath is --db, else $CAREBOOK_DB, else ./carebook.duckdb.
func (f *Factory) DatabasePath() string {
	if f.DBFlag != "" {
		return f.DBFlag
	}
	if p := f.Getenv("CAREBOOK_DB"); p != "" {
		return p
	}
	return DefaultDBPath
}

// Clock returns "now": $CAREBOOK_NOW (RFC 3339) when set, so that tests,
// benchmarks and evals are reproducible, else the system clock. Times are
// in the practice's local zone.
func (f *Factory) Clock() (func() time.Time, error) {
	return ClockFromEnv(f.Getenv)
}

// ClockFromEnv is Clock for callers without a factory.
func ClockFromEnv(getenv func(string) string) (func() time.Time, error) {
	fixed := getenv("CAREBOOK_NOW")
	if fixed == "" {
		return time.Now, nil
	}
	t, err := time.Parse(time.RFC3339, fixed)
	if err != nil {
		return nil, fmt.Errorf("CAREBOOK_NOW=%q is not an RFC 3339 time (like 2026-06-15T10:00:00Z)", fixed)
	}
	t = t.In(time.Local)
	return func() time.Time { return t }, nil
}

// OllamaHost is the Ollama base URL and where it came from: --ollama-host,
// else $CAREBOOK_OLLAMA_HOST, else $OLLAMA_HOST, else the local default.
func (f *Factory) OllamaHost() (host, source string) {
	switch {
	case f.OllamaHostFlag != "":
		return f.OllamaHostFlag, "--ollama-host"
	case f.Getenv("CAREBOOK_OLLAMA_HOST") != "":
		return f.Getenv("CAREBOOK_OLLAMA_HOST"), "$CAREBOOK_OLLAMA_HOST"
	case f.Getenv("OLLAMA_HOST") != "":
		return f.Getenv("OLLAMA_HOST"), "$OLLAMA_HOST"
	}
	return agent.DefaultBaseURL, "default"
}

// Model is the model to ask: --model, else $CAREBOOK_MODEL, else the default.
func (f *Factory) Model() string {
	switch {
	case f.ModelFlag != "":
		return f.ModelFlag
	case f.Getenv("CAREBOOK_MODEL") != "":
		return f.Getenv("CAREBOOK_MODEL")
	}
	return agent.DefaultModel
}

// NewAgent builds the agent for --ollama-host and --model. It is the one
// place commands get a model client from.
func (f *Factory) NewAgent() (*agent.Agent, error) {
	raw, source := f.OllamaHost()
	base, err := agent.ParseBaseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return agent.New(agent.NewClient(base, f.HTTPClient), f.Model(), agent.Options{}), nil
}

// Actor is the OS user, recorded in the audit log and on every change.
func Actor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if name := os.Getenv("USER"); name != "" {
		return name
	}
	return "unknown"
}

// Host is this machine's name, for the audit log.
func Host() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

// OpenStore opens the existing practice database for one unit of work.
// Close it as soon as the work is done, so that other carebook processes can
// get in. A missing file is an error rather than a new empty practice, so that
// a typo in --db cannot hide the real data.
func (f *Factory) OpenStore(ctx context.Context) (*store.Store, error) {
	path := f.DatabasePath()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no database at %s; create one with `carebook init` (or choose another with --db or $CAREBOOK_DB)", path)
	}
	return f.openStore(ctx, path)
}

// CreateStore opens the practice database, creating it if needed.
func (f *Factory) CreateStore(ctx context.Context) (*store.Store, error) {
	return f.openStore(ctx, f.DatabasePath())
}

func (f *Factory) openStore(ctx context.Context, path string) (*store.Store, error) {
	clock, err := f.Clock()
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, path, store.Options{Now: clock, Actor: Actor(), Host: Host()})
}

// Channels name where a request came from, in the audit log.
const (
	ChannelCLI    = "cli"
	ChannelAsk    = "ask"
	ChannelRun    = "run"
	ChannelREPL   = "repl"
	ChannelExport = "export"
)

// Env is what resolving an action needs besides the database: "now" for
// relative dates and the OS user as the staff member who logs interactions.
func Env(now time.Time) tools.Env {
	return tools.Env{Now: now, Staff: Actor()}
}
