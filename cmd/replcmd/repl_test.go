package replcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
)

// lockedBackend is a server's session as the REPL sees it: an OS account
// shared by several staff, so that unlocking takes the PIN.
type lockedBackend struct {
	backend.Backend // what the test does not use
	mu              sync.Mutex
	locks           int
	pins            []string
}

func (b *lockedBackend) Info(context.Context) (*backend.Info, error) {
	return &backend.Info{Mode: "server", Server: "/run/carebook.sock", Staff: "Ann", Role: "clinician", Model: "m",
		IdleLogoff: 300 * time.Millisecond, NeedsPIN: true}, nil
}
func (b *lockedBackend) Tags(context.Context) ([]backend.TagCount, error) { return nil, nil }
func (b *lockedBackend) MyTasks(context.Context) (*backend.TaskCounts, error) {
	return &backend.TaskCounts{}, nil
}
func (b *lockedBackend) Lock(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.locks++
	return nil
}
func (b *lockedBackend) Unlock(_ context.Context, req backend.UnlockRequest) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pins = append(b.pins, req.PIN)
	if req.PIN != "246810" {
		return &backend.AuthError{Msg: "refused: wrong PIN for Ann (1 of 5 tries before a 15-minute lockout)"}
	}
	return nil
}

// syncBuffer is written by the session and read by the test.
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

func waitFor(t *testing.T, buf *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(buf.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("never showed %q:\n%s", want, buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A wrong PIN keeps the session locked; the right one unlocks it. The
// backend is told of the lock, and of every PIN tried.
func TestLockWantsThePIN(t *testing.T) {
	keysR, keysW := io.Pipe()
	var out, errOut syncBuffer
	ios, _, _, _ := cmdutil.Test()
	ios.In, ios.Out, ios.ErrOut = io.NopCloser(keysR), &out, &errOut
	ios.SetStdinTTY(true)
	ios.SetStdoutTTY(true)
	b := &lockedBackend{}
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), &Options{IO: ios, Interrupts: make(chan os.Signal),
			Backend: func(context.Context) (backend.Backend, error) { return b, nil }})
	}()
	waitFor(t, &out, "Carebook locked itself after 300ms")
	waitFor(t, &out, "PIN for Ann")
	io.WriteString(keysW, "135790\r")
	waitFor(t, &errOut, "wrong PIN for Ann")
	if strings.Contains(out.String(), "Unlocked") {
		t.Fatal("a wrong PIN unlocked the session")
	}
	io.WriteString(keysW, "246810\r")
	waitFor(t, &out, "Unlocked.")
	if strings.Contains(out.String(), "246810") {
		t.Error("the PIN was shown")
	}
	keysW.Write([]byte{4})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end on Ctrl-D")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.locks < 1 || !slices.Equal(b.pins[:2], []string{"135790", "246810"}) {
		t.Errorf("locks %d, PINs tried %v", b.locks, b.pins)
	}
}

// plainBackend is a direct-mode session, as far as the banner and the
// greeting go.
type plainBackend struct {
	backend.Backend // what the test does not use
}

func (plainBackend) Info(context.Context) (*backend.Info, error) {
	return &backend.Info{Mode: "direct", Database: "/srv/practice.duckdb", OSUser: "ann", Model: "m"}, nil
}
func (plainBackend) Tags(context.Context) ([]backend.TagCount, error) { return nil, nil }
func (plainBackend) MyTasks(context.Context) (*backend.TaskCounts, error) {
	return &backend.TaskCounts{}, nil
}

// A warm-up that outlasts the banner is said to be under way, and its end
// is said when it comes: above the prompt at once, or, while a command
// writes its output, after that output.
func TestWarmUpIsSaidWhenDone(t *testing.T) {
	for _, c := range []struct {
		name   string
		busy   bool
		result error
		want   string
	}{
		{"at the prompt", false, errors.New("Ollama is not running at http://127.0.0.1:11434"), "The model is not answering (Ollama is not running at http://127.0.0.1:11434)"},
		{"while a command runs", true, nil, "The model m is ready."},
	} {
		t.Run(c.name, func(t *testing.T) {
			keysR, keysW := io.Pipe()
			var out, errOut syncBuffer
			ios, _, _, _ := cmdutil.Test()
			ios.In, ios.Out, ios.ErrOut = io.NopCloser(keysR), &out, &errOut
			ios.SetStdinTTY(true)
			ios.SetStdoutTTY(true)
			release := make(chan error)
			running, finish := make(chan struct{}), make(chan struct{})
			done := make(chan error, 1)
			go func() {
				done <- Run(context.Background(), &Options{IO: ios, Interrupts: make(chan os.Signal),
					Backend:   func(context.Context) (backend.Backend, error) { return plainBackend{}, nil },
					WarmModel: func(context.Context, backend.Backend) error { return <-release },
					RunCommand: func(context.Context, []string) error {
						close(running)
						<-finish
						fmt.Fprintln(ios.Out, "the command's output")
						return nil
					}})
			}()
			waitFor(t, &out, "The model m is warming up; you can type already.")
			if c.busy {
				io.WriteString(keysW, "/tags\r")
				<-running
			}
			release <- c.result
			if c.busy {
				time.Sleep(200 * time.Millisecond) // the line comes now, and waits
				if strings.Contains(out.String(), c.want) {
					t.Error("the line was written in the middle of the command's output")
				}
				close(finish)
			}
			waitFor(t, &out, c.want)
			if c.busy && strings.Index(out.String(), c.want) < strings.Index(out.String(), "the command's output") {
				t.Errorf("the line came before the command's output:\n%s", out.String())
			}
			keysW.Write([]byte{4})
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the session did not end on Ctrl-D")
			}
		})
	}
}
