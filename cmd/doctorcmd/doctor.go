// Package doctorcmd is `carebook doctor`: the practice's security posture
// in one screen, each line ok, warn or fail, with the fix.
package doctorcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/spf13/cobra"

	"github.com/carebook/carebook/agent"
	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/config"
	"github.com/carebook/carebook/guard"
	"github.com/carebook/carebook/history"
	"github.com/carebook/carebook/store"
)

// Status is one line's verdict.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

const (
	encYes     = "encrypted"
	encNo      = "not encrypted"
	encUnknown = "unknown"
)

// Check is one line of the report.
type Check struct {
	Name   string `json:"check"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Options holds doctor's dependencies.
type Options struct {
	IO     *cmdutil.IOStreams
	DBPath string
	// DBSource is where DBPath came from ("--db", "db in /etc/…").
	DBSource   string
	Getenv     func(string) string
	OllamaHost func() (host, source string)
	Model      func() (model, source string)
	Config     func() (config.Config, error)
	// Ollama is the guarded client, or the guard's refusal.
	Ollama     func() (*api.Client, error)
	Encryption func(path string) (state, detail string)
	Now        func() (time.Time, error)
	// Backend runs the checks where the database is.
	Backend func(context.Context) (backend.Backend, error)
	// Lend lends the open database for its checks: carebook serve's own
	// store in the server; nil opens the file (direct mode).
	Lend func(ctx context.Context, fn func(*store.Store) error) error
	// ConfigFileFor is the file to suggest for setting a key.
	ConfigFileFor func(key string) string
	JSON          bool
}

// NewOptions builds doctor's options from the factory. The checks run
// from the backend's Diagnose with options built here, not the command's:
// the path's source is set here, or the report never says it.
func NewOptions(f *cmdutil.Factory) *Options {
	opts := &Options{
		IO: f.IOStreams, Getenv: f.Getenv, OllamaHost: f.OllamaHost, Model: f.Model, Config: f.Config,
		Ollama: f.OllamaAPI, Encryption: volumeEncryption, Backend: f.DiagnosticBackend,
		Now: f.Now, ConfigFileFor: f.ConfigFileFor,
	}
	// A configuration file that cannot be read is its own failed check.
	opts.DBPath, opts.DBSource, _ = f.Database()
	return opts
}

// Checks runs every check where the database is: the backend's Diagnose.
func Checks(ctx context.Context, opts *Options) []backend.Check {
	var out []backend.Check
	for _, c := range Diagnose(ctx, opts) {
		out = append(out, backend.Check{Name: c.Name, Status: string(c.Status), Detail: c.Detail, Fix: c.Fix})
	}
	return out
}

// NewCmdDoctor builds `carebook doctor`.
func NewCmdDoctor(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := NewOptions(f)
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that patient data stays on this machine, and how well it is kept",
		Long: `Print the practice's posture, one line per check (ok, warn or fail) with the
fix: the configuration files, the Ollama endpoint and model, the server's cloud
setting (it fails when cloud features are on, unless allow_cloud_enabled_ollama
= true), proxy variables, the database file's permissions and owner, whether it
sits on an encrypted volume, DuckDB's hardening, the audit log, history and
backups.

The exit code is 1 when any check fails.`,
		Args: cmdutil.Args(0, 0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.DBPath, opts.DBSource, _ = f.Database()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the checks as JSON")
	cmdutil.AddModelFlags(cmd, f)
	return cmd
}

// Run performs every check and prints the report.
func Run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	wire, err := b.Diagnose(ctx)
	if err != nil {
		return err
	}
	var checks []Check
	for _, c := range wire {
		checks = append(checks, Check{Name: c.Name, Status: Status(c.Status), Detail: c.Detail, Fix: c.Fix})
	}
	failed := false
	for _, c := range checks {
		failed = failed || c.Status == Fail
	}
	if opts.JSON {
		if err := cmdutil.WriteJSON(opts.IO.Out, map[string]any{"ok": !failed, "checks": checks}); err != nil {
			return err
		}
	} else {
		// Not fitted to the terminal: a check's detail and its fix are
		// the point, and a wrapped line keeps them whole.
		t := cmdutil.NewTable(opts.IO.Out, opts.IO.IsStdoutTTY(), "STATUS", "CHECK", "DETAIL")
		for _, c := range checks {
			t.Row(string(c.Status), c.Name, c.Detail)
			if c.Fix != "" && c.Status != OK {
				t.Row("", "", "fix: "+c.Fix)
			}
		}
		if err := t.Flush(); err != nil {
			return err
		}
	}
	if failed {
		return cmdutil.ErrSilent
	}
	return nil
}

// Diagnose runs the checks in order.
func Diagnose(ctx context.Context, opts *Options) []Check {
	var out []Check
	add := func(c Check) { out = append(out, c) }

	cfg, cfgErr := opts.Config()
	add(configCheck(cfg, cfgErr))
	client, endpoint := endpointCheck(ctx, opts, cfg)
	add(endpoint)
	add(modelCheck(ctx, opts, client))
	add(cloudCheck(ctx, opts, cfg, client))
	add(proxyCheck(opts.Getenv))
	dbChecks, ok := databaseChecks(ctx, opts)
	for _, c := range dbChecks {
		add(c)
	}
	if ok {
		err := opts.lend(ctx, func(st *store.Store) error {
			add(hardeningCheck(ctx, st))
			add(auditCheck(ctx, st))
			add(deletionCheck(st))
			add(backupCheck(ctx, st, opts))
			return nil
		})
		if err != nil {
			path, _ := filepath.Abs(opts.DBPath)
			c := Check{Name: "database", Status: Fail, Detail: store.Damaged(path, err).Error()}
			var locked *store.LockedError
			if errors.As(err, &locked) {
				c.Fix = "close other carebook sessions and run doctor again"
			}
			add(c)
		}
	}
	add(historyCheck(cfg, opts.DBPath))
	return out
}

func configCheck(cfg config.Config, err error) Check {
	c := Check{Name: "configuration", Status: OK}
	var boundary *store.BoundaryError
	switch {
	case errors.As(err, &boundary):
		// Carebook refuses to run on it: another account could have
		// pointed it (and the requests' patient data) elsewhere.
		c.Status, c.Detail, c.Fix = Fail, boundary.Path+" "+boundary.Problem, boundary.Fix
		return c
	case err != nil:
		c.Status, c.Detail, c.Fix = Fail, err.Error(), "correct the file; known settings are "+strings.Join(config.Keys(), ", ")
		return c
	}
	if len(cfg.Files) == 0 {
		c.Detail = "no file; defaults apply (" + config.FileName + " beside the database, $XDG_CONFIG_HOME/carebook/config.toml or " + config.SystemPath + ")"
		return c
	}
	var paths, fixes []string
	for _, f := range cfg.Files {
		paths = append(paths, f.Path)
		if fi, err := os.Stat(f.Path); err == nil && fi.Mode().Perm()&0o022 != 0 {
			c.Status = Warn
			paths[len(paths)-1] += fmt.Sprintf(" (writable by others, mode %04o)", fi.Mode().Perm())
			fixes = append(fixes, "chmod 644 "+f.Path)
		}
	}
	c.Detail = strings.Join(paths, ", ")
	if c.Status == Warn {
		c.Detail += ": others could point allowed_hosts at their own machine on the LAN"
		c.Fix = strings.Join(fixes, "; ")
	}
	return c
}

func endpointCheck(ctx context.Context, opts *Options, cfg config.Config) (*api.Client, Check) {
	host, source := opts.OllamaHost()
	c := Check{Name: "ollama endpoint"}
	client, err := opts.Ollama()
	var refused *guard.RefusedError
	var boundary *store.BoundaryError
	if errors.As(err, &boundary) {
		// The configuration check fails with this; the address is not
		// the problem, and is not known until the file is mended.
		c.Status, c.Detail, c.Fix = Warn, "not checked: the configuration it would come from is refused (see configuration)", boundary.Fix
		return nil, c
	}
	if errors.As(err, &refused) {
		c.Status, c.Detail = Fail, fmt.Sprintf("%s (from %s): %v", host, source, err)
		c.Fix = "point Carebook at the Ollama on this machine: unset it, or use --ollama-host http://127.0.0.1:11434"
		return nil, c
	}
	if err != nil {
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("%s (from %s): %v", host, source, err), "correct the address"
		return nil, c
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	version, err := client.Version(ctx)
	if err != nil {
		var refusedAtDial *guard.RefusedError
		var unresolved *guard.ResolveError
		var notOllama *agent.NotOllamaError
		switch {
		case errors.As(err, &refusedAtDial):
			c.Status, c.Detail = Fail, fmt.Sprintf("%s (from %s): %v", host, source, refusedAtDial)
			c.Fix = "point Carebook at the Ollama on this machine, or list the practice's own GPU box in allowed_hosts"
		case errors.As(err, &unresolved):
			c.Status, c.Detail = Fail, fmt.Sprintf("%s (from %s): cannot resolve %s (DNS)", host, source, unresolved.Host)
			c.Fix = "check the name and the practice's DNS, or use the machine's IP address"
		case errors.As(err, &notOllama):
			c.Status, c.Detail = Fail, fmt.Sprintf("%s (from %s) answered but is not Ollama (HTTP %d)", host, source, notOllama.StatusCode)
			c.Fix = "stop the program that holds that port and start `ollama serve`, or point Carebook at Ollama with --ollama-host"
		default:
			c.Status, c.Detail, c.Fix = Warn, fmt.Sprintf("%s (from %s) is local but not answering", host, source), "start it: ollama serve"
		}
		return nil, c
	}
	c.Status, c.Detail = OK, fmt.Sprintf("%s (from %s): local, Ollama %s", host, source, version)
	if u, err := agent.ParseBaseURL(host); err == nil && onLAN(u.Hostname(), cfg) {
		c.Status = Warn
		c.Detail = fmt.Sprintf("%s (from %s): a private-network host allowed by allowed_hosts, Ollama %s", host, source, version)
		c.Fix = "reach it only over the practice's own network or VPN, never across the internet"
	}
	return client, c
}

// onLAN reports an endpoint that is not loopback (so was let through by
// allowed_hosts).
func onLAN(host string, cfg config.Config) bool {
	h := strings.ToLower(strings.Trim(host, "[]"))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return false
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		return !ip.Unmap().IsLoopback()
	}
	return len(cfg.AllowedHosts) > 0
}

func modelCheck(ctx context.Context, opts *Options, client *api.Client) Check {
	model, source := opts.Model()
	c := Check{Name: "model"}
	if agent.CloudName(model) {
		c.Status, c.Detail = Fail, fmt.Sprintf("%s (from %s) runs in Ollama's cloud: requests would leave this machine", model, source)
		c.Fix = "choose a local model, for example --model " + agent.DefaultModel
		return c
	}
	if client == nil {
		c.Status, c.Detail = Warn, fmt.Sprintf("%s (from %s): not checked, Ollama is not reachable", model, source)
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := agent.InspectModel(ctx, client, model)
	var missing *agent.ModelMissingError
	var cloud *agent.CloudModelError
	switch {
	case errors.As(err, &missing):
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("%s (from %s) is not pulled", model, source), "ollama pull "+model
		return c
	case errors.As(err, &cloud):
		c.Status, c.Detail = Fail, fmt.Sprintf("%s (from %s) runs in Ollama's cloud (%s): requests would leave this machine", model, source, cloud.Why)
		c.Fix = "choose a model that runs locally (ollama list)"
		return c
	case err != nil:
		c.Status, c.Detail = Warn, fmt.Sprintf("%s (from %s): %v", model, source, err)
		return c
	}
	c.Status, c.Detail = OK, fmt.Sprintf("%s (from %s): local and pulled", model, source)
	if info.Digest != "" {
		c.Detail += ", digest " + short(info.Digest)
	}
	return c
}

func short(digest string) string {
	digest = strings.TrimPrefix(digest, "sha256:")
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}

// perRequest says what Carebook checks before each request, for the fix
// texts here and in the README.
const perRequest = "before every request Carebook checks /api/show (remote_host, remote_model), the model's digest in /api/tags, and /api/status"

func cloudCheck(ctx context.Context, opts *Options, cfg config.Config, client *api.Client) Check {
	c := Check{Name: "ollama cloud"}
	if client == nil {
		c.Status, c.Detail = Warn, "not checked, Ollama is not reachable"
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	state, err := agent.ServerCloud(ctx, client)
	if err != nil {
		c.Status, c.Detail = Warn, "not checked: "+err.Error()
		return c
	}
	if state.Disabled {
		c.Status, c.Detail = OK, "disabled (source: "+state.Source+"); "+perRequest
		return c
	}
	c.Detail = "enabled: the server can run cloud models, and a cloud model copied onto the model's name (ollama cp) would receive the requests"
	if state.Unknown {
		c.Detail = "unknown: this Ollama does not report it (no /api/status)"
	}
	file := "the configuration file"
	if opts.ConfigFileFor != nil {
		file = opts.ConfigFileFor("allow_cloud_enabled_ollama")
	}
	if cfg.AllowCloudEnabledOllama {
		c.Status = Warn
		c.Detail += "; allowed by " + cfg.Source("allow_cloud_enabled_ollama")
		c.Fix = "start Ollama with OLLAMA_NO_CLOUD=1 and remove allow_cloud_enabled_ollama from " + file + "; until then " + perRequest + ", and refuses a cloud model"
		return c
	}
	c.Status = Fail
	c.Detail += "; Carebook sends it nothing"
	c.Fix = "start Ollama with OLLAMA_NO_CLOUD=1 (upgrade it first if it has no /api/status), or set allow_cloud_enabled_ollama = true in " + file + "; either way " + perRequest
	return c
}

func proxyCheck(getenv func(string) string) Check {
	vars := guard.IgnoredProxyVariables(getenv)
	if len(vars) == 0 {
		return Check{Name: "proxy variables", Status: OK, Detail: "none set"}
	}
	return Check{Name: "proxy variables", Status: OK, Detail: strings.Join(vars, ", ") + " set, and ignored: Carebook talks to Ollama directly"}
}

// lend lends the database for the checks that read it.
func (o *Options) lend(ctx context.Context, fn func(*store.Store) error) error {
	if o.Lend != nil {
		return o.Lend(ctx, fn)
	}
	path, _ := filepath.Abs(o.DBPath)
	st, err := store.Open(ctx, path, store.Options{LockTimeout: 2 * time.Second})
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

func databaseChecks(ctx context.Context, opts *Options) ([]Check, bool) {
	path, _ := filepath.Abs(opts.DBPath)
	from := ""
	if opts.DBSource != "" {
		from = " (from " + opts.DBSource + ")"
	}
	fi, err := os.Stat(path)
	if err != nil {
		return []Check{{Name: "database", Status: Fail, Detail: fmt.Sprintf("no database at %s%s", path, from), Fix: "carebook init, or choose one with --db, $CAREBOOK_DB or db in ~/.config/carebook/config.toml"}}, false
	}
	var out []Check
	mode := Check{Name: "database file", Status: OK, Detail: fmt.Sprintf("%s%s, mode %04o", path, from, fi.Mode().Perm())}
	if fi.Mode().Perm()&0o077 != 0 {
		mode.Status = Warn
		mode.Detail += ": others on this machine can read patient data"
		mode.Fix = "chmod 600 " + path
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if int(st.Uid) != os.Getuid() {
			mode.Status = Warn
			mode.Detail += fmt.Sprintf(", owned by uid %d, not you (uid %d)", st.Uid, os.Getuid())
			mode.Fix = strings.TrimPrefix(mode.Fix+"; chown the file to the account that runs Carebook", "; ")
		} else {
			mode.Detail += ", owned by you"
		}
	}
	for _, side := range []string{path + ".wal", store.HeadPath(path)} {
		if sfi, err := os.Stat(side); err == nil && sfi.Mode().Perm()&0o077 != 0 {
			mode.Status = Warn
			mode.Detail += fmt.Sprintf("; %s has mode %04o", filepath.Base(side), sfi.Mode().Perm())
			mode.Fix = strings.TrimPrefix(mode.Fix+"; chmod 600 "+side, "; ")
		}
	}
	if dfi, err := os.Stat(filepath.Dir(path)); err == nil && dfi.Mode().Perm()&0o077 != 0 {
		mode.Detail += fmt.Sprintf("; its folder has mode %04o", dfi.Mode().Perm())
	}
	// The folder is the boundary: another account that can write in it,
	// or owns it, can reach the data; Carebook refuses to open it.
	var boundary *store.BoundaryError
	if err := store.CheckBoundary(path); errors.As(err, &boundary) {
		mode.Status, mode.Detail, mode.Fix = Fail, boundary.Path+" "+boundary.Problem, boundary.Fix
	}
	out = append(out, mode)
	// Opening the file here would be refused for the same reason, and say
	// it again; a server's store is open already, and its checks still
	// run.
	open := boundary == nil || opts.Lend != nil

	state, detail := opts.Encryption(path)
	enc := Check{Name: "encryption at rest", Detail: state + ": " + detail}
	switch state {
	case encYes:
		enc.Status = OK
	case encNo:
		enc.Status, enc.Fix = Warn, encryptionFix
	default:
		enc.Status, enc.Fix = Warn, "confirm that the disk holding the database is encrypted; "+encryptionFix
	}
	out = append(out, enc)

	return out, open
}

// hardening is what DuckDB must read back as, on every connection.
var hardening = []struct{ setting, want string }{
	{"enable_external_access", "false"},
	{"autoinstall_known_extensions", "false"},
	{"autoload_known_extensions", "false"},
	{"lock_configuration", "true"},
}

func hardeningCheck(ctx context.Context, st *store.Store) Check {
	var got []string
	c := Check{Name: "duckdb hardening", Status: OK}
	for _, h := range hardening {
		v, err := st.Setting(ctx, h.setting)
		if err != nil || v != h.want {
			c.Status = Fail
			c.Fix = "this build of Carebook is broken; reinstall it"
		}
		got = append(got, h.setting+"="+v)
	}
	c.Detail = strings.Join(got, ", ")
	return c
}

func auditCheck(ctx context.Context, st *store.Store) Check {
	c := Check{Name: "audit log"}
	if err := st.AuditBroken(); err != nil {
		c.Status, c.Detail, c.Fix = Fail, err.Error(), "carebook audit verify"
		return c
	}
	counts, err := st.Reader().Counts(ctx)
	if err != nil {
		c.Status, c.Detail = Fail, store.Damaged(st.Path(), err).Error()
		return c
	}
	c.Status, c.Detail = OK, fmt.Sprintf("%d rows; the head file matches (run `carebook audit verify` for a full check)", counts.AuditRows)
	return c
}

// deletionCheck reports a forget whose rewrite of the file is not
// finished: until it is, the deleted patient's bytes may be in the file.
func deletionCheck(st *store.Store) Check {
	c := Check{Name: "deletion"}
	if err := st.CompactionPending(); err != nil {
		c.Status, c.Detail = Fail, err.Error()
		c.Fix = "free space on the database's disk (or fix what the message names), then run any carebook command"
		return c
	}
	c.Status, c.Detail = OK, "no forget is waiting for the file to be rewritten"
	return c
}

func backupCheck(ctx context.Context, st *store.Store, opts *Options) Check {
	c := Check{Name: "backups"}
	now, err := opts.Now()
	if err != nil {
		now = time.Now()
	}
	rows, err := st.Reader().FindAudit(ctx, store.AuditQuery{Channel: "backup"})
	if err != nil {
		c.Status, c.Detail = Warn, store.Damaged(st.Path(), err).Error()
		return c
	}
	var last time.Time
	for _, r := range rows {
		if r.Outcome == store.OutcomeOK {
			last = r.At
		}
	}
	// A restore rolls back the row of the backup it restored, and is the
	// proof that the backup exists: it counts, as of when it was made.
	restores, err := st.Reader().FindAudit(ctx, store.AuditQuery{Channel: store.ChannelRestore})
	if err == nil {
		for _, r := range restores {
			var a struct {
				Args struct {
					BackupOf time.Time `json:"backup_of"`
				} `json:"args"`
			}
			if json.Unmarshal([]byte(r.Action), &a) == nil && a.Args.BackupOf.After(last) {
				last = a.Args.BackupOf
			}
		}
	}
	switch {
	case last.IsZero():
		c.Status, c.Detail = Warn, "no backup has been made"
		c.Fix = "carebook backup /path/on/another/disk/carebook-backup.age (encrypted), and schedule it daily"
	case now.Sub(last) > 7*24*time.Hour:
		c.Status, c.Detail = Warn, fmt.Sprintf("the last backup is %d days old (%s)", int(now.Sub(last).Hours()/24), last.Format("2006-01-02"))
		c.Fix = "carebook backup FILE, and schedule it daily"
	default:
		c.Status, c.Detail = OK, "last encrypted backup "+last.Local().Format("2006-01-02 15:04")
	}
	return c
}

func historyCheck(cfg config.Config, dbPath string) Check {
	c := Check{Name: "repl history", Status: OK}
	if !cfg.History {
		c.Detail = "kept in memory only (history = false)"
		return c
	}
	abs, _ := filepath.Abs(dbPath)
	path := history.Path(abs)
	c.Detail = "kept in " + path + ", scrubbed by forget"
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		c.Status, c.Fix = Warn, "chmod 600 "+path
		c.Detail += fmt.Sprintf(", but its mode is %04o", fi.Mode().Perm())
	}
	return c
}
