package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/carebook/carebook/internal/ollamatest"
	"github.com/carebook/carebook/store"
)

// team is a practice with carebook serve: the real binary, a real server
// on a real socket, and real client processes, as staff use them.
type team struct {
	t   *testing.T
	bin string
	// dir is the database's folder (0700), db the database.
	dir, db string
	// socket is where the server listens.
	socket string
	// env is every process's environment; serveEnv is the server's.
	env      []string
	serveEnv []string
	ollama   *ollamatest.Server

	srv     *exec.Cmd
	srvOut  *syncBuffer
	srvDone chan error
}

// syncBuffer is a bytes.Buffer that a process and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newTeam makes a practice from the clinic fixture with root as its first
// manager (added on the file itself, as the README says), and no server
// yet.
func newTeam(t *testing.T) *team {
	t.Helper()
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skip("shared fixtures not found")
	}
	return newTeamOf(t, func(tm *team) {
		tm.mustDirect("init")
		fixtures, err := filepath.Abs(fixtureDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"patients", "appointments", "interactions"} {
			tm.mustDirect("import", kind, filepath.Join(fixtures, kind+".csv"))
		}
	})
}

// newTeamOf is newTeam with the practice fill makes on the file (a demo,
// say) in place of the clinic fixture.
func newTeamOf(t *testing.T, fill func(tm *team)) *team {
	t.Helper()
	tm := &team{t: t, bin: carebookBinary(t)}
	base := t.TempDir()
	tm.dir = filepath.Join(base, "practice")
	if err := os.Mkdir(tm.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	tm.db = filepath.Join(tm.dir, "p.duckdb")
	tm.socket = tm.db + ".sock"
	tm.ollama = ollamatest.New("tiny:latest", `{"tool":"query","args":{"entity":"patients","output":"count"}}`)
	t.Cleanup(tm.ollama.Close)
	home := filepath.Join(base, "home")
	os.Mkdir(home, 0o700)
	tm.env = append(cleanEnv(), "CAREBOOK_NOW=2026-06-15T10:00:00Z", "HOME="+home, "XDG_CONFIG_HOME="+home,
		"CAREBOOK_SYSTEM_CONFIG="+filepath.Join(base, "no-system-config.toml"))
	tm.serveEnv = append(append([]string{}, tm.env...), "CAREBOOK_OLLAMA_HOST="+tm.ollama.URL, "CAREBOOK_MODEL=tiny:latest",
		"CAREBOOK_BACKUP_PASSPHRASE=correct horse battery staple")
	fill(tm)
	tm.mustDirect("staff", "add", "root", "--role", "manager")
	t.Cleanup(func() { tm.kill() })
	return tm
}

// cleanEnv is the test's environment without anything that would point a
// carebook process elsewhere.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CAREBOOK_") || strings.HasPrefix(kv, "OLLAMA_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// result is how a carebook process ended.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %v\nstdout: %s\nstderr: %s", r.code, r.took.Round(time.Millisecond), clip(r.stdout), clip(r.stderr))
}

// clip keeps a failure's message readable.
func clip(s string) string {
	if len(s) > 1500 {
		return s[:1500] + fmt.Sprintf("… (%d bytes more)", len(s)-1500)
	}
	return s
}

// command runs one process: argv as is, with env and stdin.
func (tm *team) command(env []string, stdin string, argv ...string) result {
	return tm.commandWithin(3*time.Minute, env, stdin, argv...)
}

// commandWithin is command, killed after d.
func (tm *team) commandWithin(d time.Duration, env []string, stdin string, argv ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = "/"
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		r.code = -1
		r.stderr += err.Error()
	}
	return r
}

// direct runs carebook on the file itself (no server).
func (tm *team) direct(args ...string) result {
	return tm.command(tm.serveEnv, "", append([]string{tm.bin, "--db", tm.db}, args...)...)
}

func (tm *team) mustDirect(args ...string) string {
	tm.t.Helper()
	r := tm.direct(args...)
	if r.code != 0 {
		tm.t.Fatalf("carebook --db %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// client runs carebook through the server as this test's own account.
func (tm *team) client(args ...string) result {
	return tm.clientEnv(nil, "", args...)
}

// clientEnv runs carebook through the server with more environment and
// stdin.
func (tm *team) clientEnv(env []string, stdin string, args ...string) result {
	return tm.command(append(append([]string{}, tm.env...), env...), stdin, append([]string{tm.bin, "--server", tm.socket}, args...)...)
}

func (tm *team) mustClient(args ...string) string {
	tm.t.Helper()
	r := tm.client(args...)
	if r.code != 0 {
		tm.t.Fatalf("carebook --server %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// serve starts carebook serve and waits until its socket answers.
func (tm *team) serve(args ...string) {
	tm.t.Helper()
	tm.serveWrapped(nil, args...)
}

// serveWrapped starts carebook serve under wrap (strace), if given.
func (tm *team) serveWrapped(wrap []string, args ...string) {
	tm.t.Helper()
	argv := append(append(append([]string{}, wrap...), tm.bin, "--db", tm.db, "serve"), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = tm.serveEnv
	cmd.Dir = "/"
	tm.srvOut = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = tm.srvOut, tm.srvOut
	if err := cmd.Start(); err != nil {
		tm.t.Fatal(err)
	}
	tm.srv, tm.srvDone = cmd, make(chan error, 1)
	go func() { tm.srvDone <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if c, err := net.Dial("unix", tm.socket); err == nil {
			c.Close()
			if strings.Contains(tm.srvOut.String(), "carebook serve: ") {
				return
			}
		}
		select {
		case err := <-tm.srvDone:
			tm.srvDone <- err
			tm.t.Fatalf("carebook serve ended before it answered (%v):\n%s", err, tm.srvOut.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("carebook serve did not answer within a minute:\n%s", tm.srvOut.String())
		}
	}
}

// stop sends sig to the server and waits for it to end: its exit code.
func (tm *team) stop(sig syscall.Signal) int {
	tm.t.Helper()
	if tm.srv == nil {
		return 0
	}
	tm.srv.Process.Signal(sig)
	select {
	case err := <-tm.srvDone:
		tm.srv = nil
		var exit *exec.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &exit):
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return 128 + int(ws.Signal())
			}
			return exit.ExitCode()
		}
		tm.t.Fatal(err)
	case <-time.After(90 * time.Second):
		tm.t.Fatalf("carebook serve did not stop within 90 s of %v:\n%s", sig, tm.srvOut.String())
	}
	return -1
}

// kill ends a server the test left running.
func (tm *team) kill() {
	if tm.srv != nil {
		tm.srv.Process.Kill()
		<-tm.srvDone
		tm.srv = nil
	}
}

// open opens the database in this process, the server stopped, to look at
// what is really in it.
func (tm *team) open() *store.Store {
	tm.t.Helper()
	st, err := store.Open(context.Background(), tm.db, store.Options{})
	if err != nil {
		tm.t.Fatalf("open the database after the server: %v", err)
	}
	tm.t.Cleanup(func() { st.Close() })
	return st
}

// auditLog is the audit log as the server shows it to a manager.
func (tm *team) auditLog(args ...string) []store.AuditRowJSON {
	tm.t.Helper()
	var rows []store.AuditRowJSON
	out := tm.mustClient(append([]string{"audit", "log", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		tm.t.Fatalf("audit log --json: %v\n%s", err, out)
	}
	return rows
}

// actionTool is the tool an audit row's action names.
func actionTool(action string) string {
	var a struct {
		Tool string `json:"tool"`
	}
	json.Unmarshal([]byte(action), &a)
	return a.Tool
}
