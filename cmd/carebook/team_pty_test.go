package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/carebook/carebook/internal/ptytest"
)

// Ctrl-C at the PIN a shared account's --staff asks for stops the command
// there and then (not at the next Enter), exits 130, and leaves the
// terminal echoing again: the PIN was being read without echo.
func TestTeamCtrlCAtThePIN(t *testing.T) {
	tm := newTeam(t)
	tm.serve()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	// A second member on this OS account makes it shared: a PIN is asked.
	if r := tm.clientEnv(nil, "222222\n", "staff", "add", "Desk", "--role", "front-desk", "--os-user", me.Username, "--pin"); r.code != 0 {
		t.Fatalf("staff add Desk: %s", r)
	}
	cmd := exec.Command(tm.bin, "--server", tm.socket, "--staff", "Desk", "patients")
	cmd.Env = append(append([]string{}, tm.env...), "TERM=xterm")
	term := ptytest.Start(t, cmd)
	term.WaitFor(t, 0, "PIN: ", 20*time.Second)
	sent := time.Now()
	term.Send("\x03")
	err = term.Wait(10 * time.Second)
	took := time.Since(sent)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("Ctrl-C at the PIN: %v\n%s", err, term.Screen())
	}
	if took > 1500*time.Millisecond {
		t.Errorf("exited %v after Ctrl-C; it waited for Enter", took)
	}
	if tio, err := unix.IoctlGetTermios(int(term.Master().Fd()), unix.TCGETS); err != nil {
		t.Errorf("termios: %v", err)
	} else if tio.Lflag&unix.ICANON == 0 || tio.Lflag&unix.ECHO == 0 {
		t.Errorf("the terminal was left without echo (lflag %#x)", tio.Lflag)
	}
	time.Sleep(50 * time.Millisecond)
	if screen := term.Screen(); !strings.Contains(screen, "nothing was written") {
		t.Errorf("no word that nothing was written:\n%s", screen)
	}
}

// The server's idle lock can come before the REPL's own (the REPL counts
// keys, the server requests: someone typing slowly, a laptop that slept).
// The REPL then locks as it would itself, clears the screen, asks for
// Enter (this account is one staff member), and the refused request runs
// once unlocked: a read, a write, which is done once, and a request to
// the model.
func TestTeamREPLUnlocksTheServersIdleLock(t *testing.T) {
	tm := newTeam(t)
	if err := os.WriteFile(filepath.Join(tm.dir, "carebook.toml"), []byte("idle_logoff = \"2s\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tm.serve()
	cmd := exec.Command(tm.bin, "--server", tm.socket)
	cmd.Env = append(append([]string{}, tm.env...), "TERM=xterm")
	term := ptytest.Start(t, cmd)
	scr := waiter{term}
	// slowly types line a key at a time, never idle long enough for the
	// REPL's lock but long enough for the server's.
	slowly := func(line string) {
		start := time.Now()
		for i, k := range line {
			term.Send(string(k))
			if i < len(line)-1 {
				time.Sleep(max(0, 3*time.Second-time.Since(start)) / time.Duration(len(line)-1-i))
			}
		}
		term.Send("\r")
	}
	at := scr.waitFor(t, 0, "carebook> ")

	slowly("/show P1002")
	at = scr.waitFor(t, at, "carebook serve locked this session after 2s")
	at = scr.waitFor(t, at, "Press Enter to go on")
	term.Send("\r")
	at = scr.waitFor(t, at, "Unlocked.")
	at = scr.waitFor(t, at, "Jon Smyth")
	at = scr.waitFor(t, at, "carebook> ")

	slowly("/tag add recall-due P1002")
	at = scr.waitFor(t, at, "carebook serve locked this session")
	at = scr.waitFor(t, at, "Press Enter to go on")
	term.Send("\r")
	at = scr.waitFor(t, at, "Unlocked.")
	at = scr.waitFor(t, at, "[y/N]")
	term.Send("y\r")
	at = scr.waitFor(t, at, "carebook> ")

	// A request to the model: its spinner waits while the unlock asks.
	slowly("how many patients")
	at = scr.waitFor(t, at, "carebook serve locked this session")
	asked := scr.waitFor(t, at, "Press Enter to go on")
	time.Sleep(600 * time.Millisecond)
	if after := term.Screen()[asked:]; strings.Contains(after, "asking") {
		t.Errorf("the spinner drew over the unlock:\n%q", after)
	}
	term.Send("\r")
	at = scr.waitFor(t, asked, "Unlocked.")
	at = scr.waitFor(t, at, "240")
	scr.waitFor(t, at, "carebook> ")
	if strings.Contains(term.Screen(), "refused: this session locked itself") {
		t.Errorf("the server's refusal was shown:\n%s", term.Screen())
	}
	term.Send("\x04")
	if err := term.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	var rec struct{ Tags []string }
	json.Unmarshal([]byte(tm.mustClient("show", "P1002", "--json")), &rec)
	if !slices.Contains(rec.Tags, "recall-due") {
		t.Errorf("P1002's tags after the unlock: %v", rec.Tags)
	}
	var tagged int
	for _, row := range tm.auditLog("--patient", "P1002") {
		if actionTool(row.Action) == "tag" && row.Outcome == "ok" {
			tagged++
		}
	}
	if tagged != 1 {
		t.Errorf("%d tag rows for P1002, want 1", tagged)
	}
}
