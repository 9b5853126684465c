package cmdutil

import (
	"bytes"
	"strings"
	"testing"
)

func TestTableFitsTheTerminal(t *testing.T) {
	var b bytes.Buffer
	tb := NewTable(&b, true, "MRN", "NAME", "NOTE").Fit(30)
	tb.Row("P1", "山田太郎", strings.Repeat("long note ", 5))
	tb.Row("P22", "Ann Lee", "short")
	tb.Flush()
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	for _, l := range lines {
		if w := DisplayWidth(l); w > 30 {
			t.Errorf("%d columns: %q", w, l)
		}
	}
	// The widest column (the note) was cut, the names were not; columns
	// line up by what a terminal shows, wide characters counting two.
	if !strings.Contains(lines[1], "山田太郎  long note") || !strings.HasSuffix(lines[1], "…") || !strings.Contains(lines[2], "Ann Lee   short") {
		t.Errorf("table:\n%s", b.String())
	}

	b.Reset()
	tb = NewTable(&b, true, "A", "B").Fit(0)
	tb.Row("x", strings.Repeat("y", 200))
	tb.Flush()
	if strings.Contains(b.String(), "…") {
		t.Error("a table of unknown width was cut")
	}
	b.Reset()
	tb = NewTable(&b, false, "A", "B").Fit(10)
	tb.Row("x", strings.Repeat("y", 200))
	if b.String() != "x\t"+strings.Repeat("y", 200)+"\n" {
		t.Errorf("piped rows were cut: %q", b.String())
	}
}
