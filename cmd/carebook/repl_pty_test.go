package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carebook/carebook/internal/ollamatest"
	"github.com/carebook/carebook/internal/ptytest"
)

// ptyPractice is a practice with the fixture's patients and a scripted
// model, driven through the built binary.
type ptyPractice struct {
	t   *testing.T
	bin string
	dir string
	db  string
	srv *ollamatest.Server
	env []string
}

func newPTYPractice(t *testing.T, answers ...string) *ptyPractice {
	t.Helper()
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skip("shared fixtures not found")
	}
	dir := t.TempDir()
	p := &ptyPractice{t: t, bin: carebookBinary(t), dir: dir, db: filepath.Join(dir, "p.duckdb")}
	p.srv = ollamatest.New("tiny:latest", answers...)
	t.Cleanup(p.srv.Close)
	p.env = append(os.Environ(), "CAREBOOK_DB="+p.db, "CAREBOOK_NOW=2026-06-15T10:00:00Z",
		"CAREBOOK_OLLAMA_HOST="+p.srv.URL, "CAREBOOK_MODEL=tiny:latest", "TERM=xterm",
		"HOME="+dir, "XDG_CONFIG_HOME="+dir, "CAREBOOK_SYSTEM_CONFIG="+filepath.Join(dir, "none.toml"))
	p.mustRun("init")
	p.mustRun("import", "patients", filepath.Join(fixtureDir, "patients.csv"))
	return p
}

func (p *ptyPractice) command(args ...string) *exec.Cmd {
	cmd := exec.Command(p.bin, args...)
	cmd.Env = p.env
	return cmd
}

func (p *ptyPractice) mustRun(args ...string) string {
	p.t.Helper()
	out, err := p.command(args...).Output()
	if err != nil {
		p.t.Fatalf("carebook %v: %v", args, err)
	}
	return string(out)
}

// start runs carebook with args on a terminal.
func (p *ptyPractice) start(args ...string) (*ptytest.Terminal, waiter) {
	term := ptytest.Start(p.t, p.command(args...))
	return term, waiter{term}
}

func (p *ptyPractice) tagsOf(mrn string) []string {
	p.t.Helper()
	var rec struct{ Tags []string }
	json.Unmarshal([]byte(p.mustRun("show", mrn, "--json")), &rec)
	return rec.Tags
}

const tagJonSmyth = `{"tool":"tag","args":{"tag":"recall-due","patient":{"match":"Jon Smyth"}}}`

// While the model thinks, a terminal shows its name, the time so far and
// how to stop it; a pipe never does.
func TestSpinnerOnATerminalOnly(t *testing.T) {
	p := newPTYPractice(t, `{"tool":"query","args":{"entity":"patients","output":"count"}}`)
	p.srv.Delay = 1500 * time.Millisecond

	term, scr := p.start("ask", "how many patients")
	at := scr.waitFor(t, 0, "asking tiny:latest")
	at = scr.waitFor(t, at, "Ctrl-C to stop")
	scr.waitFor(t, at, "240")
	if err := term.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	// The same in a pipe: the answer, and nothing drawn.
	cmd := p.command("ask", "how many patients")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil || strings.TrimSpace(out.String()) != "240" {
		t.Fatalf("piped ask: %v, %q %q", err, out.String(), errOut.String())
	}
	if errOut.Len() != 0 {
		t.Errorf("a pipe got drawing on stderr: %q", errOut.String())
	}

	// A run of questions says which line it is at, and shows each answer.
	batch := filepath.Join(p.dir, "morning.txt")
	os.WriteFile(batch, []byte("how many patients\nhow many now\n"), 0o600)
	term, scr = p.start("run", batch, "--yes")
	at = scr.waitFor(t, 0, "line 1 of 2: asking tiny:latest")
	at = scr.waitFor(t, at, "Line 1: Count patients")
	at = scr.waitFor(t, at, "240")
	at = scr.waitFor(t, at, "line 2 of 2 (1 done, 0 failed")
	scr.waitFor(t, at, "Line 2: Count patients")
	if err := term.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	// A long batch of actions draws its progress.
	actions := filepath.Join(p.dir, "actions.jsonl")
	os.WriteFile(actions, []byte(strings.Repeat(`{"tool":"query","args":{"entity":"patients","output":"count"}}`+"\n", 30)), 0o600)
	term, scr = p.start("run", actions, "--yes")
	at = scr.waitFor(t, 0, "run  [")
	at = scr.waitFor(t, at, " of 30 lines: ")
	scr.waitFor(t, at, "Line 30: Count patients")
	if err := term.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// Keys typed while the model thinks never answer the preview's question:
// not a "y" pasted with the request (which the line editor reads ahead),
// nor one typed later.
func TestTypeAheadNeverAnswersAQuestion(t *testing.T) {
	p := newPTYPractice(t, tagJonSmyth)
	p.srv.Delay = 1500 * time.Millisecond
	term, scr := p.start()
	at := scr.waitFor(t, 0, "carebook> ")

	// Pasted in one go: the request, and a yes to a question not yet asked.
	term.Send("tag jon smyth recall-due\ry\r")
	at = scr.waitFor(t, at, "Go ahead? [y/N]")
	time.Sleep(700 * time.Millisecond)
	if strings.Contains(term.Screen()[at:], "Tagged") || slices.Contains(p.tagsOf("P1002"), "recall-due") {
		t.Fatal("a y typed ahead answered the question")
	}
	term.Send("n\r")
	at = scr.waitFor(t, at, "Not confirmed")
	at = scr.waitFor(t, at, "carebook> ")

	// Typed while the spinner turns.
	term.Send("tag jon smyth recall-due again\r")
	at = scr.waitFor(t, at, "Ctrl-C to stop")
	term.Send("y\r")
	at = scr.waitFor(t, at, "Go ahead? [y/N]")
	time.Sleep(700 * time.Millisecond)
	if strings.Contains(term.Screen()[at:], "Tagged") {
		t.Fatal("a y typed while the model thought answered the question")
	}
	term.Send("n\r")
	at = scr.waitFor(t, at, "carebook> ")
	term.Send("\x04")
	if err := term.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(p.tagsOf("P1002"), "recall-due") {
		t.Error("written without a yes typed to the question")
	}
}

// Tab completes what the slash commands take, and what it inserts they
// accept: a name without quotes, a tag, a channel, a status.
func TestCompletionInsertsWhatCommandsAccept(t *testing.T) {
	p := newPTYPractice(t)
	p.mustRun("import", "appointments", filepath.Join(fixtureDir, "appointments.csv"))
	term, scr := p.start()
	at := scr.waitFor(t, 0, "carebook> ")

	// Each completion is waited for on the screen, where the line editor
	// redraws the line with it.
	term.Send("/show Jon Sm\t")
	at = scr.waitFor(t, at, "/show Jon Smyth ")
	term.Send("\r")
	at = scr.waitFor(t, at, "MRN:        P1002")
	at = scr.waitFor(t, at, "carebook> ")

	term.Send("/tag add recall-d\t")
	at = scr.waitFor(t, at, "/tag add recall-due ")
	term.Send("P100\t")
	at = scr.waitFor(t, at, "P1009") // the MRNs offered
	term.Send("2\r")
	at = scr.waitFor(t, at, "Tag 1 patient as recall-due.")
	term.Send("n\r")
	at = scr.waitFor(t, at, "carebook> ")

	term.Send("/log Jon Smyth ca\t")
	at = scr.waitFor(t, at, "/log Jon Smyth call ")
	term.Send("Left a voicemail\r")
	at = scr.waitFor(t, at, `Log an outbound call for 1 patient at 2026-06-15 10:00: "Left a voicemail".`)
	term.Send("n\r")
	at = scr.waitFor(t, at, "carebook> ")

	term.Send("/patients --status dec\t")
	at = scr.waitFor(t, at, "--status deceased ")
	term.Send("\r")
	at = scr.waitFor(t, at, "deceased")
	at = scr.waitFor(t, at, "carebook> ")

	// Today's schedule, with no model running.
	term.Send("/appoi\t")
	at = scr.waitFor(t, at, "/appointments ")
	term.Send("\r")
	at = scr.waitFor(t, at, "2 appointments")
	at = scr.waitFor(t, at, "carebook> ")
	term.Send("exit\r")
	if err := term.Wait(10 * time.Second); err != nil {
		t.Fatalf("exit did not leave: %v", err)
	}
}

// A session left idle locks: the screen is cleared of the patient data
// on it, Enter unlocks (an OS account that is one staff member, direct
// mode), and the lock and the unlock are in the audit log. One left at a
// question is declined.
func TestIdleLogoffLocksAndClearsTheScreen(t *testing.T) {
	p := newPTYPractice(t)
	os.WriteFile(filepath.Join(p.dir, "carebook.toml"), []byte("idle_logoff = \"2s\"\n"), 0o600)
	term, scr := p.start()
	at := scr.waitFor(t, 0, "carebook> ")
	term.Send("/show Jon Smyth\r")
	at = scr.waitFor(t, at, "Jon Smyth")
	at = scr.waitFor(t, at, "carebook> ")

	at = scr.waitFor(t, at, "\033[H\033[2J\033[3J")
	cleared := at
	at = scr.waitFor(t, at, "Carebook locked itself after 2s")
	at = scr.waitFor(t, at, "Press Enter to go on")
	time.Sleep(2500 * time.Millisecond) // locked stays locked
	if after := term.Screen()[cleared:]; strings.Contains(after, "Jon Smyth") || strings.Contains(after, "P1002") || strings.Count(after, "locked itself") != 1 {
		t.Fatalf("after the lock the screen shows:\n%s", after)
	}
	term.Send("\r")
	at = scr.waitFor(t, at, "Unlocked.")
	at = scr.waitFor(t, at, "carebook> ")

	// Left at a question: declined, then locked.
	term.Send("/tag add recall-due P1002\r")
	at = scr.waitFor(t, at, "Go ahead? [y/N]")
	at = scr.waitFor(t, at, "Carebook locked itself")
	term.Send("\r")
	at = scr.waitFor(t, at, "Unlocked.")
	scr.waitFor(t, at, "carebook> ")
	term.Send("\x04")
	if err := term.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(p.tagsOf("P1002"), "recall-due") {
		t.Error("a question left at the lock was answered")
	}

	var rows []struct{ Channel, Action, Outcome string }
	if err := json.Unmarshal([]byte(p.mustRun("audit", "log", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	var locks, unlocks, declined int
	for _, r := range rows {
		switch {
		case r.Channel == "session" && strings.Contains(r.Action, `"lock"`):
			locks++
		case r.Channel == "session" && strings.Contains(r.Action, `"unlock"`):
			unlocks++
		case strings.Contains(r.Action, `"tag"`) && r.Outcome == "refused":
			declined++
		}
	}
	if locks != 2 || unlocks != 2 || declined != 1 {
		t.Errorf("audit: %d locks, %d unlocks, %d declined; want 2, 2 and 1", locks, unlocks, declined)
	}
}
