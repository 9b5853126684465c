package root

import (
	"context"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/replcmd"
)

// repl runs a REPL session on streams that pretend to be a terminal, with
// keys typed from script, and returns what it printed.
func (p *practice) repl(keys io.Reader, interrupts chan os.Signal) (stdout, stderr string, err error) {
	p.t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	ios.In = io.NopCloser(keys)
	ios.SetStdinTTY(true)
	ios.SetStdoutTTY(true)
	f := &cmdutil.Factory{IOStreams: ios, Version: "test", Getenv: func(k string) string { return p.env[k] }, DBFlag: p.db}
	opts := replcmd.NewOptions(f, slashRunner(f))
	opts.Interrupts = interrupts
	err = replcmd.Run(context.Background(), opts)
	return out.String(), errOut.String(), err
}

func TestREPLSession(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	srv := p.withModel(countDiabetes, tagJohnSmith)
	keys := strings.Join([]string{
		"/help",
		"/show P1002",
		"how many patients have diabetes",
		"tag John Smith recall-due",
		"2", // which John Smith
		"y", // go ahead
		"/tag add flu-2026 P1003",
		"n",
		"/nosuch",
		`/log "Jon Smyth" --channel call --summary "Left a message"`,
		"y",
		"/bye",
	}, "\r") + "\r"
	stdout, stderr, err := p.repl(strings.NewReader(keys), make(chan os.Signal))
	if err != nil {
		t.Fatalf("repl: %v\n%s", err, stderr)
	}
	for _, want := range []string{
		"/tag add|remove TAG PATIENT...", // help
		"Jon Smyth",                      // /show
		"27",                             // the query
		"2) P1001  John Smith  born 1990-11-20",
		"Tagged 1 patient as recall-due",
		"Logged outbound call for 1 patient",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("REPL output lacks %q", want)
		}
	}
	if !strings.Contains(stderr, "there is no /nosuch") || !strings.Contains(stderr, "Cancelled") {
		t.Errorf("stderr %q", stderr)
	}
	if srv.ChatCount() != 2 {
		t.Errorf("%d chats, want 2", srv.ChatCount())
	}
	if !slices.Contains(p.tagsOf("P1001"), "recall-due") || slices.Contains(p.tagsOf("P1000"), "recall-due") {
		t.Error("the chosen John Smith was not the one tagged")
	}
	if slices.Contains(p.tagsOf("P1003"), "flu-2026") {
		t.Error("declined /tag add was written")
	}
}

// TestREPLCtrlCStopsRequestInFlight: Ctrl-C while the model is thinking
// cancels that request and keeps the session.
func TestREPLCtrlCStopsRequestInFlight(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	srv := p.withModel(countDiabetes)
	srv.Block = true
	keysR, keysW := io.Pipe()
	interrupts := make(chan os.Signal, 1)
	done := make(chan struct{})
	var stdout, stderr string
	var err error
	go func() {
		stdout, stderr, err = p.repl(keysR, interrupts)
		close(done)
	}()
	io.WriteString(keysW, "how many patients have diabetes\r")
	deadline := time.Now().Add(10 * time.Second)
	for srv.ChatCount() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	interrupts <- os.Interrupt
	// The session goes on: a slash command still works.
	io.WriteString(keysW, "/tags\r")
	time.Sleep(200 * time.Millisecond)
	keysW.Write([]byte{4}) // Ctrl-D
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the REPL did not end on Ctrl-D")
	}
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "Cancelled; nothing was written") {
		t.Errorf("stderr %q", stderr)
	}
	if !strings.Contains(stdout, "diabetes") || !strings.Contains(stdout, "27") {
		t.Errorf("/tags after the cancel did not run: %q", stdout)
	}
}
