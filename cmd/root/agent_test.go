package root

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/carebook/carebook/internal/ollamatest"
	"github.com/carebook/carebook/store"
)

const model = "tiny:latest"

// withModel points the practice at a scripted Ollama.
func (p *practice) withModel(answers ...string) *ollamatest.Server {
	srv := ollamatest.New(model, answers...)
	p.t.Cleanup(srv.Close)
	p.env["CAREBOOK_OLLAMA_HOST"] = srv.URL
	p.env["CAREBOOK_MODEL"] = model
	return srv
}

const (
	countDiabetes = `{"tool":"query","args":{"entity":"patients","where":{"tags":["diabetes"]},"output":"count"}}`
	tagJonSmyth   = `{"tool":"tag","args":{"tag":"recall-due","patient":{"match":"Jon Smyth"}}}`
	tagJohnSmith  = `{"tool":"tag","args":{"tag":"recall-due","patient":{"match":"John Smith"}}}`
)

func TestAskQuery(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	srv := p.withModel(countDiabetes)
	out := p.mustRun("ask", "how many patients have diabetes")
	if strings.TrimSpace(out) != "27" {
		t.Errorf("ask printed %q, want 27", out)
	}
	if len(srv.Chats) != 1 || srv.Chats[0].Format == nil {
		t.Fatalf("chats %d; the request must carry the action schema as format", len(srv.Chats))
	}
	rows := p.auditRows()
	last := rows[len(rows)-1]
	if last.Channel != "ask" || last.Model != model || last.ModelDigest != ollamatest.Digest || last.Request != "how many patients have diabetes" {
		t.Errorf("audit row %+v", last)
	}
	// --json carries the action and the result.
	var js struct {
		Action struct{ Tool string }
		Result struct{ Count int }
	}
	if err := json.Unmarshal([]byte(p.mustRun("ask", "how many have diabetes", "--json")), &js); err != nil || js.Action.Tool != "query" || js.Result.Count != 27 {
		t.Errorf("ask --json: %+v, %v", js, err)
	}
}

func TestAskWriteNeedsConfirmation(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	p.withModel(tagJonSmyth)
	if o := p.run("", false, "ask", "tag Jon Smyth recall-due"); o.code != 1 || !strings.Contains(o.stderr, "--yes") {
		t.Errorf("without --yes: exit %d, %q", o.code, o.stderr)
	}
	if o := p.run("", false, "ask", "tag Jon Smyth recall-due", "--dry-run"); o.code != 0 || !strings.Contains(o.stdout, "Dry run") || !strings.Contains(o.stdout, "P1002") {
		t.Errorf("--dry-run: exit %d, %q", o.code, o.stdout)
	}
	if slices.Contains(p.tagsOf("P1002"), "recall-due") {
		t.Fatal("written without confirmation")
	}
	o := p.run("", false, "ask", "tag Jon Smyth recall-due", "--yes")
	if o.code != 0 || !strings.Contains(o.stdout, "Tagged 1 patient as recall-due") {
		t.Errorf("--yes: exit %d, %q %q", o.code, o.stdout, o.stderr)
	}
	if !slices.Contains(p.tagsOf("P1002"), "recall-due") {
		t.Fatal("not written with --yes")
	}
}

func TestAskAmbiguousFailsWithCandidates(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	p.withModel(tagJohnSmith)
	o := p.run("", false, "ask", "tag John Smith recall-due", "--yes")
	if o.code != 1 || !strings.Contains(o.stderr, "P1000") || !strings.Contains(o.stderr, "P1001") {
		t.Errorf("exit %d, stderr %q", o.code, o.stderr)
	}
	// The audit row records that both candidates were shown, by id, and
	// does not keep their names.
	rows := p.auditRows()
	if last := rows[len(rows)-1]; strings.Contains(last.Message, "Smith") || last.Outcome != store.OutcomePreviewed || last.Channel != "ask" || len(last.PatientIDs) != 2 {
		t.Errorf("audit row %+v", last)
	}
	if slices.Contains(p.tagsOf("P1000"), "recall-due") || slices.Contains(p.tagsOf("P1001"), "recall-due") {
		t.Error("an ambiguous name was guessed")
	}
}

func TestAskBadModelAnswers(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	srv := p.withModel("this is not json", `{"tool":"drop_table","args":{}}`)
	o := p.run("", false, "ask", "do something", "--yes")
	if o.code != 1 || !strings.Contains(o.stderr, "could not be used") || !strings.Contains(o.stderr, "nothing was written") {
		t.Errorf("garbage: exit %d, %q", o.code, o.stderr)
	}
	if n := srv.ChatCount(); n != 2 {
		t.Errorf("%d chats, want the answer and one retry", n)
	}
	// The retry carries the reason.
	last := srv.Chats[1].Messages
	if !strings.Contains(last[len(last)-1].Content, "rejected") {
		t.Errorf("retry message %q", last[len(last)-1].Content)
	}

	// A bulk write with an empty filter is refused.
	p.withModel(`{"tool":"tag","args":{"tag":"vip","where":{}}}`)
	if o := p.run("", false, "ask", "tag everyone vip", "--yes"); o.code != 1 || !strings.Contains(o.stderr, "empty filter") {
		t.Errorf("empty filter: exit %d, %q", o.code, o.stderr)
	}

	// A refusal is said and exits 1.
	p.withModel(`{"tool":"refuse","args":{"message":"Carebook does not delete patients in bulk."}}`)
	if o := p.run("", false, "ask", "delete everyone"); o.code != 1 || !strings.Contains(o.stdout, "does not delete") {
		t.Errorf("refuse: exit %d, %q", o.code, o.stdout)
	}
}

func TestAskModelProblems(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	p.withModel(countDiabetes)
	p.env["CAREBOOK_MODEL"] = "qwen3:4b"
	if o := p.run("", false, "ask", "how many"); o.code != 1 || !strings.Contains(o.stderr, "ollama pull qwen3:4b") {
		t.Errorf("missing model: exit %d, %q", o.code, o.stderr)
	}
	p.env["CAREBOOK_OLLAMA_HOST"] = "http://127.0.0.1:1"
	if o := p.run("", false, "ask", "how many"); o.code != 1 || !strings.Contains(o.stderr, "not running") {
		t.Errorf("no server: exit %d, %q", o.code, o.stderr)
	}
}

func TestRunActionsBatch(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	dir := t.TempDir()
	batch := filepath.Join(dir, "batch.jsonl")
	os.WriteFile(batch, []byte(strings.Join([]string{
		`# morning list`,
		`{"tool":"tag","args":{"tag":"recall-due","patient":{"match":"P1002"}}}`,
		`{"tool":"tag","args":{"tag":"recall-due","patient":{"match":"John Smith"}}}`,
		`not json`,
		`{"tool":"log_interaction","args":{"patient":{"match":"P1003"},"channel":"call","summary":"Left a message"}}`,
		`{"tool":"query","args":{"entity":"patients","where":{"tags":["diabetes"]},"output":"count"}}`,
	}, "\n")), 0o600)

	if o := p.run("", false, "run", batch); o.code != 1 || !strings.Contains(o.stdout, "--yes") {
		t.Errorf("without --yes: exit %d, %q", o.code, o.stdout)
	}
	if slices.Contains(p.tagsOf("P1002"), "recall-due") {
		t.Fatal("written without --yes")
	}
	o := p.run("", false, "run", batch, "--yes", "--json")
	var report []struct {
		Line   int
		Status string
	}
	if err := json.Unmarshal([]byte(o.stdout), &report); err != nil {
		t.Fatalf("%v: %s", err, o.stdout)
	}
	got := []string{}
	for _, r := range report {
		got = append(got, r.Status)
	}
	if want := []string{"ok", "failed", "failed", "ok", "ok"}; !slices.Equal(got, want) || o.code != 1 {
		t.Errorf("statuses %v exit %d, want %v exit 1", got, o.code, want)
	}
	if report[0].Line != 2 {
		t.Errorf("first line reported as %d, want 2 (comments count as lines)", report[0].Line)
	}
	if !slices.Contains(p.tagsOf("P1002"), "recall-due") {
		t.Error("line 2 not written")
	}

	// --stop-on-error stops at the first failure.
	o = p.run("", false, "run", batch, "--yes", "--stop-on-error", "--json")
	json.Unmarshal([]byte(o.stdout), &report)
	if o.code != 1 || report[2].Status != "skipped" {
		t.Errorf("--stop-on-error: exit %d, %+v", o.code, report)
	}
}

func TestRunRequestsWithModel(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	p.withModel(countDiabetes, tagJonSmyth)
	batch := filepath.Join(t.TempDir(), "morning.txt")
	os.WriteFile(batch, []byte("how many diabetics\ntag Jon Smyth recall-due\n"), 0o600)
	o := p.run("", false, "run", batch, "--dry-run")
	if o.code != 0 || strings.Count(o.stdout, "dry-run") != 2 {
		t.Errorf("dry run: exit %d, %q", o.code, o.stdout)
	}
	if slices.Contains(p.tagsOf("P1002"), "recall-due") {
		t.Error("a dry run wrote")
	}
}
