package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/carebook/carebook/internal/ollamatest"
	"github.com/carebook/carebook/internal/ptytest"
)

const fixtureDir = "../../eval/testdata/clinic"

// TestREPLInPseudoTerminal drives the real binary's REPL through a real
// terminal: line editing, history, completion, Ctrl-C and Ctrl-D.
func TestREPLInPseudoTerminal(t *testing.T) {
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skip("shared fixtures not found")
	}
	dir := t.TempDir()
	bin := carebookBinary(t)
	db := filepath.Join(dir, "p.duckdb")
	srv := ollamatest.New("tiny:latest", `{"tool":"query","args":{"entity":"patients","output":"count"}}`)
	defer srv.Close()
	env := append(os.Environ(), "CAREBOOK_DB="+db, "CAREBOOK_NOW=2026-06-15T10:00:00Z",
		"CAREBOOK_OLLAMA_HOST="+srv.URL, "CAREBOOK_MODEL=tiny:latest", "TERM=xterm")
	for _, args := range [][]string{{"init"}, {"import", "patients", filepath.Join(fixtureDir, "patients.csv")}} {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}

	cmd := exec.Command(bin) // no arguments on a terminal: the REPL
	cmd.Env = env
	term := ptytest.Start(t, cmd)
	send := term.Send
	scr := waiter{term}

	at := scr.waitFor(t, 0, "carebook> ")
	send("/tags\r")
	at = scr.waitFor(t, at, "refill-overdue")
	at = scr.waitFor(t, at, "carebook> ")

	// History: Up brings back /tags.
	send("\x1b[A\r")
	at = scr.waitFor(t, at, "refill-overdue")
	at = scr.waitFor(t, at, "carebook> ")

	// Completion: a slash command, then a tag name. The screen is redrawn
	// piecemeal, so the proof is what runs.
	send("/sh\t")
	time.Sleep(300 * time.Millisecond)
	send("P1002\r")
	at = scr.waitFor(t, at, "Jon Smyth")
	at = scr.waitFor(t, at, "carebook> ")
	send("/patients --tag refill-ov\t")
	time.Sleep(300 * time.Millisecond)
	send("\r")
	at = scr.waitFor(t, at, "39 patients")
	at = scr.waitFor(t, at, "carebook> ")

	// Ctrl-C at the prompt clears the line and keeps the session.
	send("half a line\x03")
	at = scr.waitFor(t, at, "carebook> ")

	// Ctrl-C while the model thinks cancels the request, not the session.
	srv.Block = true
	send("how many patients\r")
	deadline := time.Now().Add(10 * time.Second)
	for srv.ChatCount() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	send("\x03")
	at = scr.waitFor(t, at, "Cancelled; nothing was written.")
	srv.Block = false
	send("how many patients\r")
	at = scr.waitFor(t, at, "240")

	// Ctrl-D leaves with status 0.
	at = scr.waitFor(t, at, "carebook> ")
	send("\x04")
	if err := term.Wait(10 * time.Second); err != nil {
		t.Fatalf("the REPL did not leave cleanly on Ctrl-D (%v):\n%s", err, term.Screen()[at:])
	}
}

// waiter keeps the test's waits short: everything here is local.
type waiter struct{ *ptytest.Terminal }

func (w waiter) waitFor(t *testing.T, mark int, want string) int {
	t.Helper()
	return w.WaitFor(t, mark, want, 20*time.Second)
}
