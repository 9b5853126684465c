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
	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/client"
	"github.com/carebook/carebook/config"
	"github.com/carebook/carebook/guard"
	"github.com/carebook/carebook/history"
	"github.com/carebook/carebook/service"
	"github.com/carebook/carebook/store"
)

// DefaultDBPath is used when neither --db, $CAREBOOK_DB nor a configuration
// file's db names the database.
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
	// ServerFlag and StaffFlag are --server and --staff.
	ServerFlag string
	StaffFlag  string
	// ReadSecret reads a PIN without echo; nil means the terminal.
	ReadSecret func(prompt string) (string, error)

	// Resolver and Dial, when set, replace DNS and the network beneath the
	// guard (which still checks every address); tests use them.
	Resolver guard.Resolver
	Dial     func(ctx context.Context, network, addr string) (net.Conn, error)

	// Diagnose runs doctor's checks for the backend; the root command sets
	// it (doctor's package imports this one).
	Diagnose func(ctx context.Context) []backend.Check

	// loaded are the configurations read, by database path ("" for the
	// user's and the system's files alone, which name the database): one
	// command asks for the database, the host, the model and the guard,
	// which all read them.
	loaded map[string]loadedConfig
	// backend and creating are built once per process.
	backend, creating backend.Backend
	// client is the session with carebook serve, when there is one.
	client *client.Client
	// diagnosing lets doctor work on a configuration it reports.
	diagnosing bool
}

type loadedConfig struct {
	cfg config.Config
	err error
}

// loadConfig reads the configuration files for dbPath once per command.
func (f *Factory) loadConfig(dbPath string) (config.Config, error) {
	if l, ok := f.loaded[dbPath]; ok {
		return l.cfg, l.err
	}
	cfg, err := config.Load(dbPath, f.Getenv)
	if err == nil {
		// A configuration file another account could write would let it
		// point Carebook (and the patient data in requests) elsewhere.
		for _, loc := range cfg.Files {
			if berr := store.CheckConfigFile(loc.Path); berr != nil {
				err = berr
				break
			}
		}
	}
	if f.loaded == nil {
		f.loaded = map[string]loadedConfig{}
	}
	f.loaded[dbPath] = loadedConfig{cfg, err}
	return cfg, err
}

// New returns a factory for the real process.
func New(version string) *Factory {
	return &Factory{IOStreams: System(), Version: version, Getenv: os.Getenv}
}

// Database is the practice database and where it came from: --db, else
// $CAREBOOK_DB, else db in the user's configuration, else db in the system
// configuration (so that staff who open a terminal and type `carebook`
// reach the practice's file), else ./carebook.duckdb. A configuration file
// that cannot be read is an error, with the default path: nothing may
// create or open ./carebook.duckdb in place of the practice's database
// because of a typo in a file.
func (f *Factory) Database() (path, source string, err error) {
	if f.DBFlag != "" {
		return f.DBFlag, "--db", nil
	}
	if p := f.Getenv("CAREBOOK_DB"); p != "" {
		return p, "$CAREBOOK_DB", nil
	}
	cfg, err := f.loadConfig("")
	if err != nil {
		return DefaultDBPath, "default", err
	}
	if cfg.DB != "" {
		return cfg.DB, cfg.Source("db"), nil
	}
	return DefaultDBPath, "default", nil
}

// DatabasePath is Database's path. Opening the store reports Database's
// error.
func (f *Factory) DatabasePath() string {
	path, _, _ := f.Database()
	return path
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

// Config reads the configuration files for the database: carebook.toml
// beside it, $XDG_CONFIG_HOME/carebook/config.toml and
// /etc/carebook/config.toml, each setting from the strongest file that has
// it. No file is no error.
func (f *Factory) Config() (config.Config, error) {
	path, _, err := f.Database()
	if err != nil {
		return config.Config{}, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return config.Config{}, err
	}
	return f.loadConfig(abs)
}

// ConfigFileFor is the file to suggest for setting key: the file that sets
// it, else the strongest file in use, else the user's.
func (f *Factory) ConfigFileFor(key string) string {
	cfg, _ := f.Config()
	if p := cfg.PathOf(key); p != "" {
		return p
	}
	if len(cfg.Files) > 0 {
		return cfg.Files[0].Path
	}
	if p := config.UserPath(f.Getenv); p != "" {
		return p
	}
	path, _, _ := f.Database()
	if abs, err := filepath.Abs(path); err == nil {
		return filepath.Join(filepath.Dir(abs), config.FileName)
	}
	return config.FileName + " beside the database"
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
		return cfg.OllamaHost, cfg.Source("ollama_host")
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
		return cfg.Model, cfg.Source("model")
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
	_, policy.Source = f.OllamaHost()
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
	model, modelFrom := f.Model()
	client, err := f.OllamaAPI()
	var refused *guard.RefusedError
	if errors.As(err, &refused) {
		return agent.Refused(model, err), nil
	}
	if err != nil {
		return nil, err
	}
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	keepAlive, err := f.KeepAlive()
	if err != nil {
		return nil, err
	}
	base, _ := f.OllamaURL()
	_, hostFrom := f.OllamaHost()
	opts := agent.Options{
		KeepAlive:               keepAlive,
		AllowCloudEnabledOllama: cfg.AllowCloudEnabledOllama,
		Sources: agent.Sources{
			Endpoint: base.String(), EndpointFrom: hostFrom, ModelFrom: modelFrom,
			ConfigFile: f.ConfigFileFor("allow_cloud_enabled_ollama"),
		},
	}
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
// evaluated. done=false: Ollama cut the answer off and sent no counts. The
// warm-up's call (the REPL sends the prompt's fixed prefix alone as a
// session starts) says "model warm-up" instead of "model call".
const EnvModelStats = "CAREBOOK_MODEL_STATS"

func (f *Factory) printModelStats(c agent.Call) {
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	what := "call"
	if c.Warmup {
		what = "warm-up"
	}
	fmt.Fprintf(f.IOStreams.ErrOut, "carebook: model %s: prompt_eval_count=%d prompt_eval_ms=%d eval_count=%d eval_ms=%d load_ms=%d total_ms=%d done=%t\n",
		what, c.PromptTokens, ms(c.PromptEval), c.EvalTokens, ms(c.Eval), ms(c.Load), ms(c.Total), c.Done)
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
		raw, source = cfg.KeepAlive, cfg.Source("keep_alive")
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d == 0 {
		return 0, fmt.Errorf("%s: %q is not a duration like 12h or 45m (negative: keep the model loaded until Ollama stops)", source, raw)
	}
	return d, nil
}

// Actor is the OS account this process runs as, recorded in the audit log
// in direct mode: from the account database, never $USER (which anyone can
// set); a uid with no account entry is recorded as "uid:N".
func Actor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return fmt.Sprintf("uid:%d", os.Getuid())
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
	path, source, err := f.Database()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		from := ""
		if source != "default" {
			from = " (from " + source + ")"
		}
		return nil, fmt.Errorf("no database at %s%s; create one with `carebook init` (or choose another with --db or $CAREBOOK_DB)", path, from)
	}
	return f.openStore(ctx, path)
}

// CreateStore opens the practice database, creating it if needed.
func (f *Factory) CreateStore(ctx context.Context) (*store.Store, error) {
	path, _, err := f.Database()
	if err != nil {
		return nil, err
	}
	return f.openStore(ctx, path)
}

func (f *Factory) openStore(ctx context.Context, path string) (*store.Store, error) {
	opts, err := f.StoreOptions()
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, path, opts)
}

// StoreOptions are how this process opens the database itself: "today"
// (CAREBOOK_NOW, recorded on every audit row when set), who it is, and a
// word on stderr when it waits for another process.
func (f *Factory) StoreOptions() (store.Options, error) {
	clock, err := f.Clock()
	if err != nil {
		return store.Options{}, err
	}
	ios := f.IOStreams
	return store.Options{Now: clock, FixedNow: f.Getenv("CAREBOOK_NOW"), Actor: Actor(), Host: Host(),
		OnWait: func(h store.Holder) {
			if ios.IsStderrTTY() && h.PID > 0 {
				fmt.Fprintf(ios.ErrOut, "waiting for carebook (pid %d)…\n", h.PID)
			}
		}}, nil
}

// Server is the socket of the carebook serve that commands work through,
// and where that came from: --server, else $CAREBOOK_SERVER, else server in
// the user's or the system's configuration file; "" for none (direct mode).
func (f *Factory) Server() (socket, source string, err error) {
	switch {
	case f.ServerFlag != "":
		return f.ServerFlag, "--server", nil
	case f.Getenv("CAREBOOK_SERVER") != "":
		return f.Getenv("CAREBOOK_SERVER"), "$CAREBOOK_SERVER", nil
	case f.DBFlag != "" || f.Getenv("CAREBOOK_DB") != "":
		// A database named explicitly is opened directly, whatever the
		// configuration says about a server.
		return "", "", nil
	}
	cfg, err := f.loadConfig("")
	if err != nil {
		return "", "", err
	}
	return cfg.Server, cfg.Source("server"), nil
}

// serverOverFile is the server that a command which opens the database file
// itself (serve, init, demo) must not bypass: --server, or one configured
// when no --db names a file ($CAREBOOK_SERVER or the configuration's
// server, as on a staff account); "" when the command may go ahead.
func (f *Factory) serverOverFile() (socket, source string, err error) {
	socket, source, err = f.Server()
	if err != nil || f.ServerFlag != "" || f.DBFlag == "" {
		return socket, source, err
	}
	return "", "", nil
}

// ServeRefusal refuses serve when a server is named for it: serve is the
// server, and opens the file itself.
func (f *Factory) ServeRefusal() error {
	if socket, _, _ := f.serverOverFile(); socket != "" {
		return FlagErrorf("serve owns the database itself: name it with --db (or $CAREBOOK_DB), not --server")
	}
	return nil
}

// FileRefusal refuses command, which makes a database file on this
// machine (init, demo), while commands here work through carebook serve:
// it would make a stray ./carebook.duckdb beside a practice whose database
// is the server's. It is not a usage mistake (the server may come from a
// file), so it is one sentence without a pointer to --help.
func (f *Factory) FileRefusal(command string) error {
	socket, source, err := f.serverOverFile()
	if err != nil || socket == "" {
		return err
	}
	return fmt.Errorf("%s makes a database file on this machine, but the practice's database belongs to carebook serve at %s (from %s): run %s without a server configured, or on the server's account with --db",
		command, socket, source, command)
}

// Backend is the practice database for this process's commands: carebook
// serve when one is configured (see Server), else the file itself, opened
// for each unit of work (direct mode). It is built once, so that the REPL's
// session carries into its slash commands. create makes a missing database
// (init, import, migrate) in direct mode; otherwise a missing file is an
// error that says how to create one.
func (f *Factory) Backend(ctx context.Context, create bool) (backend.Backend, error) {
	if f.client != nil {
		return f.client, nil
	}
	if create && f.creating != nil {
		return f.creating, nil
	}
	if !create && f.backend != nil {
		return f.backend, nil
	}
	socket, _, err := f.Server()
	if err != nil {
		return nil, err
	}
	if socket != "" {
		return f.serverBackend(ctx, socket)
	}
	opts, err := f.StoreOptions()
	if err != nil {
		return nil, err
	}
	path, source, err := f.Database()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	// A configuration file that cannot be used stops every command, not
	// only those that reach the model: one another account wrote, or could
	// have, may point the practice's data elsewhere. doctor reports it as
	// a check instead.
	cfg, err := f.Config()
	if err != nil && !f.diagnosing {
		return nil, err
	}
	model, _ := f.Model()
	svc := service.New(service.Config{
		DB:          service.NewDirect(abs, opts, create).WithSource(source),
		Now:         opts.Now,
		Decider:     func() (service.Decider, error) { return f.NewAgent() },
		Model:       model,
		HistoryFile: history.Path(abs),
		IdleLogoff:  cfg.IdleLogoff(),
		Diagnose:    f.Diagnose,
	})
	b := svc.For(service.Caller{OSUser: Actor(), Host: Host(), Mode: store.ModeDirect, Role: backend.RoleManager, Session: "direct"})
	if create {
		f.creating = b
	} else {
		f.backend = b
	}
	return b, nil
}

// serverBackend logs in to carebook serve: as this OS account (the
// server asks the kernel), naming the staff member (--staff or
// $CAREBOOK_STAFF) and giving the PIN ($CAREBOOK_PIN, or typed on a
// terminal) when the account is shared.
func (f *Factory) serverBackend(ctx context.Context, socket string) (backend.Backend, error) {
	if f.DBFlag != "" {
		return nil, FlagErrorf("--db and --server both name a database; use one (with a server, the server's database is the practice's)")
	}
	if f.OllamaHostFlag != "" || f.ModelFlag != "" {
		return nil, FlagErrorf("--ollama-host and --model are the server's settings in team mode; set them in its configuration file")
	}
	c := client.New(socket)
	staff := f.StaffFlag
	if staff == "" {
		staff = f.Getenv("CAREBOOK_STAFF")
	}
	pin := f.Getenv("CAREBOOK_PIN")
	for attempt := 0; ; attempt++ {
		_, err := c.Login(ctx, staff, pin)
		var auth *backend.AuthError
		if err == nil {
			f.client = c
			return c, nil
		}
		if !errors.As(err, &auth) || attempt > 0 || !f.IOStreams.CanPrompt() || (!auth.NeedStaff && !auth.NeedPIN) {
			return nil, err
		}
		if auth.NeedStaff && staff == "" {
			if staff, err = f.IOStreams.Ask(ctx, "Staff name: "); err != nil {
				return nil, err
			}
		}
		if pin == "" {
			if pin, err = f.readSecret(ctx, "PIN: "); err != nil {
				return nil, err
			}
		}
	}
}

// readSecret reads a PIN without echo.
func (f *Factory) readSecret(ctx context.Context, prompt string) (string, error) {
	if f.ReadSecret != nil {
		return f.ReadSecret(prompt)
	}
	return ReadPassword(ctx, f.IOStreams, prompt)
}

// Close ends the session with the server, if there is one.
func (f *Factory) Close(ctx context.Context) {
	if f.client != nil {
		f.client.Logout(ctx)
	}
}

// ExistingBackend is Backend for a database that must exist.
func (f *Factory) ExistingBackend(ctx context.Context) (backend.Backend, error) {
	return f.Backend(ctx, false)
}

// DiagnosticBackend is ExistingBackend for doctor, which reports a
// configuration file it cannot use as a failed check rather than stopping
// at it.
func (f *Factory) DiagnosticBackend(ctx context.Context) (backend.Backend, error) {
	f.diagnosing = true
	return f.Backend(ctx, false)
}

// CreatingBackend is Backend that creates a missing database.
func (f *Factory) CreatingBackend(ctx context.Context) (backend.Backend, error) {
	return f.Backend(ctx, true)
}

// Channels name where a request came from, in the audit log.
const (
	ChannelCLI    = backend.ChannelCLI
	ChannelAsk    = backend.ChannelAsk
	ChannelRun    = backend.ChannelRun
	ChannelREPL   = backend.ChannelREPL
	ChannelExport = backend.ChannelExport
)
