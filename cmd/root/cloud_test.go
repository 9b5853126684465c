package root

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carebook/carebook/store"
)

// `carebook run` with two requests, the model swapped for a cloud one
// after the first answer (ollama cp of a cloud model onto its name): the
// second line's text never reaches the server, the line is refused, and
// its audit row is a refusal without the request.
func TestModelSwappedMidRunReceivesNothing(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	srv := p.withModel(countDiabetes)
	srv.SwapToCloudAfter(1)
	const second = "how many patients named Smyth are overdue"
	batch := filepath.Join(t.TempDir(), "morning.txt")
	os.WriteFile(batch, []byte("how many diabetics\n"+second+"\n"), 0o600)

	o := p.run("", false, "run", batch, "--json")
	var report []struct {
		Line    int
		Status  string
		Summary string
	}
	if err := json.Unmarshal([]byte(o.stdout), &report); err != nil {
		t.Fatalf("%v: %s %s", err, o.stdout, o.stderr)
	}
	if o.code != 1 || len(report) != 2 || report[0].Status != "ok" || report[1].Status != "failed" ||
		!strings.Contains(report[1].Summary, "refused: model tiny:latest (from $CAREBOOK_MODEL) runs in Ollama's cloud") {
		t.Fatalf("exit %d, report %+v", o.code, report)
	}
	chats := srv.ChatRequests()
	if len(chats) != 1 {
		t.Fatalf("%d chats, want the first line's only", len(chats))
	}
	if srv.Received("Smyth") {
		t.Error("the second line's text reached the server")
	}
	row := p.lastAudit()
	if row.Outcome != store.OutcomeRefused || row.Request != "" || strings.Contains(row.Action+row.Message, "Smyth") {
		t.Errorf("audit row %+v", row)
	}
}

// An Ollama with its cloud features on gets nothing unless
// allow_cloud_enabled_ollama = true; the refusal says both fixes, and the
// file to put the key in.
func TestCloudEnabledOllamaNeedsTheSetting(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	srv := p.withModel(countDiabetes)
	srv.SetCloudEnabled(true)
	o := p.run("", false, "ask", "how many patients named Smyth have diabetes")
	file := filepath.Join(filepath.Dir(p.db), "carebook.toml")
	want := "has its cloud features on, so a cloud model could take the place of the local one and requests would leave this machine; start Ollama with OLLAMA_NO_CLOUD=1, or set allow_cloud_enabled_ollama = true in " + file
	if o.code != 1 || !strings.Contains(o.stderr, want) || !strings.Contains(o.stderr, "(from $CAREBOOK_OLLAMA_HOST)") {
		t.Fatalf("exit %d, %q", o.code, o.stderr)
	}
	if srv.ChatCount() != 0 || srv.Received("Smyth") {
		t.Error("the request reached a cloud-enabled server")
	}
	if row := p.lastAudit(); row.Outcome != store.OutcomeRefused || row.Request != "" {
		t.Errorf("audit row %+v", row)
	}

	p.writeConfig("allow_cloud_enabled_ollama = true\n")
	if o := p.run("", false, "ask", "how many have diabetes"); o.code != 0 || strings.TrimSpace(o.stdout) != "27" {
		t.Fatalf("allowed: exit %d, %q %q", o.code, o.stdout, o.stderr)
	}
}

// Messages for the IT person: another program on the Ollama port, a name
// the DNS does not know, and OLLAMA_HOST=0.0.0.0, each with where the
// address came from.
func TestEndpointMessagesForTheITPerson(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	p.withModel(countDiabetes)

	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		w.WriteHeader(http.StatusNotImplemented)
		w.Write([]byte("<!DOCTYPE HTML><html><head><title>Error response</title></head><body><h1>Error response</h1></body></html>\n"))
	}))
	defer other.Close()
	p.env["CAREBOOK_OLLAMA_HOST"] = other.URL
	o := p.run("", false, "ask", "how many have diabetes")
	if o.code != 1 || !strings.Contains(o.stderr, "the server at "+other.URL+" (from $CAREBOOK_OLLAMA_HOST) answered but is not Ollama (HTTP 501)") || strings.Contains(o.stderr, "<") {
		t.Errorf("not Ollama: exit %d, %q", o.code, o.stderr)
	}
	rep, _ := p.doctor()
	if status, detail := rep.status("ollama endpoint"); status != "fail" || !strings.Contains(detail, "answered but is not Ollama (HTTP 501)") {
		t.Errorf("doctor, not Ollama: %s %q", status, detail)
	}

	p.env["CAREBOOK_OLLAMA_HOST"] = "http://gpu.lan:11434"
	p.resolver = lanDNS{}
	p.writeConfig("allowed_hosts = [\"gpu.lan\"]\n")
	o = p.run("", false, "ask", "how many have diabetes")
	if o.code != 1 || !strings.Contains(o.stderr, "cannot resolve gpu.lan (DNS: no such host); the Ollama address came from $CAREBOOK_OLLAMA_HOST") || strings.Contains(o.stderr, "refused") {
		t.Errorf("unresolvable: exit %d, %q", o.code, o.stderr)
	}
	if row := p.lastAudit(); row.Outcome == store.OutcomeRefused {
		t.Errorf("a DNS failure audited as a refusal: %+v", row)
	}

	delete(p.env, "CAREBOOK_OLLAMA_HOST")
	p.env["OLLAMA_HOST"] = "0.0.0.0:11434"
	o = p.run("", false, "ask", "how many have diabetes")
	if o.code != 1 || !strings.Contains(o.stderr, "refused: 0.0.0.0 is the unspecified address") ||
		!strings.Contains(o.stderr, "the address came from $OLLAMA_HOST; 0.0.0.0 tells Ollama where to listen, not Carebook where to connect: set CAREBOOK_OLLAMA_HOST=http://127.0.0.1:11434") {
		t.Errorf("0.0.0.0: exit %d, %q", o.code, o.stderr)
	}
}
