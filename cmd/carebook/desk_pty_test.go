package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/carebook/carebook/internal/ptytest"
)

// TestDeskOnARealTerminal drives the built binary's plain commands through
// a real pseudo-terminal, where what they do depends on there being one
// (issue 14): forget asks for the MRN typed, a future log time gets its own
// question, a no-op write asks nothing, and export will not print a
// patient list into the scroll-back. Ollama is not running: none of this
// needs a model.
func TestDeskOnARealTerminal(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "carebook")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	env := append(os.Environ(), "CAREBOOK_DB="+filepath.Join(dir, "p.duckdb"), "CAREBOOK_NOW=2026-06-15T10:00:00Z",
		"CAREBOOK_OLLAMA_HOST=http://127.0.0.1:1", "CAREBOOK_SYSTEM_CONFIG="+filepath.Join(dir, "none.toml"), "TERM=xterm")
	setup := [][]string{{"init"}}
	for _, kind := range []string{"patients", "appointments", "interactions"} {
		setup = append(setup, []string{"import", kind, filepath.Join(fixtureDir, kind+".csv")})
	}
	for _, args := range setup {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	// session runs one command on the terminal: at each prompt it waits
	// for, it types the answer; it returns the screen and the exit code.
	session := func(t *testing.T, args []string, dialogue ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		term := ptytest.Start(t, cmd)
		at := 0
		for i := 0; i+1 < len(dialogue); i += 2 {
			at = term.WaitFor(t, at, dialogue[i], 20*time.Second)
			term.Send(dialogue[i+1])
		}
		err := term.Wait(30 * time.Second)
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		// Give the reader a moment to collect the last bytes.
		time.Sleep(50 * time.Millisecond)
		return term.Screen(), code
	}

	t.Run("the schedule", func(t *testing.T) {
		screen, code := session(t, []string{"appointments"})
		if code != 0 || !strings.Contains(screen, "PROVIDER") || !strings.Contains(screen, "2 appointments") {
			t.Errorf("exit %d:\n%s", code, screen)
		}
	})
	t.Run("a future time asks", func(t *testing.T) {
		screen, code := session(t, []string{"log", "P1003", "--channel", "call", "--summary", "Booked", "--at", "2026-06-20T10:00:00Z"},
			"That is in the future (2026-06-20 10:00). Log it anyway? [y/N] ", "n\r")
		if code != 1 || !strings.Contains(screen, "Not confirmed; nothing was done.") {
			t.Errorf("exit %d:\n%s", code, screen)
		}
	})
	t.Run("a no-op asks nothing", func(t *testing.T) {
		screen, code := session(t, []string{"tag", "add", "new-parent", "P1008"})
		if code != 0 || !strings.Contains(screen, "P1008 already has new-parent; nothing to do.") || strings.Contains(screen, "[y/N]") {
			t.Errorf("exit %d:\n%s", code, screen)
		}
	})
	t.Run("export refuses the scroll-back", func(t *testing.T) {
		screen, code := session(t, []string{"export", "patients", "--internal"})
		if code != 2 || !strings.Contains(screen, "-o -") || strings.Contains(screen, "Jon") {
			t.Errorf("exit %d:\n%s", code, screen)
		}
	})
	// Ctrl-C at a question stops the command there and then (not at the
	// next Enter), exits 130, writes nothing, and leaves the terminal as it
	// found it (cooked, echoing).
	interrupt := func(t *testing.T, args []string, prompt string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		term := ptytest.Start(t, cmd)
		term.WaitFor(t, 0, prompt, 20*time.Second)
		sent := time.Now()
		term.Send("\x03")
		err := term.Wait(10 * time.Second)
		took := time.Since(sent)
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 130 {
			t.Errorf("%v: Ctrl-C at the question: %v\n%s", args, err, term.Screen())
		}
		if took > 1500*time.Millisecond {
			t.Errorf("%v: exited %v after Ctrl-C; it waited for Enter", args, took)
		}
		if tio, err := unix.IoctlGetTermios(int(term.Master().Fd()), unix.TCGETS); err != nil {
			t.Errorf("termios: %v", err)
		} else if tio.Lflag&unix.ICANON == 0 || tio.Lflag&unix.ECHO == 0 {
			t.Errorf("%v: the terminal was left raw (lflag %#x)", args, tio.Lflag)
		}
		time.Sleep(50 * time.Millisecond)
		screen := term.Screen()
		if !strings.Contains(screen, "nothing was written") {
			t.Errorf("%v: no word that nothing was written:\n%s", args, screen)
		}
		return screen
	}
	plain := func(t *testing.T, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	t.Run("Ctrl-C at y/N", func(t *testing.T) {
		interrupt(t, []string{"tag", "add", "vip", "P1003"}, "[y/N] ")
		if out, _ := plain(t, "show", "P1003"); strings.Contains(out, "vip") {
			t.Errorf("tagged after Ctrl-C:\n%s", out)
		}
		out, _ := plain(t, "audit", "log", "--patient", "P1003")
		var last string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.Contains(line, "\ttag\t") {
				if strings.Contains(line, "\tok\t") {
					t.Errorf("a tag was written: %s", line)
				}
				last = line
			}
		}
		if !strings.Contains(last, "refused") {
			t.Errorf("the refusal is not in the audit log; its last tag row: %q", last)
		}
	})
	t.Run("Ctrl-C at the MRN", func(t *testing.T) {
		interrupt(t, []string{"forget", "P1004"}, "Type P1004 to confirm: ")
		if out, code := plain(t, "show", "P1004"); code != 0 {
			t.Errorf("forgotten after Ctrl-C: exit %d\n%s", code, out)
		}
	})
	t.Run("n is still an answer", func(t *testing.T) {
		screen, code := session(t, []string{"tag", "add", "vip", "P1003"}, "[y/N] ", "n\r")
		if code != 1 || !strings.Contains(screen, "Not confirmed; nothing was done.") {
			t.Errorf("exit %d:\n%s", code, screen)
		}
	})
	t.Run("forget wants the MRN typed", func(t *testing.T) {
		screen, code := session(t, []string{"forget", "Jon Smyth"}, "Type P1002 to confirm: ", "y\r")
		if code != 1 || !strings.Contains(screen, "Not confirmed") {
			t.Errorf("y: exit %d:\n%s", code, screen)
		}
		screen, code = session(t, []string{"forget", "Jon Smyth"}, "Type P1002 to confirm: ", "P1002\r")
		if code != 0 || !strings.Contains(screen, "Forgotten") {
			t.Errorf("MRN: exit %d:\n%s", code, screen)
		}
	})
}
