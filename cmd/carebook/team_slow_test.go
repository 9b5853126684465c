package main

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// slowModel is how long the scripted model takes to answer: a small
// machine's model on a long request.
const slowModel = 20 * time.Second

// TestSlowModelBlocksNobody: while one request waits on a slow model,
// another staff member's `patients` answers at once (and so does a
// write), through the server and in direct mode (two processes on the
// file): nothing holds the database while the model thinks.
func TestSlowModelBlocksNobody(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 20 s on the model")
	}
	for _, mode := range []string{"server", "direct"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			tm := newTeam(t)
			run := tm.direct
			var ask *exec.Cmd
			if mode == "server" {
				tm.serve()
				run = tm.client
				ask = exec.Command(tm.bin, "--server", tm.socket, "ask", "how many patients are there")
				ask.Env = tm.env
			} else {
				ask = exec.Command(tm.bin, "--db", tm.db, "ask", "how many patients are there")
				ask.Env = tm.serveEnv
			}
			tm.ollama.SetDelay(slowModel)
			var askOut syncBuffer
			ask.Stdout, ask.Stderr = &askOut, &askOut
			start := time.Now()
			if err := ask.Start(); err != nil {
				t.Fatal(err)
			}
			for tm.ollama.ChatCount() == 0 {
				if time.Since(start) > 30*time.Second {
					t.Fatalf("the request never reached the model:\n%s", askOut.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			for _, args := range [][]string{
				{"patients", "--tag", "vip", "--limit", "5"},
				{"tag", "add", "called-back", "P1002", "--yes"},
				{"patients", "--tag", "called-back"},
			} {
				r := run(args...)
				if r.code != 0 {
					t.Fatalf("%s while the model thinks: %s", strings.Join(args, " "), r)
				}
				if r.took > time.Second {
					t.Errorf("%s took %v while another request waited on the model; want under 1 s", strings.Join(args, " "), r.took)
				}
				t.Logf("%s: %v", strings.Join(args, " "), r.took.Round(time.Millisecond))
			}
			if err := ask.Wait(); err != nil {
				t.Fatalf("the slow request failed: %v\n%s", err, askOut.String())
			}
			if took := time.Since(start); took < slowModel {
				t.Fatalf("the request took %v: the model was not slow, and the test proves nothing", took)
			}
			if !strings.Contains(askOut.String(), "240") {
				t.Errorf("the slow request's answer: %s", askOut.String())
			}
			if mode == "server" {
				if code := tm.stop(syscall.SIGTERM); code != 0 {
					t.Errorf("carebook serve exited %d", code)
				}
			}
		})
	}
}
