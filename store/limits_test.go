package store

import (
	"strings"
	"testing"
	"time"
)

func TestLimits(t *testing.T) {
	lines := []struct {
		in   string
		max  int
		want string // "" when fine
	}{
		{"Ann", MaxNameLen, ""},
		{strings.Repeat("é", MaxNameLen), MaxNameLen, ""}, // 400 bytes, 200 characters
		{strings.Repeat("é", MaxNameLen+1), MaxNameLen, "is longer than 200 characters"},
		{strings.Repeat("x", 10_000_000), MaxNameLen, "is longer than 200 characters"},
		{"An\x00n", MaxNameLen, "holds a control character"},
		{"Ann\tLee", MaxNameLen, "holds a control character"},
		{"Ann\u0085", MaxNameLen, "holds a control character"}, // C1 next line
		{"", MaxNameLen, ""},
		{"Jos\xe9", MaxNameLen, "is not UTF-8 text"},
		{"Zoë \uFFFD", MaxNameLen, ""}, // a replacement character is text
	}
	for _, c := range lines {
		if err := CheckLine(c.in, c.max); c.want == "" && err != nil || c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)) {
			t.Errorf("CheckLine(%.20q, %d) = %v, want %q", c.in, c.max, err, c.want)
		}
	}
	texts := []struct {
		in   string
		want string
	}{
		{"Called.\n\tLeft a message.", ""},
		{"Called.\r\nLeft a message.", "holds a control character"},
		{"bell\a", "holds a control character"},
		{strings.Repeat("x", MaxTextLen), ""},
		{strings.Repeat("x", 20<<20), "is longer than 20000 characters"},
	}
	for _, c := range texts {
		if err := CheckText(c.in, MaxTextLen); c.want == "" && err != nil || c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)) {
			t.Errorf("CheckText(%.20q) = %v, want %q", c.in, err, c.want)
		}
	}
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	for _, y := range []int{1, 1899, 2101, 9999} {
		if CheckWhen(day(y, 6, 1)) == nil {
			t.Errorf("CheckWhen accepts the year %d", y)
		}
	}
	for _, y := range []int{1900, 2026, 2100} {
		if err := CheckWhen(day(y, 6, 1)); err != nil {
			t.Errorf("CheckWhen refuses the year %d: %v", y, err)
		}
	}
	today := day(2026, 6, 15)
	for dob, want := range map[time.Time]string{
		day(1879, 12, 31): "is before 1880", day(1880, 1, 1): "", today: "", day(2026, 6, 16): "is in the future",
	} {
		if err := CheckBirth(dob, today); want == "" && err != nil || want != "" && (err == nil || err.Error() != want) {
			t.Errorf("CheckBirth(%v) = %v, want %q", dob, err, want)
		}
	}
}
