package tools

import (
	"testing"
	"time"
)

func TestParseRange(t *testing.T) {
	// Monday, 15 June 2026, 10:00: the eval's "now".
	now := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	justAfterNow := now.Add(time.Nanosecond)
	tests := []struct {
		in   string
		want Range
	}{
		{"last 90 days", Range{now.AddDate(0, 0, -90), justAfterNow}},
		{"Past 2 weeks", Range{now.AddDate(0, 0, -14), justAfterNow}},
		{"last 6 months", Range{time.Date(2025, 12, 15, 10, 0, 0, 0, time.UTC), justAfterNow}},
		{"in the last 12 months", Range{time.Date(2025, 6, 15, 10, 0, 0, 0, time.UTC), justAfterNow}},
		{"next 30 days", Range{now, now.AddDate(0, 0, 30)}},
		{"next week", Range{day(2026, 6, 22), day(2026, 6, 29)}},
		{"this week", Range{day(2026, 6, 15), day(2026, 6, 22)}},
		{"last week", Range{day(2026, 6, 8), day(2026, 6, 15)}},
		{"past week", Range{now.AddDate(0, 0, -7), justAfterNow}},
		{"last month", Range{day(2026, 5, 1), day(2026, 6, 1)}},
		{"next month", Range{day(2026, 7, 1), day(2026, 8, 1)}},
		{"this year", Range{day(2026, 1, 1), day(2027, 1, 1)}},
		{"last year", Range{day(2025, 1, 1), day(2026, 1, 1)}},
		{"today", Range{day(2026, 6, 15), day(2026, 6, 16)}},
		{"tomorrow", Range{day(2026, 6, 16), day(2026, 6, 17)}},
		{"May 2026", Range{day(2026, 5, 1), day(2026, 6, 1)}},
		{"2026-05", Range{day(2026, 5, 1), day(2026, 6, 1)}},
		{"2025", Range{day(2025, 1, 1), day(2026, 1, 1)}},
		{"2026-05-03", Range{day(2026, 5, 3), day(2026, 5, 4)}},
		{"2026-05-01 to 2026-05-31", Range{day(2026, 5, 1), day(2026, 6, 1)}},
		{"between 05/01/2026 and 05/31/2026", Range{day(2026, 5, 1), day(2026, 6, 1)}},
		{"from May 2026 to June 2026", Range{day(2026, 5, 1), day(2026, 7, 1)}},
		{"since 2026-01-01", Range{day(2026, 1, 1), justAfterNow}},
		{"since January", Range{day(2026, 1, 1), justAfterNow}},
		{"since 90 days ago", Range{now.AddDate(0, 0, -90), justAfterNow}},
		{"before 2026-01-01", Range{To: day(2026, 1, 1)}},
		{"after 2026-01-01", Range{From: day(2026, 1, 2)}},
		{"upcoming", Range{From: now}},
		{"July", Range{day(2025, 7, 1), day(2025, 8, 1)}}, // the most recent July that has begun
		{"June 17", Range{day(2026, 6, 17), day(2026, 6, 18)}},
		{"Jun 3", Range{day(2026, 6, 3), day(2026, 6, 4)}},
		{"since May 1", Range{day(2026, 5, 1), justAfterNow}},
		{"in the next 14 days", Range{now, now.AddDate(0, 0, 14)}},
		{"in 2026", Range{day(2026, 1, 1), day(2027, 1, 1)}},
		{"in April 2026", Range{day(2026, 4, 1), day(2026, 5, 1)}},
		{"on June 17", Range{day(2026, 6, 17), day(2026, 6, 18)}},
		{"during May", Range{day(2026, 5, 1), day(2026, 6, 1)}},
	}
	for _, tt := range tests {
		got, err := ParseRange(tt.in, now)
		if err != nil {
			t.Errorf("ParseRange(%q): %v", tt.in, err)
			continue
		}
		if !got.From.Equal(tt.want.From) || !got.To.Equal(tt.want.To) {
			t.Errorf("ParseRange(%q) = [%v, %v), want [%v, %v)", tt.in, got.From, got.To, tt.want.From, tt.want.To)
		}
	}
}

func TestParsePoint(t *testing.T) {
	now := time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-05-01", time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)},
		{"05/01/2026", time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-05-01T08:30:00Z", time.Date(2026, 5, 1, 8, 30, 0, 0, time.UTC)},
		{"today", time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)},
		{"yesterday", time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC)},
		{"90 days ago", now.AddDate(0, 0, -90)},
		// Month arithmetic clamps: a month before March 31 is February 28.
		{"1 month ago", time.Date(2026, 2, 28, 10, 0, 0, 0, time.UTC)},
		{"a year ago", time.Date(2025, 3, 31, 10, 0, 0, 0, time.UTC)},
		{"twelve months ago", time.Date(2025, 3, 31, 10, 0, 0, 0, time.UTC)},
		{"January", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"May 1", time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}, // this year's, though it is to come
		{"Feb 28", time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)},
		{"May 2026", time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := ParsePoint(tt.in, now)
		if err != nil {
			t.Errorf("ParsePoint(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("ParsePoint(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseDatesRejectGarbage(t *testing.T) {
	now := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	for _, in := range []string{"", "soon", "last fortnight", "13/45/2026", "2026-02-30", "next -3 days", "'; DROP TABLE patients", "read_csv('/etc/passwd')"} {
		if _, err := ParseRange(in, now); err == nil {
			t.Errorf("ParseRange(%q) succeeded; want an error", in)
		}
		if _, err := ParsePoint(in, now); err == nil {
			t.Errorf("ParsePoint(%q) succeeded; want an error", in)
		}
	}
	if p, err := ParsePoint("February 29", now); err == nil {
		t.Errorf("ParsePoint(February 29) in 2026 = %v; want an error", p)
	}
	if _, err := ParseRange("2026-06-01 to 2026-05-01", now); err == nil {
		t.Error("a range that ends before it starts was accepted")
	}
	// Found by FuzzDates: counts up to 100000 reached year -97974, and
	// any four-digit year was a day.
	for _, in := range []string{"100000 days ago", "100000 years ago", "0001-01-01", "9999-12-31", "1899-12-31"} {
		if p, err := ParsePoint(in, now); err == nil {
			t.Errorf("ParsePoint(%q) = %v; want an error: not between 1900 and 2100", in, p)
		}
	}
	for _, in := range []string{"last 100000 years", "next 100000 months", "0001-01-01", "since 1899-12-31", "2100-12-31 to 2101-01-01"} {
		if r, err := ParseRange(in, now); err == nil {
			t.Errorf("ParseRange(%q) = %v; want an error: not between 1900 and 2100", in, r)
		}
	}
	for _, in := range []string{"2100", "1900", "since 1900-01-01", "2100-12-31"} {
		if _, err := ParseRange(in, now); err != nil {
			t.Errorf("ParseRange(%q): %v", in, err)
		}
	}
}

// Staff say "in the last year" for the twelve months up to now, and "last
// year" for the calendar year before this one (issue 15 #6): "the" before
// "last" or "next" and a bare unit makes a span anchored at now.
func TestParseRangeTrailingAndCalendar(t *testing.T) {
	now := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	justAfterNow := now.Add(time.Nanosecond)
	trailingYear := Range{time.Date(2025, 6, 15, 10, 0, 0, 0, time.UTC), justAfterNow}
	calendar2025 := Range{day(2025, 1, 1), day(2026, 1, 1)}
	tests := []struct {
		in   string
		want Range
	}{
		{"in the last year", trailingYear},
		{"over the last year", trailingYear},
		{"within the last year", trailingYear},
		{"during the last year", trailingYear},
		{"the last year", trailingYear},
		{"in the past year", trailingYear},
		{"within the past year", trailingYear},
		{"over the past year", trailingYear},
		{"In the last year.", trailingYear},
		{"last year", calendar2025},
		{"previous year", calendar2025},
		{"in the last month", Range{time.Date(2026, 5, 15, 10, 0, 0, 0, time.UTC), justAfterNow}},
		{"last month", Range{day(2026, 5, 1), day(2026, 6, 1)}},
		{"in the last week", Range{now.AddDate(0, 0, -7), justAfterNow}},
		{"within the next week", Range{now, now.AddDate(0, 0, 7)}},
		{"in the next month", Range{now, time.Date(2026, 7, 15, 10, 0, 0, 0, time.UTC)}},
		{"next week", Range{day(2026, 6, 22), day(2026, 6, 29)}},
		{"next month", Range{day(2026, 7, 1), day(2026, 8, 1)}},
		{"in the last 2 years", Range{time.Date(2024, 6, 15, 10, 0, 0, 0, time.UTC), justAfterNow}},
		{"this year", Range{day(2026, 1, 1), day(2027, 1, 1)}},
	}
	for _, tt := range tests {
		got, err := ParseRange(tt.in, now)
		if err != nil {
			t.Errorf("ParseRange(%q): %v", tt.in, err)
			continue
		}
		if !got.From.Equal(tt.want.From) || !got.To.Equal(tt.want.To) {
			t.Errorf("ParseRange(%q) = [%v, %v), want [%v, %v)", tt.in, got.From, got.To, tt.want.From, tt.want.To)
		}
	}
	for _, in := range []string{"in the this year", "within the year", "in the last", "the next", "in the last fortnight", "in in", "on", "during during 2026x"} {
		if r, err := ParseRange(in, now); err == nil {
			t.Errorf("ParseRange(%q) = %v; want an error", in, r)
		}
	}
}
