//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carebook/carebook/internal/ptytest"
)

// Slash commands typed as people type them, no quotes around a name, in
// a real terminal against the real server; every change is declined.
func TestREPLSlashCommandsWithoutQuotes(t *testing.T) {
	p := newPractice(t)
	before := p.snapshot()
	cmd := exec.Command(carebookBin)
	cmd.Env = p.env
	term := ptytest.Start(t, cmd)
	// The banner says the model is ready once the warm-up is done, above
	// the prompt when it takes more than a second.
	at := term.WaitFor(t, 0, " is ready.", time.Minute)
	at = term.WaitFor(t, at, "carebook> ", time.Minute)
	step := func(keys string, wants ...string) {
		t.Helper()
		term.Send(keys)
		for _, w := range wants {
			at = term.WaitFor(t, at, w, time.Minute)
		}
	}
	step("/show Jon Smyth\r", "MRN:        P1002", "carebook> ")
	step("/tag add flu-2026 Jon Smyth\r", "P1002  Jon Smyth", "[y/N]") // the fixture has him vip already
	step("n\r", "Not confirmed", "carebook> ")
	step("/log P1003 call Left a voicemail\r", `Log an outbound call for 1 patient at 2026-06-15 10:00: "Left a voicemail".`, "[y/N]")
	step("n\r", "carebook> ")
	step("/show John Smith\r", "2 patients match. Which one?", "Number (1-2")
	step("2\r", "MRN:        P1001", "carebook> ")
	// A request in plain language, whatever the model makes of it.
	term.Send(requests[0] + "\r")
	at = term.WaitFor(t, at, requests[0]+"\r\n", time.Minute)
	at = answerUntilPrompt(t, term, at)
	term.Send("exit\r")
	if err := term.Wait(30 * time.Second); err != nil {
		t.Fatalf("exit did not leave: %v\n%s", err, term.Screen())
	}
	if after := p.snapshot(); after != before {
		t.Error("the practice's data changed although every change was declined")
	}
}

// A run of questions shows each answer the model's action gave, under its
// line number; what the model declined is not counted as failed.
func TestRunOfQuestionsShowsAnswers(t *testing.T) {
	p := newPractice(t)
	questions := []string{
		"how many patients have diabetes",
		"who has a birthday in June",
		"how many appointments were no-shows this year",
		"list the patients tagged vip",
	}
	batch := filepath.Join(p.dir, "questions.txt")
	os.WriteFile(batch, []byte(strings.Join(questions, "\n")+"\n"), 0o600)
	r := p.run(nil, "run", batch, "--json")
	var report []struct {
		Line    int
		Status  string
		Summary string
		Result  *struct {
			Kind     string
			Count    int
			Patients []struct{ MRN string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil || len(report) != len(questions) {
		t.Fatalf("run --json (exit %d): %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	human := p.run(nil, "run", batch)
	answered := 0
	for _, l := range report {
		t.Logf("line %d: %s %s", l.Line, l.Status, l.Summary)
		if l.Status == "failed" && (strings.HasPrefix(l.Summary, "Carebook asks:") || strings.HasPrefix(l.Summary, "Carebook won't do this:")) {
			t.Errorf("line %d: the model's sentence counted as a failure", l.Line)
		}
		if l.Status != "ok" || l.Result == nil {
			continue
		}
		answered++
		head := "Line " + strconv.Itoa(l.Line) + ": "
		i := strings.Index(human.stdout, head)
		if i < 0 {
			t.Errorf("line %d's answer is not shown:\n%s", l.Line, human.stdout)
			continue
		}
		shown := human.stdout[i:]
		switch {
		case l.Result.Kind == "count" && !strings.Contains(shown, "\n"+strconv.Itoa(l.Result.Count)+"\n"):
			t.Errorf("line %d: the count %d is not shown:\n%s", l.Line, l.Result.Count, shown)
		case len(l.Result.Patients) > 0 && !strings.Contains(shown, l.Result.Patients[0].MRN):
			t.Errorf("line %d: the patients are not shown:\n%s", l.Line, shown)
		}
	}
	t.Logf("%d of %d questions answered by the tiny model's actions", answered, len(questions))
	if strings.Contains(human.stderr, "failed") != strings.Contains(r.stdout, `"status": "failed"`) {
		t.Errorf("the summary and the report disagree on failures: %q", human.stderr)
	}

	// The tiny model's random answers seldom make a valid query, so the
	// same run again with each chat's answer replaced on its way back
	// from the real server by a count: every line's answer must show.
	host, _ := ollamaEnv(t)
	front := answeringProxy(t, host, `{"tool":"query","args":{"entity":"patients","output":"count"}}`)
	human = p.run([]string{"CAREBOOK_OLLAMA_HOST=" + front}, "run", batch)
	if human.code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", human.code, human.stdout, human.stderr)
	}
	for i := range questions {
		if want := "Line " + strconv.Itoa(i+1) + ": Count patients\n240\n"; !strings.Contains(human.stdout, want) {
			t.Errorf("the answer of line %d is not shown:\n%s", i+1, human.stdout)
		}
	}
}

// answeringProxy stands in front of the real server and replaces the
// content of each chat answer with answer; everything else is the real
// server's.
func answeringProxy(t *testing.T, host, answer string) string {
	t.Helper()
	upstream, _ := url.Parse(host)
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path != "/api/chat" || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var chat map[string]any
		if err := json.Unmarshal(body, &chat); err == nil {
			if msg, ok := chat["message"].(map[string]any); ok {
				msg["content"] = answer
			}
			body, _ = json.Marshal(chat)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Del("Content-Length")
		return nil
	}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	return front.URL
}

// The spinner appears on a terminal while the model thinks, and never in
// a pipe. A proxy in front of the real server holds each chat a moment, so
// that the model is seen thinking however fast the tiny one is.
func TestSpinnerOnATerminalNeverInAPipe(t *testing.T) {
	p := newPractice(t)
	host, model := ollamaEnv(t)
	upstream, _ := url.Parse(host)
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/chat" {
			time.Sleep(1500 * time.Millisecond)
		}
		proxy.ServeHTTP(w, r)
	}))
	defer slow.Close()
	env := append(append([]string{}, p.env...), "CAREBOOK_OLLAMA_HOST="+slow.URL)

	cmd := exec.Command(carebookBin, "ask", requests[0])
	cmd.Env = env
	term := ptytest.Start(t, cmd)
	at := term.WaitFor(t, 0, "asking "+model, time.Minute)
	term.WaitFor(t, at, "Ctrl-C to stop", time.Minute)
	term.Wait(5 * time.Minute)

	cmd = exec.Command(carebookBin, "ask", requests[0])
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Run()
	if strings.Contains(errOut.String(), "Ctrl-C to stop") || strings.ContainsAny(errOut.String(), "\r\x1b") {
		t.Errorf("a pipe got the spinner: %q", errOut.String())
	}
	t.Logf("piped ask: stdout %q, stderr %q", out.String(), errOut.String())
}
