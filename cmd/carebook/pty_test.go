package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/carebook/carebook/internal/ollamatest"
)

const fixtureDir = "../../../shared/fixtures/clinic"

// openPTY opens a pseudo-terminal pair with the kernel's own ioctls, so the
// test needs no extra module.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	unlock := 0
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, m.Fd(), unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); errno != 0 {
		t.Fatalf("unlock pty: %v", errno)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	return m, s
}

// screen collects what the program writes to the terminal.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until the screen, after mark, shows want.
func (s *screen) waitFor(t *testing.T, mark int, want string) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out := s.String()
		if i := strings.Index(out[mark:], want); i >= 0 {
			return mark + i + len(want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the terminal never showed %q; it showed:\n%s", want, s.String()[mark:])
	return 0
}

// TestREPLInPseudoTerminal drives the real binary's REPL through a real
// terminal: line editing, history, completion, Ctrl-C and Ctrl-D.
func TestREPLInPseudoTerminal(t *testing.T) {
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skip("shared fixtures not found")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "carebook")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
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

	master, slave := openPTY(t)
	defer master.Close()
	cmd := exec.Command(bin) // no arguments on a terminal: the REPL
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	scr := &screen{}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			scr.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	send := func(keys string) { master.Write([]byte(keys)) }

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
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the REPL exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the REPL did not leave on Ctrl-D:\n%s", scr.String()[at:])
	}
}
