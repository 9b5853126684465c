package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/internal/wire"
	"github.com/carebook/carebook/store"
)

// unixHTTP is an HTTP client over the Unix socket at path.
func unixHTTP(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
}

// TestTeamProtocol: a client of another protocol version, in either
// direction, gets a sentence and never a decoding error; a command on a
// database that carebook serve holds says which server to use; SIGTERM
// lets a request in flight finish, and frees the database.
func TestTeamProtocol(t *testing.T) {
	tm := newTeam(t)
	tm.serve()

	t.Run("a newer client meets this server", func(t *testing.T) {
		newer := fmt.Sprint(backend.ProtocolVersion + 1)
		for _, version := range []string{newer, "0", ""} {
			req, _ := http.NewRequest(http.MethodPost, "http://carebook"+wire.Prefix+wire.OpLogin, strings.NewReader(`{}`))
			if version != "" {
				req.Header.Set(wire.Protocol, version)
			}
			resp, err := unixHTTP(tm.socket).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Header.Get(wire.Protocol); got != fmt.Sprint(backend.ProtocolVersion) {
				t.Errorf("the reply names protocol %q, want %d", got, backend.ProtocolVersion)
			}
			var f wire.Frame
			err = json.NewDecoder(resp.Body).Decode(&f)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("protocol %q: the refusal is not a frame: %v", version, err)
			}
			var verr *backend.VersionError
			if err := backend.FromWire(f.Error); !errors.As(err, &verr) {
				t.Fatalf("protocol %q: got %v, want a VersionError", version, err)
			}
			if msg := f.Error.Message; !strings.Contains(msg, "use the carebook that came with the server") {
				t.Errorf("protocol %q: the refusal says %q", version, msg)
			}
		}
	})

	t.Run("this client meets a newer server", func(t *testing.T) {
		// A server of the next protocol, whose replies this client cannot
		// read.
		newer := backend.ProtocolVersion + 1
		sock := filepath.Join(t.TempDir(), "newer.sock")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set(wire.Protocol, fmt.Sprint(newer))
			w.Header().Set("Content-Type", "application/x-ndjson")
			fmt.Fprintln(w, `{"next":{"shape":"unknown to this client"}}`)
		})}
		go srv.Serve(ln)
		defer srv.Close()
		r := tm.command(tm.env, "", tm.bin, "--server", sock, "patients")
		if r.code == 0 {
			t.Fatalf("a command against a protocol-%d server succeeded: %s", newer, r)
		}
		if want := fmt.Sprintf("this carebook speaks protocol %d and the server speaks %d", backend.ProtocolVersion, newer); !strings.Contains(r.stderr, want) {
			t.Errorf("the client did not say which versions differ: %s", r)
		}
		if strings.Contains(r.stderr, "unreadable") || strings.Contains(r.stderr, "json") {
			t.Errorf("the client reports a decoding error: %s", r)
		}
	})

	t.Run("the database belongs to the server", func(t *testing.T) {
		for _, r := range []result{
			tm.direct("patients"),
			tm.command(append(append([]string{}, tm.serveEnv...), "CAREBOOK_DB="+tm.db), "", tm.bin, "tag", "add", "vip", "P1002", "--yes"),
			tm.direct("serve", "--socket", filepath.Join(t.TempDir(), "second.sock")),
		} {
			if r.code == 0 {
				t.Fatalf("a direct command opened the server's database: %s", r)
			}
			if !strings.Contains(r.stderr, "--server "+tm.socket) || strings.Contains(r.stderr, "in use") {
				t.Errorf("the refusal does not name the server to use: %s", r)
			}
		}
	})

	t.Run("SIGTERM lets the request in flight finish", func(t *testing.T) {
		tm.ollama.SetDelay(3 * time.Second)
		defer tm.ollama.SetDelay(0)
		ask := exec.Command(tm.bin, "--server", tm.socket, "ask", "how many patients are there")
		ask.Env = tm.env
		var askOut syncBuffer
		ask.Stdout, ask.Stderr = &askOut, &askOut
		chats := tm.ollama.ChatCount()
		if err := ask.Start(); err != nil {
			t.Fatal(err)
		}
		for tm.ollama.ChatCount() == chats {
			time.Sleep(10 * time.Millisecond)
		}
		tm.srv.Process.Signal(syscall.SIGTERM)
		// The server stops taking requests at once.
		deadline := time.Now().Add(2 * time.Second)
		for {
			if _, err := os.Stat(tm.socket); errors.Is(err, os.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the socket is still there 2 s after SIGTERM")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if r := tm.client("patients"); r.code == 0 || !strings.Contains(r.stderr, "carebook serve is not answering") {
			t.Errorf("a new request while stopping: %s", r)
		}
		if err := ask.Wait(); err != nil {
			t.Fatalf("the request in flight failed when the server was stopped: %v\n%s", err, askOut.String())
		}
		if !strings.Contains(askOut.String(), "240") {
			t.Errorf("the request in flight answered: %s", askOut.String())
		}
		if code := tm.stop(syscall.SIGTERM); code != 0 {
			t.Fatalf("carebook serve exited %d after SIGTERM:\n%s", code, tm.srvOut.String())
		}
		f, err := os.OpenFile(store.LockPath(tm.db), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			t.Fatalf("the lock file is still held after the server stopped: %v", err)
		}
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		if r := tm.direct("audit", "verify"); r.code != 0 {
			t.Errorf("after the server: %s", r)
		}
		log, _ := tm.open().Reader().AuditLog(context.Background(), 0)
		asked := false
		for _, row := range log {
			asked = asked || row.Channel == "ask" && row.Outcome == store.OutcomeOK && row.Mode == store.ModeServer
		}
		if !asked {
			t.Error("the finished ask has no audit row")
		}
	})
}

// TestTeamReport: the report through carebook serve is the report on the
// file, byte for byte, page and JSON alike (it is rendered where the
// numbers are read), and it is one audited read either way.
func TestTeamReport(t *testing.T) {
	tm := newTeam(t)
	out := t.TempDir()
	get := func(run func(args ...string) string, name string) (page, js string) {
		t.Helper()
		html := filepath.Join(out, name+".html")
		run("report", "--month", "2026-05", "-o", html)
		data, err := os.ReadFile(html)
		if err != nil {
			t.Fatal(err)
		}
		return string(data), run("report", "--month", "2026-05", "--json")
	}
	tm.serve()
	before := len(tm.auditLog())
	servedPage, servedJSON := get(tm.mustClient, "served")
	if n := len(tm.auditLog()) - before; n != 3 { // two reports and the audit log's own read
		t.Errorf("two reports through the server left %d audit rows, want 2 and the log's read", n)
	}
	tm.stop(syscall.SIGTERM)
	directPage, directJSON := get(tm.mustDirect, "direct")

	if servedPage != directPage {
		t.Errorf("the page through the server differs from the page on the file (%d and %d bytes)", len(servedPage), len(directPage))
	}
	if servedJSON != directJSON {
		t.Errorf("the JSON through the server differs from the JSON on the file:\n%s\n---\n%s", clip(servedJSON), clip(directJSON))
	}
	var rep struct {
		Panels []struct {
			ID string `json:"id"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(servedJSON), &rep); err != nil || len(rep.Panels) != 7 {
		t.Fatalf("the JSON through the server has %d panels (%v)", len(rep.Panels), err)
	}
	// The fixture's May has small cells: suppression survives the trip,
	// and the charts came with it (a version 2 server's numbers lost
	// both).
	if !strings.Contains(servedPage, "<td>&lt; 5</td>") || strings.Count(servedPage, "<svg") < 5 {
		t.Errorf("the page through the server lacks its suppressed cells or its charts (%d charts, %d small cells)",
			strings.Count(servedPage, "<svg"), strings.Count(servedPage, "<td>&lt; 5</td>"))
	}
}

// TestTeamInitDemoRefuseServer: init and demo make a database file where
// they run, so with a server configured they made a stray
// ./carebook.duckdb beside a practice whose database is the server's. They
// refuse, in one sentence that says whose the database is and what to do;
// on the service account, --db names the file as it does for serve.
func TestTeamInitDemoRefuseServer(t *testing.T) {
	bin := carebookBinary(t)
	home, cwd := t.TempDir(), t.TempDir()
	socket := filepath.Join(t.TempDir(), "carebook.sock")
	userConfig := filepath.Join(home, "carebook", "config.toml")
	if err := os.MkdirAll(filepath.Dir(userConfig), 0o700); err != nil {
		t.Fatal(err)
	}
	base := append(cleanEnv(), "HOME="+home, "XDG_CONFIG_HOME="+home,
		"CAREBOOK_SYSTEM_CONFIG="+filepath.Join(home, "no-system.toml"), "CAREBOOK_NOW=2026-06-15T10:00:00Z")
	run := func(env []string, args ...string) binResult {
		t.Helper()
		return runBinary(t, bin, cwd, append(append([]string{}, base...), env...), nil, args...)
	}
	withConfig := func(t *testing.T) func() {
		if err := os.WriteFile(userConfig, []byte(fmt.Sprintf("server = %q\n", socket)), 0o600); err != nil {
			t.Fatal(err)
		}
		return func() { os.Remove(userConfig) }
	}
	for _, c := range []struct {
		name   string
		setup  func(*testing.T) func()
		env    []string
		cmd    string
		args   []string
		source string
	}{
		{"init with --server", nil, nil, "init", []string{"--server", socket, "init"}, "--server"},
		{"demo with --server", nil, nil, "demo", []string{"--server", socket, "demo", "--patients", "5"}, "--server"},
		{"init with $CAREBOOK_SERVER", nil, []string{"CAREBOOK_SERVER=" + socket}, "init", []string{"init"}, "$CAREBOOK_SERVER"},
		{"demo with $CAREBOOK_SERVER", nil, []string{"CAREBOOK_SERVER=" + socket}, "demo", []string{"demo", "--patients", "5"}, "$CAREBOOK_SERVER"},
		{"init with server in the configuration", withConfig, nil, "init", []string{"init"}, "server in " + userConfig},
		{"demo with server in the configuration", withConfig, nil, "demo", []string{"demo", "--patients", "5"}, "server in " + userConfig},
		{"init with --server and --db", nil, nil, "init", []string{"--server", socket, "--db", "mine.duckdb", "init"}, "--server"},
		{"restore with $CAREBOOK_SERVER", nil, []string{"CAREBOOK_SERVER=" + socket}, "restore", []string{"restore", "/nonexistent/b.age"}, "$CAREBOOK_SERVER"},
		{"restore with server in the configuration", withConfig, nil, "restore", []string{"restore", "--dry-run", "/nonexistent/b.age"}, "server in " + userConfig},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				defer c.setup(t)()
			}
			oneSentence(t, c.name, run(c.env, c.args...), c.cmd+" makes a database file on this machine",
				"belongs to carebook serve at "+socket+" (from "+c.source+")",
				"run "+c.cmd+" without a server configured, or on the server's account with --db")
			if entries, _ := os.ReadDir(cwd); len(entries) > 0 {
				t.Errorf("%s left %v in the current folder", c.name, entries)
			}
		})
	}

	// The service account names its file with --db, as for serve; a
	// server in the configuration is for the staff's commands.
	t.Run("--db on the server's account", func(t *testing.T) {
		defer withConfig(t)()
		db := filepath.Join(t.TempDir(), "practice.duckdb")
		if r := run([]string{"CAREBOOK_SERVER=" + socket}, "--db", db, "init"); r.code != 0 {
			t.Fatalf("init --db with $CAREBOOK_SERVER set: exit %d: %s", r.code, r.stderr)
		}
		demo := filepath.Join(t.TempDir(), "demo.duckdb")
		if r := run(nil, "--db", demo, "demo", "--patients", "5"); r.code != 0 {
			t.Fatalf("demo --db with server in the configuration: exit %d: %s", r.code, r.stderr)
		}
		if entries, _ := os.ReadDir(cwd); len(entries) > 0 {
			t.Errorf("left %v in the current folder", entries)
		}
	})
}
