// Package ptytest runs a program in a real pseudo-terminal for tests, with
// the kernel's own ioctls (no extra module): what it prints is collected,
// and keys are typed into it.
package ptytest

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Terminal is a program running on a pseudo-terminal.
type Terminal struct {
	Cmd    *exec.Cmd
	master *os.File
	mu     sync.Mutex
	buf    bytes.Buffer
}

// Open opens a pseudo-terminal pair, skipping the test where there is none.
func Open(t *testing.T) (master, slave *os.File) {
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

// Start runs cmd with the terminal as its controlling terminal and stdio.
func Start(t *testing.T, cmd *exec.Cmd) *Terminal {
	t.Helper()
	master, slave := Open(t)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	term := &Terminal{Cmd: cmd, master: master}
	t.Cleanup(func() {
		master.Close()
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			term.mu.Lock()
			term.buf.Write(b[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return term
}

// Master is the terminal's side the test holds, for asking the kernel
// about the terminal's modes after the program is gone.
func (term *Terminal) Master() *os.File { return term.master }

// Send types keys.
func (term *Terminal) Send(keys string) { term.master.Write([]byte(keys)) }

// Screen is everything printed so far.
func (term *Terminal) Screen() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.buf.String()
}

// WaitFor waits until the screen, after mark, shows want, and returns the
// mark after it.
func (term *Terminal) WaitFor(t *testing.T, mark int, want string, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		out := term.Screen()
		if i := strings.Index(out[mark:], want); i >= 0 {
			return mark + i + len(want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the terminal never showed %q; it showed:\n%s", want, term.Screen()[mark:])
	return 0
}

// Wait waits for the program to exit.
func (term *Terminal) Wait(timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- term.Cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		term.Cmd.Process.Kill()
		return <-done
	}
}
