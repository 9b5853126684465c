package root

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// A batch line that is not UTF-8 is refused with one sentence, and the
// attempt still leaves one audit row, its text made valid (issue 13 #8).
// DuckDB refuses to bind text that is not UTF-8: before the fix the row
// failed with "could not bind parameter" and nothing was recorded.
func TestRunRefusesInvalidUTF8AndAuditsTheAttempt(t *testing.T) {
	cases := []struct {
		name, file, line string
		// field is the audit row's text that holds the line.
		field func(p *practice) string
	}{
		{"action", "bad.jsonl", "{\"tool\":\"query\",\"args\":{\"entity\":\"patients\",\"where\":{\"name\":\"Sm\xffith\"}}}",
			func(p *practice) string { return p.lastAudit().Action }},
		{"request", "bad.txt", "how many patients named Sm\xffith",
			func(p *practice) string { return p.lastAudit().Request }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPractice(t)
			p.mustRun("init")
			bad := filepath.Join(t.TempDir(), c.file)
			if err := os.WriteFile(bad, []byte(c.line+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			before := len(p.auditRows())
			o := p.run("", false, "run", bad, "--yes")
			if o.code != 1 {
				t.Errorf("exit %d, want 1 (stderr %q)", o.code, o.stderr)
			}
			if !strings.Contains(o.stdout, "not valid UTF-8") || strings.Contains(o.stdout+o.stderr, "bind") {
				t.Errorf("report %q, stderr %q: want the UTF-8 sentence and no driver error", o.stdout, o.stderr)
			}
			if got := len(p.auditRows()) - before; got != 1 {
				t.Fatalf("%d audit rows for the attempt, want 1", got)
			}
			row := p.lastAudit()
			text := c.field(p)
			if row.Outcome != "error" || row.Channel != "run" || !utf8.ValidString(text) || !strings.Contains(text, "Sm\uFFFDith") {
				t.Errorf("audit row %+v: want a run error holding the line with U+FFFD", row)
			}
			if !strings.Contains(row.Message, "UTF-8") {
				t.Errorf("audit message %q does not say why", row.Message)
			}
		})
	}
}
