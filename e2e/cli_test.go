//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebook/carebook/internal/ptytest"
	"github.com/carebook/carebook/tools"
)

const fixtureDir = "../eval/testdata/clinic"

// The tiny model's answers are random: these tests assert how Carebook
// handles whatever comes back, never what the model chose.
var requests = []string{
	"how many patients have diabetes",
	"tag Jon Smyth as recall-due",
	"log a call with P1003: left a voicemail about her refill",
}

// practice is a database with the fixture imported, and the environment
// that points the binary at it and at the harness's server.
type practice struct {
	t   *testing.T
	db  string
	dir string
	env []string
}

func newPractice(t *testing.T) *practice {
	t.Helper()
	ollamaEnv(t) // skips without the harness
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skip("shared fixtures not found")
	}
	dir := t.TempDir()
	p := &practice{t: t, dir: dir, db: filepath.Join(dir, "practice.duckdb")}
	p.env = append(os.Environ(), "CAREBOOK_DB="+p.db, "CAREBOOK_NOW=2026-06-15T10:00:00Z",
		"HOME="+dir, "XDG_CONFIG_HOME="+dir, "TERM=xterm")
	p.mustRun("init")
	for _, kind := range []string{"patients", "appointments", "interactions"} {
		p.mustRun("import", kind, filepath.Join(fixtureDir, kind+".csv"))
	}
	return p
}

type result struct {
	code           int
	stdout, stderr string
}

func (p *practice) run(env []string, args ...string) result {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, carebookBin, args...)
	cmd.Env = append(append([]string{}, p.env...), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("carebook %v: %v", args, err)
	}
	return result{code, out.String(), errOut.String()}
}

func (p *practice) mustRun(args ...string) string {
	p.t.Helper()
	r := p.run(nil, args...)
	if r.code != 0 {
		p.t.Fatalf("carebook %v: exit %d\n%s", args, r.code, r.stderr)
	}
	return r.stdout
}

// snapshot is the practice's data, to prove nothing changed.
func (p *practice) snapshot() string {
	var b strings.Builder
	for _, e := range []string{"patients", "appointments", "interactions"} {
		b.WriteString(p.mustRun("export", e, "--format", "json"))
	}
	b.WriteString(p.mustRun("tag", "list"))
	return b.String()
}

// clearFailure is what a handled failure looks like: a short message, no
// Go internals.
func clearFailure(t *testing.T, what, stderr string) {
	t.Helper()
	msg := strings.TrimSpace(stderr)
	if msg == "" || strings.Contains(msg, "panic") || strings.Contains(msg, "goroutine ") || strings.Count(msg, "\n") > 12 {
		t.Errorf("%s failed without a clear message:\n%s", what, stderr)
	}
}

func TestAskAndRunAgainstRealServer(t *testing.T) {
	p := newPractice(t)
	before := p.snapshot()
	for _, req := range requests {
		start := time.Now()
		r := p.run(nil, "ask", req, "--json")
		t.Logf("ask %q: exit %d in %v", req, r.code, time.Since(start).Round(time.Millisecond))
		// Whatever the model chose is printed as JSON when it parsed as an
		// action (a refusal or a question included, which exit 1); anything
		// else must be a clear message on stderr.
		var out struct {
			Action json.RawMessage `json:"action"`
			Error  string          `json:"error"`
		}
		if json.Unmarshal([]byte(r.stdout), &out) == nil && len(out.Action) > 0 {
			a, err := tools.ParseAction(out.Action)
			if err != nil {
				t.Errorf("ask %q ran an action the validator rejects: %v\n%s", req, err, out.Action)
				continue
			}
			write := a.Tool == tools.ToolTag || a.Tool == tools.ToolUntag || a.Tool == tools.ToolLogInteraction
			if write && r.code == 0 {
				t.Errorf("ask %q wrote without --yes: %s", req, out.Action)
			}
			t.Logf("  the model chose %s; carebook: exit %d %s", a.Tool, r.code, out.Error)
			continue
		}
		clearFailure(t, "ask "+req, r.stderr)
		t.Logf("  handled: %s", strings.TrimSpace(r.stderr))
	}

	batch := filepath.Join(p.dir, "requests.txt")
	os.WriteFile(batch, []byte(strings.Join(requests, "\n")+"\n"), 0o600)
	r := p.run(nil, "run", batch, "--json")
	var report struct {
		Lines []struct {
			Line    int    `json:"line"`
			Status  string `json:"status"`
			Summary string `json:"summary"`
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &report.Lines); err != nil {
		t.Fatalf("run --json printed no report (exit %d): %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	if len(report.Lines) != len(requests) {
		t.Errorf("run reported %d lines, want %d: %s", len(report.Lines), len(requests), r.stdout)
	}
	for _, l := range report.Lines {
		t.Logf("run line %d: %s %s", l.Line, l.Status, l.Summary)
		if l.Status == "ok" && l.Summary != "" && strings.Contains(l.Summary, "Tagged") {
			t.Errorf("run line %d wrote without --yes: %s", l.Line, l.Summary)
		}
	}

	if after := p.snapshot(); after != before {
		t.Error("the practice's data changed without confirmation")
	}

	// The audit rows of model-made decisions carry the model and its digest.
	client, model := ollamaClient(t)
	tags, err := client.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	digest := ""
	for _, m := range tags.Models {
		if m.Name == model || m.Name == model+":latest" {
			digest = m.Digest
		}
	}
	var audit []map[string]any
	if err := json.Unmarshal([]byte(p.mustRun("audit", "log", "--json")), &audit); err != nil {
		t.Fatal(err)
	}
	withModel := 0
	for _, row := range audit {
		ch, _ := row["channel"].(string)
		if ch != "ask" && ch != "run" {
			continue
		}
		m, _ := row["model"].(string)
		d, _ := row["model_digest"].(string)
		if m == "" {
			continue // the model never answered (a refusal before the call)
		}
		withModel++
		if !strings.HasPrefix(m, model) || d == "" || !strings.Contains(digest, strings.TrimPrefix(d, "sha256:")) {
			t.Errorf("audit row %v: model %q digest %q, want %s %s", row["seq"], m, d, model, digest)
		}
	}
	if withModel == 0 {
		t.Error("no audit row carries the model")
	}
	if r := p.run(nil, "audit", "verify"); r.code != 0 {
		t.Errorf("audit verify: %s", r.stderr)
	}
}

// One REPL session in a real terminal: a read, then a request that may
// become a write, which is declined: nothing changes.
func TestREPLInPseudoTerminal(t *testing.T) {
	p := newPractice(t)
	before := p.snapshot()
	cmd := exec.Command(carebookBin)
	cmd.Env = p.env
	term := ptytest.Start(t, cmd)
	at := term.WaitFor(t, 0, "carebook> ", time.Minute)
	for _, req := range requests[:2] {
		term.Send(req + "\r")
		// The line editor redraws the prompt with every key: the answer
		// starts after the line is submitted.
		at = term.WaitFor(t, at, req+"\r\n", time.Minute)
		at = answerUntilPrompt(t, term, at)
	}
	term.Send("\x04")
	if err := term.Wait(30 * time.Second); err != nil {
		t.Fatalf("the REPL did not leave cleanly: %v\n%s", err, term.Screen())
	}
	screen := term.Screen()
	if strings.Contains(screen, "panic") || strings.Contains(screen, "goroutine ") {
		t.Errorf("the REPL crashed:\n%s", screen)
	}
	t.Logf("REPL screen:\n%s", screen)
	if after := p.snapshot(); after != before {
		t.Error("the practice's data changed although every confirmation was declined")
	}
}

// answerUntilPrompt declines whatever the REPL asks (a confirmation, a
// choice between namesakes) until it is back at its prompt.
func answerUntilPrompt(t *testing.T, term *ptytest.Terminal, mark int) int {
	t.Helper()
	deadline := time.Now().Add(8 * time.Minute)
	for time.Now().Before(deadline) {
		out := term.Screen()[mark:]
		switch {
		case strings.Contains(out, "[y/N]"):
			mark += strings.Index(out, "[y/N]") + len("[y/N]")
			term.Send("n\r")
			// Past the redraws of the prompt with the answer typed.
			mark = term.WaitFor(t, mark, "\r\n", time.Minute)
		case strings.Contains(out, "Enter to cancel"):
			mark += strings.Index(out, "Enter to cancel") + len("Enter to cancel")
			term.Send("\r")
			mark = term.WaitFor(t, mark, "\r\n", time.Minute)
		case strings.Contains(out, "carebook> "):
			return mark + strings.Index(out, "carebook> ") + len("carebook> ")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the REPL never came back to its prompt:\n%s", term.Screen()[mark:])
	return 0
}

// doctor reports the harness's server as local, with cloud disabled
// (OLLAMA_NO_CLOUD=1).
func TestDoctorAgainstRealServer(t *testing.T) {
	p := newPractice(t)
	r := p.run(nil, "doctor", "--json")
	var rep struct {
		Checks []struct{ Check, Status, Detail string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("doctor --json: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	got := map[string]string{}
	for _, c := range rep.Checks {
		got[c.Check] = c.Status + ": " + c.Detail
	}
	for check, want := range map[string]string{
		"ollama endpoint": "ok: ",
		"model":           "ok: ",
		"ollama cloud":    "ok: disabled",
	} {
		if !strings.HasPrefix(got[check], want) {
			t.Errorf("doctor %s = %q, want %q…", check, got[check], want)
		}
	}
	t.Logf("doctor: %v", got)
}

// A second server in front of the real one, whose /api/show says the model
// is remote, is refused before any chat: the guard lets loopback through,
// and the model check stops the cloud.
func TestRemoteModelIsRefused(t *testing.T) {
	p := newPractice(t)
	host, _ := ollamaEnv(t)
	upstream, _ := url.Parse(host)
	var chats atomic.Int64 // counted on the server's goroutines
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path != "/api/show" || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var show map[string]any
		json.Unmarshal(body, &show)
		show["remote_host"] = "https://ollama.com:443"
		show["remote_model"] = "gpt-oss:120b"
		body, _ = json.Marshal(show)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Del("Content-Length")
		return nil
	}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/chat" {
			chats.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()

	r := p.run([]string{"CAREBOOK_OLLAMA_HOST=" + front.URL}, "ask", requests[0])
	if r.code == 0 || !strings.Contains(r.stderr, "runs in Ollama's cloud") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if n := chats.Load(); n != 0 {
		t.Errorf("%d chats reached the remote model", n)
	}
	var audit []map[string]any
	json.Unmarshal([]byte(p.mustRun("audit", "log", "--json")), &audit)
	last := audit[len(audit)-1] // the audit log's own read is logged after it reads
	if last["outcome"] != "refused" || last["request"] != nil {
		t.Errorf("the refusal's audit row: %v", last)
	}
}
