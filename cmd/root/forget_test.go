package root

import (
	"strings"
	"testing"
)

func TestForgetCommand(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	if o := p.run("", false, "forget", "John Smith", "--yes"); o.code != 1 || !strings.Contains(o.stderr, "P1001") {
		t.Errorf("ambiguous: exit %d, %q", o.code, o.stderr)
	}
	if o := p.run("", false, "forget", "P1002"); o.code != 1 || !strings.Contains(o.stderr, "--yes") {
		t.Errorf("without --yes: exit %d, %q", o.code, o.stderr)
	}
	if o := p.run("n\n", true, "forget", "P1002"); o.code != 130 {
		t.Errorf("declined: exit %d, %q", o.code, o.stderr)
	}
	if o := p.run("", false, "show", "P1002"); o.code != 0 {
		t.Fatalf("P1002 gone without confirmation: %q", o.stderr)
	}
	out := p.mustRun("forget", "P1002", "--yes")
	if !strings.Contains(out, "2 appointments and 2 interactions") || !strings.Contains(out, "rewritten") {
		t.Errorf("forget said %q", out)
	}
	if o := p.run("", false, "show", "P1002"); o.code != 1 || !strings.Contains(o.stderr, "no patient matches") {
		t.Errorf("after forget: exit %d, %q", o.code, o.stderr)
	}
	rows := p.auditRows()
	var forgetRow bool
	for _, r := range rows {
		if strings.Contains(r.Action, `"forget"`) {
			forgetRow = true
			if strings.Contains(r.Action+r.Request+r.Message, "Smyth") || strings.Contains(r.Action, "P1002") {
				t.Errorf("forget audit row names the patient: %+v", r)
			}
		}
	}
	if !forgetRow {
		t.Error("no audit row for the forget")
	}
}
