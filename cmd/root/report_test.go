package root

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportWritesAPrivateAuditedPage(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	out := filepath.Join(t.TempDir(), "may.html")
	before := len(p.auditRows())
	p.mustRun("report", "--month", "2026-05", "-o", out)
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("report mode %o, want 600", fi.Mode().Perm())
	}
	page, _ := os.ReadFile(out)
	if !strings.Contains(string(page), "Content-Security-Policy") || !strings.Contains(string(page), "Practice report: May 2026") {
		t.Errorf("the report is not the May 2026 page: %.300s", page)
	}
	// One audit row: a read, naming the period and the panels, and no
	// patient, since the page holds aggregates only.
	rows := p.auditRows()[before:]
	if len(rows) != 1 {
		t.Fatalf("%d audit rows, want 1", len(rows))
	}
	r := rows[0]
	if r.Channel != "report" || len(r.PatientIDs) != 0 || r.Outcome != "ok" {
		t.Errorf("audit row %+v", r)
	}
	for _, want := range []string{`"tool":"report"`, `"from":"2026-05-01"`, `"to":"2026-05-31"`, `"appointments-by-month"`, `"marketing-consent"`, `"format":"html"`} {
		if !strings.Contains(r.Action, want) {
			t.Errorf("audit action %s lacks %s", r.Action, want)
		}
	}

	// An existing file is kept unless --force says otherwise.
	os.WriteFile(out, []byte("keep me"), 0o600)
	before = len(p.auditRows())
	o := p.run("", false, "report", "--month", "2026-05", "-o", out)
	if o.code != 1 || !strings.Contains(o.stderr, "--force") {
		t.Errorf("existing file: exit %d, %q", o.code, o.stderr)
	}
	if n := len(p.auditRows()) - before; n != 0 {
		t.Errorf("a refused report wrote %d audit rows", n)
	}
	if got, _ := os.ReadFile(out); string(got) != "keep me" {
		t.Error("the existing file was replaced without --force")
	}
	p.mustRun("report", "--month", "2026-05", "-o", out, "--force")
	if got, _ := os.ReadFile(out); !strings.Contains(string(got), "Practice report") {
		t.Error("--force did not replace the file")
	}
}

func TestReportJSONDefaultsToLastMonth(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	var rep struct {
		Period struct{ From, To string }
		Panels []struct {
			ID        string
			Available bool
		}
		Summary []struct {
			Key   string
			Value *float64
		}
	}
	if err := json.Unmarshal([]byte(p.mustRun("report", "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	// CAREBOOK_NOW is 15 June 2026.
	if rep.Period.From != "2026-05-01" || rep.Period.To != "2026-05-31" {
		t.Errorf("default period %+v, want May 2026", rep.Period)
	}
	if len(rep.Panels) != 7 || rep.Panels[3].ID != "recall-tasks" {
		t.Errorf("panels %+v", rep.Panels)
	}
	for _, panel := range rep.Panels {
		if !panel.Available {
			t.Errorf("panel %s is not available", panel.ID)
		}
	}
	if rows := p.auditRows(); !strings.Contains(rows[len(rows)-1].Action, `"format":"json"`) {
		t.Errorf("the JSON report's audit row is %q", rows[len(rows)-1].Action)
	}
}

func TestReportUsageErrors(t *testing.T) {
	p := newPractice(t)
	p.mustRun("init")
	for _, args := range [][]string{
		{"report"},
		{"report", "--month", "2026-05", "--from", "2026-01-01", "--to", "2026-01-31", "--json"},
		{"report", "--from", "2026-01-01", "--json"},
		{"report", "--month", "May", "--json"},
		{"report", "--from", "2026-02-01", "--to", "2026-01-01", "--json"},
		{"report", "--force", "--json"},
	} {
		if o := p.run("", false, args...); o.code != 2 {
			t.Errorf("carebook %s: exit %d, want 2 (%q)", strings.Join(args, " "), o.code, o.stderr)
		}
	}
}
