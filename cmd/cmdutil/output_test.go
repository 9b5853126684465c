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

// Fitting a table to 80 columns cuts the free text (a name, a summary),
// never a date, a time, a phone number or an MRN, even where one of those
// is the widest column.
func TestTableFittingNeverCutsFixedFormats(t *testing.T) {
	fixed := []string{"P1000", "CB000241", "2026-06-15 09:30", "(555) 201-3344", "+1 555 201 3344", "A00579", "#12", "1980-04-02"}
	var b bytes.Buffer
	tb := NewTable(&b, true, "ID", "MRN", "WHEN", "PHONE", "NAME", "BORN", "SUMMARY").Fit(80)
	tb.Row("A00579", "CB000241", "2026-06-15 09:30", "+1 555 201 3344", "Maria de los Ángeles Fernández-Ortega", "1980-04-02", strings.Repeat("left a voicemail about the lab results ", 3))
	tb.Row("#12", "P1000", "2026-06-15 09:30", "(555) 201-3344", "Ann Lee", "", "short")
	tb.Flush()
	out := b.String()
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if w := DisplayWidth(l); w > 80 {
			t.Errorf("%d columns: %q", w, l)
		}
	}
	for _, f := range fixed {
		if !strings.Contains(out, f) {
			t.Errorf("%q was cut:\n%s", f, out)
		}
	}
	if !strings.Contains(out, "Maria d") || !strings.Contains(out, "lef…") {
		t.Errorf("the name and the summary were not the columns cut:\n%s", out)
	}

	// The date is the widest column here; the name and status give instead.
	b.Reset()
	tb = NewTable(&b, true, "WHEN", "NAME", "STATUS").Fit(40)
	tb.Row("2026-06-15T09:30:00-05:00", "Ann Lee", "scheduled")
	tb.Flush()
	line := strings.Split(b.String(), "\n")[1]
	if !strings.HasPrefix(line, "2026-06-15T09:30:00-05:00  ") || DisplayWidth(line) > 40 {
		t.Errorf("the date gave way: %q", line)
	}
}
