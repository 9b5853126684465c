// Package cmdutil holds what every command shares: the factory that builds
// a command's dependencies, IO streams that know about the terminal, exit
// codes, and output helpers. It holds no SQL and no prompt text.
package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/carebook/carebook/agent"
	"github.com/carebook/carebook/config"
	"github.com/carebook/carebook/guard"
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

	// Resolver and Dial, when set, replace DNS and the network beneath the
	// guard (which still checks every address); tests use them.
	Resolver guard.Resolver
	Dial     func(ctx context.Context, network, addr string) (net.Conn, error)

	// loaded is the configuration read for one database path: one command
	// asks for the host, the model and the guard, which all read it.
	loaded *loadedConfig
}

type loadedConfig struct {
	dbPath string
	cfg    config.Config
	err    error
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

// Now is the current time by Clock.
func (f *Factory) Now() (time.Time, error) {
	clock, err := f.Clock()
	if err != nil {
		return time.Time{}, err
	}
	return clock(), nil
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

// Config reads the configuration file (carebook.toml beside the database,
// else $XDG_CONFIG_HOME/carebook/config.toml). No file is no error.
func (f *Factory) Config() (config.Config, error) {
	abs, err := filepath.Abs(f.DatabasePath())
	if err != nil {
		return config.Config{}, err
	}
	if f.loaded == nil || f.loaded.dbPath != abs {
		cfg, err := config.Load(abs, f.Getenv)
		f.loaded = &loadedConfig{dbPath: abs, cfg: cfg, err: err}
	}
	return f.loaded.cfg, f.loaded.err
}

// OllamaHost is the Ollama base URL and where it came from: --ollama-host,
// else $CAREBOOK_OLLAMA_HOST, else $OLLAMA_HOST, else the configuration
// file, else the local default. A configuration file that cannot be read is
// NewAgent's and doctor's to report.
func (f *Factory) OllamaHost() (host, source string) {
	switch {
	case f.OllamaHostFlag != "":
		return f.OllamaHostFlag, "--ollama-host"
	case f.Getenv("CAREBOOK_OLLAMA_HOST") != "":
		return f.Getenv("CAREBOOK_OLLAMA_HOST"), "$CAREBOOK_OLLAMA_HOST"
	case f.Getenv("OLLAMA_HOST") != "":
		return f.Getenv("OLLAMA_HOST"), "$OLLAMA_HOST"
	}
	if cfg, err := f.Config(); err == nil && cfg.OllamaHost != "" {
		return cfg.OllamaHost, cfg.Path
	}
	return agent.DefaultBaseURL, "default"
}

// Model is the model to ask and where the name came from: --model, else
// $CAREBOOK_MODEL, else the configuration file, else the default.
func (f *Factory) Model() (model, source string) {
	switch {
	case f.ModelFlag != "":
		return f.ModelFlag, "--model"
	case f.Getenv("CAREBOOK_MODEL") != "":
		return f.Getenv("CAREBOOK_MODEL"), "$CAREBOOK_MODEL"
	}
	if cfg, err := f.Config(); err == nil && cfg.Model != "" {
		return cfg.Model, cfg.Path
	}
	return agent.DefaultModel, "default"
}

// Guard is the network policy: loopback, plus the private hosts the
// configuration file lists.
func (f *Factory) Guard() (guard.Policy, error) {
	cfg, err := f.Config()
	if err != nil {
		return guard.Policy{}, err
	}
	return guard.Policy{AllowedHosts: cfg.AllowedHosts, Resolver: f.Resolver, Dial: f.Dial}, nil
}

// OllamaURL is the checked-for-syntax Ollama base URL.
func (f *Factory) OllamaURL() (*url.URL, error) {
	raw, source := f.OllamaHost()
	base, err := agent.ParseBaseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return base, nil
}

// OllamaAPI is the one client that may leave the process: to Ollama,
// through the guard, with proxies ignored and redirects refused. A refused
// endpoint is a *guard.RefusedError, returned before any client exists:
// Ollama's client does work of its own for some hosts (it signs requests to
// ollama.com with ~/.ollama's key).
func (f *Factory) OllamaAPI() (*api.Client, error) {
	base, err := f.OllamaURL()
	if err != nil {
		return nil, err
	}
	policy, err := f.Guard()
	if err != nil {
		return nil, err
	}
	if err := policy.CheckURL(base); err != nil {
		return nil, err
	}
	hc := agent.NewHTTPClient(agent.ClientOptions{Dialer: policy.DialContext, CheckURL: policy.CheckURL})
	return agent.NewClient(base, hc), nil
}

// NewAgent builds the agent for --ollama-host and --model. It is the one
// place commands get a model client from. A refused endpoint is not an
// error here: the agent refuses its first call, so that the refusal is
// audited like any failed call.
func (f *Factory) NewAgent() (*agent.Agent, error) {
	model, _ := f.Model()
	client, err := f.OllamaAPI()
	var refused *guard.RefusedError
	if errors.As(err, &refused) {
		return agent.Refused(model, err), nil
	}
	if err != nil {
		return nil, err
	}
	keepAlive, err := f.KeepAlive()
	if err != nil {
		return nil, err
	}
	opts := agent.Options{KeepAlive: keepAlive}
	if f.Getenv(EnvModelStats) != "" {
		opts.Observe = f.printModelStats
	}
	return agent.New(client, model, opts), nil
}

// EnvModelStats, when set, makes every model call print one line on stderr
// with Ollama's counts and timings (never request or answer text), such as
//
//	carebook: model call: prompt_eval_count=155 prompt_eval_ms=41 eval_count=23 eval_ms=310 load_ms=0 total_ms=362 done=true
//
// prompt_eval_count is the prompt's tokens, the whole prompt (Ollama counts
// the part it reused from its cache too); prompt_eval_ms shows the reuse: on
// a warm cache only the tokens after the prompt's fixed prefix are
// evaluated. done=false: Ollama cut the answer off and sent no counts.
const EnvModelStats = "CAREBOOK_MODEL_STATS"

func (f *Factory) printModelStats(c agent.Call) {
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	fmt.Fprintf(f.IOStreams.ErrOut, "carebook: model call: prompt_eval_count=%d prompt_eval_ms=%d eval_count=%d eval_ms=%d load_ms=%d total_ms=%d done=%t\n",
		c.PromptTokens, ms(c.PromptEval), c.EvalTokens, ms(c.Eval), ms(c.Load), ms(c.Total), c.Done)
}

// KeepAlive is how long Ollama keeps the model loaded after a request:
// $CAREBOOK_KEEP_ALIVE, else keep_alive in the configuration file, else
// agent.DefaultKeepAlive (a working day). A Go duration ("12h", "90m"); a
// negative one keeps the model until Ollama stops.
func (f *Factory) KeepAlive() (time.Duration, error) {
	raw, source := f.Getenv("CAREBOOK_KEEP_ALIVE"), "$CAREBOOK_KEEP_ALIVE"
	if raw == "" {
		cfg, err := f.Config()
		if err != nil || cfg.KeepAlive == "" {
			return 0, nil // agent.DefaultKeepAlive; a bad file is reported where it is read
		}
		raw, source = cfg.KeepAlive, cfg.Path+": keep_alive"
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d == 0 {
		return 0, fmt.Errorf("%s=%q is not a duration like 12h or 45m (negative: keep the model loaded until Ollama stops)", source, raw)
	}
	return d, nil
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
