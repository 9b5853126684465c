package tools

import (
	"testing"
	"time"
	_ "time/tzdata" // America/New_York on machines without a zone database
)

func TestParseDue(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	// Monday 2026-06-15, 10:00 in New York.
	mon := time.Date(2026, 6, 15, 10, 0, 0, 0, ny)
	for _, c := range []struct {
		in   string
		now  time.Time
		want string
	}{
		{"today", mon, "2026-06-15"},
		{"tomorrow", mon, "2026-06-16"},
		{"2026-06-23", mon, "2026-06-23"},
		{"06/23/2026", mon, "2026-06-23"},
		{"friday", mon, "2026-06-19"},
		{"this friday", mon, "2026-06-19"},
		{"on Fri", mon, "2026-06-19"},
		{"monday", mon, "2026-06-15"},
		{"next tuesday", mon, "2026-06-23"},
		{"next monday", mon, "2026-06-22"},
		{"next sunday", mon, "2026-06-28"},
		{"in 2 weeks", mon, "2026-06-29"},
		{"in a month", mon, "2026-07-15"},
		{"in 3 days", mon, "2026-06-18"},
		// 23:30 on Saturday March 7, the eve of the spring change.
		{"tomorrow", time.Date(2026, 3, 7, 23, 30, 0, 0, ny), "2026-03-08"},
		{"in 1 week", time.Date(2026, 3, 7, 23, 30, 0, 0, ny), "2026-03-14"},
		// 00:30 on Sunday November 1, before the clocks go back.
		{"today", time.Date(2026, 11, 1, 0, 30, 0, 0, ny), "2026-11-01"},
		{"tomorrow", time.Date(2026, 11, 1, 23, 30, 0, 0, ny), "2026-11-02"},
		{"next sunday", time.Date(2026, 11, 1, 23, 30, 0, 0, ny), "2026-11-08"},
	} {
		got, err := ParseDue(c.in, c.now)
		if err != nil || got.Format(time.DateOnly) != c.want || got.Location() != time.UTC || got.Hour() != 0 {
			t.Errorf("ParseDue(%q, %s) = %v, %v; want %s", c.in, c.now, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "2026-02-30", "whenever", "next blursday", "in 9999999 years", "in two fortnights"} {
		if _, err := ParseDue(bad, mon); err == nil {
			t.Errorf("ParseDue(%q) accepted it", bad)
		}
	}
	for _, f := range DueForms {
		if _, err := ParseDue(f, mon); err != nil {
			t.Errorf("ParseDue(%q), a form the model is shown: %v", f, err)
		}
	}
}

func TestParseDueRange(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	now := time.Date(2026, 3, 8, 23, 30, 0, 0, ny) // the 23-hour day
	for in, want := range map[string][2]string{
		"today":       {"2026-03-08", "2026-03-09"},
		"this week":   {"2026-03-02", "2026-03-09"},
		"next 7 days": {"2026-03-08", "2026-03-16"},
	} {
		from, to, err := ParseDueRange(in, now)
		if err != nil || from.Format(time.DateOnly) != want[0] || to.Format(time.DateOnly) != want[1] {
			t.Errorf("ParseDueRange(%q) = %v, %v, %v; want %v", in, from, to, err, want)
		}
	}
}
