package main

// What a person at a terminal sees, and what the audit log records of it,
// through the built binary on a real pseudo-terminal with a scripted
// Ollama: previews before questions, type-ahead thrown away, escape
// sequences in stored names and model sentences shown escaped, and the
// patients every read and preview names.

import (
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/carebook/carebook/internal/ollamatest"
	"github.com/carebook/carebook/internal/ptytest"
)

// clinic is the fixture practice, with a scripted model.
func clinic(t *testing.T, answers ...string) (*binPractice, *ollamatest.Server) {
	t.Helper()
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skip("shared fixtures not found")
	}
	p := newBinPractice(t)
	srv := ollamatest.New("tiny:latest", answers...)
	t.Cleanup(srv.Close)
	p.env = append(p.env, "CAREBOOK_OLLAMA_HOST="+srv.URL, "CAREBOOK_MODEL=tiny:latest", "TERM=xterm")
	p.must("init")
	p.must("import", "patients", filepath.Join(fixtureDir, "patients.csv"))
	return p, srv
}

// onTerminal starts the binary on a pseudo-terminal.
func (p *binPractice) onTerminal(args ...string) *ptytest.Terminal {
	p.t.Helper()
	cmd := exec.Command(p.bin, args...)
	cmd.Env = p.env
	return ptytest.Start(p.t, cmd)
}

// lastRow is the newest audit row that is not an audit log read.
func (p *binPractice) lastRow() auditRow {
	p.t.Helper()
	rows := p.auditRows()
	for i := len(rows) - 1; i >= 0; i-- {
		if !strings.Contains(rows[i].Action, `"audit_log"`) {
			return rows[i]
		}
	}
	p.t.Fatal("no audit row")
	return auditRow{}
}

// idOf is a patient's internal id, from the audit row of a read of them.
func (p *binPractice) idOf(mrn string) int64 {
	p.t.Helper()
	p.must("show", mrn)
	r := p.lastRow()
	if len(r.PatientIDs) != 1 {
		p.t.Fatalf("show %s: audit row names %v", mrn, r.PatientIDs)
	}
	return r.PatientIDs[0]
}

func (p *binPractice) count(args ...string) int {
	p.t.Helper()
	var rows []json.RawMessage
	if err := json.Unmarshal([]byte(p.must(append(args, "--json")...)), &rows); err != nil {
		p.t.Fatal(err)
	}
	return len(rows)
}

// #2: `run` of a .jsonl of writes on a terminal previews each write (the
// patients, their count, "new tag") before it asks; declining writes
// nothing, and (#4) the declined row names every patient it showed.
func TestRunPreviewsBeforeAsking(t *testing.T) {
	p, _ := clinic(t)
	diabetic := p.count("patients", "--tag", "diabetes")
	batch := filepath.Join(t.TempDir(), "batch.jsonl")
	os.WriteFile(batch, []byte(`{"tool":"tag","args":{"tag":"recal-due","where":{"tags":["diabetes"]}}}`+"\n"), 0o600)

	term := p.onTerminal("run", batch)
	at := term.WaitFor(t, 0, "[y/N]", 20*time.Second)
	shown := term.Screen()[:at]
	for _, want := range []string{"Line 1:", strconv.Itoa(diabetic) + " patients", "new tag", "P1000", "John", "Smith"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the preview before the question lacks %q:\n%s", want, shown)
		}
	}
	if diabetic > 10 && !strings.Contains(shown, "more") {
		t.Errorf("the preview of %d patients does not say how many more:\n%s", diabetic, shown)
	}
	term.Send("n\r")
	term.Wait(20 * time.Second)
	if strings.Contains(p.must("tag", "list"), "recal-due") {
		t.Error("a declined line was written")
	}
	var declined *auditRow
	for _, r := range p.auditRows() {
		if strings.Contains(r.Action, "recal-due") && r.Outcome == "refused" {
			declined = &r
		}
	}
	// The preview shows the first ten and the count: the row names those
	// shown.
	if declined == nil || len(declined.PatientIDs) != min(diabetic, 10) {
		t.Errorf("the declined preview's row does not name the %d patients shown: %+v", min(diabetic, 10), declined)
	}
}

// #2: keys typed while the model was thinking must not answer the question
// asked after it: "y" typed ahead is thrown away, and the question waits.
func TestTypeAheadDoesNotAnswer(t *testing.T) {
	p, srv := clinic(t, `{"tool":"tag","args":{"tag":"recall-due","patient":{"match":"P1002"}}}`)
	srv.Delay = 2 * time.Second
	term := p.onTerminal("ask", "tag Jon Smyth as recall due")
	deadline := time.Now().Add(20 * time.Second)
	for srv.ChatCount() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	term.Send("y\r") // typed ahead, before the question
	at := term.WaitFor(t, 0, "[y/N]", 20*time.Second)
	time.Sleep(time.Second)
	if after := term.Screen()[at:]; strings.Contains(after, "Tagged") {
		t.Fatalf("the typed-ahead y answered the question:\n%s", term.Screen())
	}
	if strings.Contains(p.must("patients", "--tag", "recall-due"), "P1002") {
		t.Fatal("the write happened before anyone answered")
	}
	term.Send("y\r")
	term.WaitFor(t, at, "Tagged 1 patient", 20*time.Second)
	term.Wait(10 * time.Second)
}

// Raw control sequences that must never reach a terminal from data.
var rawControl = regexp.MustCompile("\x1b\\[2J|\x1b\\]52|\x07|\r[^\n]")

// spinnerLine is the spinner drawing and clearing its line.
var spinnerLine = regexp.MustCompile("\r[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏][^\r]*\x1b\\[K|\r\x1b\\[K")

// fake is a stored name's "Tag 1 patient" at the start of a line.
var fake = regexp.MustCompile(`(^|[\r\n])Tag 1 patient as vip`)

// #3: a name stored with terminal escape sequences (the importer refuses
// them now; a database written by an older Carebook, or by another
// program, can still hold them) is shown escaped in previews and tables,
// and so is a model's clarify sentence: it can neither clear the screen,
// nor write the clipboard (OSC 52), nor fake a "Tag 1 patient" line.
func TestEscapesAreShownNotObeyed(t *testing.T) {
	p, srv := clinic(t)

	// The importer refuses them, naming the line and column, not the value.
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("Patient ID (MRN),First Name,Last Name,Date of Birth\nP9,Eve\x1b[2J,Roe,1980-01-01\n"), 0o600)
	r := p.run("import", "patients", bad)
	if r.code != 1 || !strings.Contains(r.stderr, `line 2: "First Name" holds a control character`) || strings.Contains(r.stderr, "\x1b") {
		t.Errorf("import of an escape sequence: exit %d, %q", r.code, r.stderr)
	}

	// A database that holds them anyway.
	db, err := sql.Open("duckdb", p.db)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`UPDATE patients SET first_name = ?, last_name = ? WHERE mrn = 'P1002'`,
		"Jon\x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07", "Smyth\rTag 1 patient as vip.")
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	batch := filepath.Join(t.TempDir(), "batch.jsonl")
	os.WriteFile(batch, []byte(`{"tool":"tag","args":{"tag":"vip","where":{"mrns":["P1002","P1003"]}}}`+"\n"), 0o600)

	check := func(what string, term *ptytest.Terminal, mark int) {
		t.Helper()
		screen := term.Screen()[mark:]
		if m := rawControl.FindString(screen); m != "" {
			t.Errorf("%s: a raw control sequence %q reached the terminal:\n%q", what, m, screen)
		}
		wants := []string{"^[[2J", "^[]52;c;", "^G"}
		if strings.HasPrefix(what, "patients") {
			// A list fits the terminal's width by cutting its widest
			// column: the name is shown escaped, and cut short.
			wants = wants[:1]
		}
		for _, want := range wants {
			if !strings.Contains(screen, want) {
				t.Errorf("%s: %q is not shown escaped:\n%q", what, want, screen)
			}
		}
		// The carriage return may be shown or blanked, but the fake line
		// must not start a line of its own.
		if fake.MatchString(screen) {
			t.Errorf("%s: the stored name printed a line of its own:\n%q", what, screen)
		}
	}
	term := p.onTerminal("run", batch)
	at := term.WaitFor(t, 0, "[y/N]", 20*time.Second)
	check("the preview", term, 0)
	term.Send("n\r")
	term.Wait(10 * time.Second)
	_ = at

	// The last thing each prints, so that all of it was read.
	for args, last := range map[string]string{"show P1002": "No interactions.", "patients --mrn P1002": "1 patient"} {
		term := p.onTerminal(strings.Fields(args)...)
		term.WaitFor(t, 0, last, 20*time.Second)
		check(args, term, 0)
		term.Wait(10 * time.Second)
	}

	// The model's sentence.
	srv.Script(`{"tool":"clarify","args":{"message":"Which one?\u001b[2J\u001b]52;c;cm0gLXJmIH4=\u0007\rTag 1 patient"}}`)
	term = p.onTerminal("ask", "tag him")
	term.WaitFor(t, 0, "Which one?", 20*time.Second)
	term.Wait(20 * time.Second)
	time.Sleep(200 * time.Millisecond) // the rest of the line, after the exit
	// The spinner redraws its own line (raw, on stderr): what counts is
	// what the sentence put there.
	screen := spinnerLine.ReplaceAllString(term.Screen(), "")
	if m := rawControl.FindString(screen); m != "" {
		t.Errorf("the model's sentence put %q on the terminal:\n%q", m, screen)
	}
	if !strings.Contains(screen, "^[[2J") {
		t.Errorf("the model's sentence is not shown escaped:\n%q", screen)
	}
}

// #4: every read and preview names, in its audit row, every patient whose
// data it showed.
func TestAuditRowsNameWhomTheyShowed(t *testing.T) {
	p, srv := clinic(t)

	t.Run("ambiguous name", func(t *testing.T) {
		r := p.run("show", "e")
		n := strings.Count(r.stderr+r.stdout, "  born ")
		if r.code != 1 || n < 10 {
			t.Fatalf("show e: exit %d, %d candidates listed", r.code, n)
		}
		row := p.lastRow()
		if len(row.PatientIDs) < n {
			t.Errorf("%d candidates listed, the row names %d", n, len(row.PatientIDs))
		}
	})

	t.Run("ask --dry-run of a write", func(t *testing.T) {
		diabetic := p.count("patients", "--tag", "diabetes")
		srv.Script(`{"tool":"tag","args":{"tag":"recall-due","where":{"tags":["diabetes"]}}}`)
		p.must("ask", "tag the diabetics recall due", "--dry-run")
		var previewed []auditRow
		for _, r := range p.auditRows() {
			if r.Channel == "ask" && r.Outcome == "previewed" {
				previewed = append(previewed, r)
			}
		}
		if len(previewed) != 1 || len(previewed[0].PatientIDs) != min(diabetic, 10) {
			t.Errorf("want one previewed row naming the %d patients shown, got %+v", min(diabetic, 10), previewed)
		}
	})

	t.Run("group query restricted to one patient", func(t *testing.T) {
		id := p.idOf("P1002")
		q := filepath.Join(t.TempDir(), "q.jsonl")
		os.WriteFile(q, []byte(`{"tool":"query","args":{"entity":"patients","patient":{"match":"P1002"},"output":"groups","group_by":"status"}}`+"\n"), 0o600)
		p.must("run", q)
		row := p.lastRow()
		if !slices.Equal(row.PatientIDs, []int64{id}) {
			t.Errorf("the grouped read of P1002 names %v, want [%d]", row.PatientIDs, id)
		}
	})

	t.Run("audit export", func(t *testing.T) {
		named := map[int64]bool{}
		for _, r := range p.auditRows() {
			for _, id := range r.PatientIDs {
				named[id] = true
			}
		}
		p.must("audit", "export", "--output", filepath.Join(t.TempDir(), "a.jsonl"))
		var export *auditRow
		for _, r := range p.auditRows() {
			if strings.Contains(r.Action, `"audit_export"`) {
				export = &r
			}
		}
		if export == nil {
			t.Fatal("audit export wrote no row")
		}
		got := map[int64]bool{}
		for _, id := range export.PatientIDs {
			got[id] = true
		}
		for id := range named {
			if !got[id] {
				t.Errorf("the export's row does not name patient %d, whom its rows name", id)
				break
			}
		}
	})
}

// #4: Tab completion of patient names in the REPL shows names: it is
// audited, and offers at most 50 of them.
func TestREPLCompletionIsAudited(t *testing.T) {
	p := newBinPractice(t)
	srv := ollamatest.New("tiny:latest", `{"tool":"query","args":{"entity":"patients","output":"count"}}`)
	t.Cleanup(srv.Close)
	p.env = append(p.env, "CAREBOOK_OLLAMA_HOST="+srv.URL, "CAREBOOK_MODEL=tiny:latest", "TERM=xterm")
	p.must("demo", "--patients", "2000")
	term := p.onTerminal("repl")
	at := term.WaitFor(t, 0, "carebook> ", 20*time.Second)
	term.Send("/show Ma\t")
	time.Sleep(time.Second)
	term.Send("\x03")
	term.WaitFor(t, at, "carebook> ", 20*time.Second)
	term.Send("\x04")
	term.Wait(10 * time.Second)
	var complete *auditRow
	for _, r := range p.auditRows() {
		if strings.Contains(r.Action, `"complete"`) && r.Channel == "repl" {
			complete = &r
		}
	}
	if complete == nil {
		t.Fatalf("Tab completion of names wrote no audit row; the screen:\n%s", term.Screen())
	}
	if n := len(complete.PatientIDs); n == 0 || n > 50 {
		t.Errorf("the completion row names %d patients, want 1 to 50", n)
	}
}
