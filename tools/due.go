package tools

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DueForms are ways of saying when a task is due besides a Date: the
// schema's description of due and ParseDue's message (which a rejected
// answer hands back to the model) offer them; the prompt's action format
// shows due as a Date, and its example copies "in 3 weeks". due_test.go
// checks that ParseDue reads each.
var DueForms = []string{"tomorrow", "friday", "next tuesday", "in 2 weeks"}

// Day is a day of the practice's calendar: midnight UTC holds the date, as
// the store keeps dates of birth and due days, so that day arithmetic
// never meets a DST change and "today" does not move with the zone.
func Day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Today is the practice's calendar day at now (now is in the practice's
// zone: CAREBOOK_NOW or the clock, in time.Local).
func Today(now time.Time) time.Time { return Day(now) }

// ParseDue reads the day a task is due: any form ParsePoint reads (its
// day, in now's zone), "in 3 days", "in 2 weeks", "in a month", a weekday
// ("friday", "this friday", "on friday": the next one, today included) or
// "next friday" (that day of next week, Monday to Sunday, as "next week"
// is read).
func ParseDue(s string, now time.Time) (time.Time, error) {
	in := normalise(s)
	if in == "" {
		return time.Time{}, fmt.Errorf("a due date is empty")
	}
	today := Today(now)
	if t, ok := parsePoint(in, now); ok {
		return checkDue(s, Day(t))
	}
	if rest, ok := strings.CutPrefix(in, "in "); ok {
		if n, unit, ok := count(rest); ok {
			return checkDue(s, shift(today, unit, n))
		}
	}
	for _, p := range []string{"", "this ", "on ", "by "} {
		rest, ok := strings.CutPrefix(in, p)
		if wd, isDay := weekday(rest); ok && isDay {
			ahead := (int(wd) - int(today.Weekday()) + 7) % 7
			return checkDue(s, today.AddDate(0, 0, ahead))
		}
	}
	if rest, ok := strings.CutPrefix(in, "next "); ok {
		if wd, ok := weekday(rest); ok {
			monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
			return checkDue(s, monday.AddDate(0, 0, 7+(int(wd)+6)%7))
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a due date; use a form like %s or 2026-06-23", s, strings.Join(DueForms, ", "))
}

func checkDue(s string, d time.Time) (time.Time, error) {
	if !saneYear(d) {
		return time.Time{}, fmt.Errorf("the due date %q is not between %d and %d", s, minYear, maxYear)
	}
	return d, nil
}

func weekday(s string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if s == name || s == name[:3] {
			return d, true
		}
	}
	return 0, false
}

// ParseDueRange reads a range of due days for a task filter: any form
// ParseRange reads, as whole days of the practice's calendar.
func ParseDueRange(s string, now time.Time) (from, to time.Time, err error) {
	r, err := ParseRange(s, now)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if !r.From.IsZero() {
		from = Day(r.From)
	}
	if !r.To.IsZero() {
		// A range that ends within a day (up to now) keeps that day.
		to = Day(r.To)
		if !r.To.Equal(time.Date(r.To.Year(), r.To.Month(), r.To.Day(), 0, 0, 0, 0, r.To.Location())) {
			to = to.AddDate(0, 0, 1)
		}
	}
	return from, to, nil
}

// FormatDue shows a due day for people: "Tue 2026-06-23".
func FormatDue(d time.Time) string {
	if d.IsZero() {
		return ""
	}
	return d.Format("Mon 2006-01-02")
}

// ParseTaskID reads a task's number as staff type it: "12" or "#12".
func ParseTaskID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(s), "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, invalidf("a task is named by its number (like 12, as task list shows it)")
	}
	return id, nil
}
