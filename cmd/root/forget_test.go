package root

import (
	"os"
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
	if o := p.run("n\n", true, "forget", "P1002"); o.code != 1 || !strings.Contains(o.stdout, "Type P1002 to confirm") {
		t.Errorf("declined: exit %d, %q", o.code, o.stderr)
	}
	if o := p.run("", false, "show", "P1002"); o.code != 0 {
		t.Fatalf("P1002 gone without confirmation: %q", o.stderr)
	}
	out := p.mustRun("forget", "P1002", "--yes")
	if !strings.Contains(out, "2 appointments, 2 interactions, 0 tasks and ") || !strings.Contains(out, "rewritten") {
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

// With history on, the REPL keeps its lines in a 0600 file beside the
// database; forget removes the patient from it, from the audit log's texts
// and from the head file, and the audit log still verifies.
func TestForgetScrubsHistoryAndAuditText(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	p.writeConfig("history = true\n")
	p.withModel(tagJonSmyth, countDiabetes)
	keys := strings.Join([]string{"/show P1002", "tag Jon Smyth recall-due", "y", "how many have diabetes", "/bye"}, "\r") + "\r"
	if _, stderr, err := p.repl(strings.NewReader(keys), nil); err != nil {
		t.Fatalf("repl: %v %s", err, stderr)
	}
	hist := p.db + ".history"
	fi, err := os.Stat(hist)
	if err != nil {
		t.Fatalf("no history file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("history file mode %o", fi.Mode().Perm())
	}
	secrets := []string{"Smyth", "P1002"}
	before, _ := os.ReadFile(hist)
	var auditText strings.Builder
	for _, r := range p.auditRows() {
		auditText.WriteString(r.Request + r.Action + r.Message)
	}
	for _, s := range secrets {
		if !strings.Contains(string(before), s) || !strings.Contains(auditText.String(), s) {
			t.Fatalf("positive control: %q not in the history (%q) or the audit texts before forget", s, before)
		}
	}

	out := p.mustRun("forget", "P1002", "--yes")
	if !strings.Contains(out, "history lines") || !strings.Contains(out, "earlier audit rows") {
		t.Errorf("forget said %q", out)
	}
	after, _ := os.ReadFile(hist)
	head, _ := os.ReadFile(p.db + ".audit-head")
	for _, s := range secrets {
		if strings.Contains(string(after), s) {
			t.Errorf("history still holds %q: %q", s, after)
		}
		if len(head) == 0 || strings.Contains(string(head), s) {
			t.Errorf("head file %q", head)
		}
		for _, r := range p.auditRows() {
			if strings.Contains(r.Request+r.Action+r.Message, s) {
				t.Errorf("audit row %d still names %q", r.Seq, s)
			}
		}
	}
	if !strings.Contains(string(after), "how many have diabetes") {
		t.Errorf("history lost lines about nobody: %q", after)
	}
	if o := p.run("", false, "audit", "verify"); o.code != 0 || !strings.Contains(o.stdout, "Audit log verified") {
		t.Errorf("audit verify after forget: exit %d %q %q", o.code, o.stdout, o.stderr)
	}
}
