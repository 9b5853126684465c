package root

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type doctorReport struct {
	OK     bool `json:"ok"`
	Checks []struct {
		Check, Status, Detail, Fix string
	} `json:"checks"`
}

func (p *practice) doctor(args ...string) (doctorReport, outcome) {
	p.t.Helper()
	o := p.run("", false, append([]string{"doctor", "--json"}, args...)...)
	var rep doctorReport
	if err := json.Unmarshal([]byte(o.stdout), &rep); err != nil {
		p.t.Fatalf("doctor --json: %v\n%s\n%s", err, o.stdout, o.stderr)
	}
	return rep, o
}

func (r doctorReport) status(check string) (string, string) {
	for _, c := range r.Checks {
		if c.Check == check {
			return c.Status, c.Detail + " " + c.Fix
		}
	}
	return "missing", ""
}

func TestDoctor(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	srv := p.withModel(countDiabetes)
	p.env["HTTPS_PROXY"] = "http://127.0.0.1:3128"

	rep, o := p.doctor()
	if o.code != 0 || !rep.OK {
		t.Fatalf("exit %d: %+v", o.code, rep)
	}
	for check, want := range map[string]string{
		"ollama endpoint":  "local, Ollama 0.17.4",
		"model":            "local and pulled",
		"ollama cloud":     "disabled",
		"proxy variables":  "HTTPS_PROXY set, and ignored",
		"database file":    "mode 0600",
		"duckdb hardening": "enable_external_access=false",
		"audit log":        "rows",
		"repl history":     "memory only",
	} {
		if status, detail := rep.status(check); status != "ok" || !strings.Contains(detail, want) {
			t.Errorf("%s: %s %q, want ok with %q", check, status, detail, want)
		}
	}
	if status, _ := rep.status("encryption at rest"); status == "missing" || status == "fail" {
		t.Errorf("encryption at rest: %s", status)
	}

	// Cloud features on fail, with the fix, unless the practice allowed
	// them; then they warn.
	srv.SetCloudEnabled(true)
	rep, o = p.doctor()
	status, detail := rep.status("ollama cloud")
	if status != "fail" || o.code != 1 || !strings.Contains(detail, "start Ollama with OLLAMA_NO_CLOUD=1") ||
		!strings.Contains(detail, "set allow_cloud_enabled_ollama = true in "+filepath.Join(filepath.Dir(p.db), "carebook.toml")) ||
		!strings.Contains(detail, "before every request Carebook checks /api/show (remote_host, remote_model), the model's digest in /api/tags, and /api/status") {
		t.Errorf("cloud enabled: %s %q, exit %d", status, detail, o.code)
	}
	p.writeConfig("allow_cloud_enabled_ollama = true\n")

	// Loose permissions and allowed cloud features: warnings, still exit 0.
	if err := os.Chmod(p.db, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, o = p.doctor()
	if status, detail := rep.status("database file"); status != "warn" || !strings.Contains(detail, "chmod 600") {
		t.Errorf("loose mode: %s %q", status, detail)
	}
	if status, detail := rep.status("ollama cloud"); status != "warn" || !strings.Contains(detail, "allowed by allow_cloud_enabled_ollama in ") {
		t.Errorf("cloud enabled and allowed: %s %q", status, detail)
	}
	if o.code != 0 {
		t.Errorf("warnings only, yet exit %d", o.code)
	}

	// A refused endpoint and a cloud model fail, and doctor exits 1.
	p.env["CAREBOOK_MODEL"] = "gpt-oss:120b-cloud"
	rep, o = p.doctor("--ollama-host", "http://169.254.169.254")
	if status, _ := rep.status("ollama endpoint"); status != "fail" {
		t.Errorf("metadata endpoint: %s", status)
	}
	if status, _ := rep.status("model"); status != "fail" {
		t.Errorf("cloud model: %s", status)
	}
	if o.code != 1 || rep.OK {
		t.Errorf("exit %d ok=%v, want 1 and false", o.code, rep.OK)
	}
	// The table for people names the fix.
	o = p.run("", true, "doctor")
	if !strings.Contains(o.stdout, "STATUS") || !strings.Contains(o.stdout, "fix: chmod 600") {
		t.Errorf("table:\n%s", o.stdout)
	}
}
