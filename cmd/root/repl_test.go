package root

import (
	"context"
	"encoding/json"
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
		"/tag add|remove TAG PATIENT[, PATIENT…]", // help
		"Jon Smyth", // /show
		"27",        // the query
		"2) P1001  John Smith  born 1990-11-20",
		"Tagged 1 patient as recall-due",
		"Logged outbound call for 1 patient",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("REPL output lacks %q", want)
		}
	}
	if !strings.Contains(stderr, "there is no /nosuch") || !strings.Contains(stderr, "Not confirmed; nothing was done.") {
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

// replKeys runs a REPL session on keys typed all at once.
func (p *practice) replKeys(lines ...string) (stdout, stderr string) {
	p.t.Helper()
	stdout, stderr, err := p.repl(strings.NewReader(strings.Join(lines, "\r")+"\r"), make(chan os.Signal))
	if err != nil {
		p.t.Fatalf("repl: %v\n%s", err, stderr)
	}
	return stdout, stderr
}

// Slash commands take the rest of the line as people type it: no quotes
// around a name, the log's channel and summary without flags.
func TestREPLSlashCommandsTakeTheRestOfTheLine(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	stdout, stderr := p.replKeys(
		"/show Jon Smyth",
		"/tag add recall-due Jon Smyth", "y",
		"/tag add flu-2026 P1000, María José García-López, Sean O'Brien", "y",
		"/log P1002 call Left a voicemail", "y",
		"/patients Smyth --limit 5",
		"/bye",
	)
	for _, want := range []string{
		"Name:       Jon Smyth", "MRN:        P1002",
		"Tagged 1 patient as recall-due",
		"Tagged 3 patients as flu-2026",
		"Logged outbound call for 1 patient",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("REPL output lacks %q\n%s\n%s", want, stdout, stderr)
		}
	}
	if !slices.Contains(p.tagsOf("P1002"), "recall-due") || !slices.Contains(p.tagsOf("P1004"), "flu-2026") {
		t.Error("the tags were not written")
	}
	var rec struct {
		Interactions []struct{ Channel, Summary string }
	}
	if err := json.Unmarshal([]byte(p.mustRun("show", "P1002", "--json")), &rec); err != nil || len(rec.Interactions) == 0 ||
		rec.Interactions[0].Channel != "call" || rec.Interactions[0].Summary != "Left a voicemail" {
		t.Errorf("logged %+v, %v", rec.Interactions, err)
	}
}

// #14: the schedule and the contact log are slash commands too, through
// the appointments and interactions commands themselves: the front desk
// sees who is coming with no model running (this practice has none).
func TestREPLAppointmentsAndInteractions(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	// What a line printed: from its echo, once typed whole, to the next
	// prompt's redraw.
	section := func(stdout, line string) string {
		_, after, _ := strings.Cut(stdout, "carebook> "+line+"\n")
		before, _, _ := strings.Cut(after, "\x1b[J")
		return before
	}
	stdout, stderr := p.replKeys(
		"/help",
		"/appointments",
		"/appointments David Scott",
		"/appointments Jon Smyth --when 2025",
		`/appointments next week --provider "Dr. Kim" --status scheduled`,
		"/interactions Jon Smyth",
		"/interactions last week --channel sms",
		"/appointments --status nosuch",
		"/bye",
	)
	if strings.Contains(stdout+stderr, "there is no /") {
		t.Fatalf("a slash command is missing:\n%s\n%s", stdout, stderr)
	}
	help := section(stdout, "/help")
	for _, want := range []string{"/appointments [WHEN|PATIENT]", "/interactions [WHEN|PATIENT]"} {
		if !strings.Contains(help, want) {
			t.Errorf("/help lacks %q:\n%s", want, help)
		}
	}
	for _, tc := range []struct {
		name     string
		out      string
		want     []string
		wantNone []string
	}{
		{"today", section(stdout, "/appointments"), []string{"A00064", "A00579", "2 appointments"}, []string{"A00004"}},
		{"a patient's to come", section(stdout, "/appointments David Scott"), []string{"A00526", "1 appointment"}, []string{"A00525", "A00064"}},
		{"a patient's in a range", section(stdout, "/appointments Jon Smyth --when 2025"), []string{"A00005"}, []string{"A00004", "A00064"}},
		{"a range's", section(stdout, `/appointments next week --provider "Dr. Kim" --status scheduled`), []string{"A00526", "Dr. Kim"}, []string{"A00064", "Dr. Patel"}},
		{"a patient's contacts", section(stdout, "/interactions Jon Smyth"), []string{"I00004", "I00003"}, []string{"I00471"}},
		{"a range's contacts", section(stdout, "/interactions last week --channel sms"), []string{"I00471", "I00434"}, []string{"I00004", "in-person"}},
	} {
		for _, want := range tc.want {
			if !strings.Contains(tc.out, want) {
				t.Errorf("%s: lacks %q:\n%s", tc.name, want, tc.out)
			}
		}
		for _, not := range tc.wantNone {
			if strings.Contains(tc.out, not) {
				t.Errorf("%s: shows %q:\n%s", tc.name, not, tc.out)
			}
		}
	}
	// The command's own validation, in its own words.
	if !strings.Contains(stderr, `invalid value "nosuch" for --status: use one of scheduled`) {
		t.Errorf("a bad --status: %s", stderr)
	}
}

// A name that matches several patients in a slash command is the same
// numbered choice as in a plain-language request; the number picks.
func TestREPLSlashNamesakesAreANumberedChoice(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	stdout, stderr := p.replKeys(
		"/show John Smith", "2",
		"/tag add recall-due John Smith", "1", "y",
		"/log John Smith call Called back", "2", "y",
		"/bye",
	)
	if strings.Count(stdout, "2 patients match. Which one?") != 3 || !strings.Contains(stdout, "MRN:        P1001") {
		t.Errorf("no choice, or the wrong record:\n%s\n%s", stdout, stderr)
	}
	if !slices.Contains(p.tagsOf("P1000"), "recall-due") || slices.Contains(p.tagsOf("P1001"), "recall-due") {
		t.Error("/tag add did not tag the patient chosen")
	}
	logged := func(mrn string) bool {
		for _, i := range p.show(mrn).Interactions {
			if i.Summary == "Called back" {
				return true
			}
		}
		return false
	}
	if !logged("P1001") || logged("P1000") {
		t.Error("/log did not log for the patient chosen")
	}
}

// exit, quit, \q and /quit leave; /clear clears the screen; the banner
// names the database and the model and says whether the model is ready.
func TestREPLLeavingClearingAndBanner(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	for _, word := range []string{"exit", "quit", `\q`, "/quit", "/exit", "/bye"} {
		stdout, _ := p.replKeys(word, "/tags")
		if strings.Contains(stdout, "refill-overdue") {
			t.Errorf("%s did not leave", word)
		}
	}
	stdout, _ := p.replKeys("/clear", "exit")
	if !strings.Contains(stdout, "\033[H\033[2J\033[3J") {
		t.Errorf("/clear did not clear the screen: %q", stdout)
	}
	if !strings.Contains(stdout, "Carebook on "+p.db+" as ") || !strings.Contains(stdout, "The model is not answering (Ollama is not running at") {
		t.Errorf("banner without a model:\n%s", stdout)
	}
	srv := p.withModel(countDiabetes)
	if stdout, _ := p.replKeys("exit"); !strings.Contains(stdout, "with the model "+model+".\nThe model "+model+" is ready.") {
		t.Errorf("banner with a model:\n%s", stdout)
	}
	// Ready means warmed: the prompt's fixed prefix was sent, and nothing
	// else (no request was typed).
	if n := len(srv.WarmupRequests()); n != 1 || srv.ChatCount() != 0 {
		t.Errorf("%d warm-ups and %d requests for a session that asked nothing", n, srv.ChatCount())
	}
	// A model swapped for a cloud one is refused before the warm-up, and
	// the banner says so.
	srv.SwapToCloud()
	if stdout, _ := p.replKeys("exit"); !strings.Contains(stdout, "The model is not answering (refused: model "+model+" (from $CAREBOOK_MODEL) runs in Ollama's cloud") {
		t.Errorf("banner with a cloud model:\n%s", stdout)
	}
	if n := len(srv.WarmupRequests()); n != 1 {
		t.Errorf("the cloud model got a warm-up")
	}
}
