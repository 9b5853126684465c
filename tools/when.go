package tools

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/carebook/carebook/store"
)

// Range is a span of time: From inclusive, To exclusive. A zero bound is
// open, so "upcoming" is {From: now}.
type Range struct {
	From, To time.Time
}

// Relative dates are resolved here, against a "now" the caller passes in
// (CAREBOOK_NOW or the clock), so that the model never does date arithmetic:
// it copies phrases like "last 90 days" and the executor gives them one
// meaning. Times are wall-clock times in now's location; the store keeps
// wall-clock times too.

// ParsePoint reads one moment: "2026-05-01", "05/01/2026", an RFC 3339
// timestamp, "today", "yesterday", "tomorrow", "90 days ago", "6 months ago",
// "a year ago", "June 17" (this year's), "January" (its most recent start)
// or "May 2026" (its first day). A day means its first instant.
func ParsePoint(s string, now time.Time) (time.Time, error) {
	in := normalise(s)
	if in == "" {
		return time.Time{}, fmt.Errorf("a date is empty")
	}
	if t, ok := parsePoint(in, now); ok {
		if !saneYear(t) {
			return time.Time{}, fmt.Errorf("the date %q is not between %d and %d", s, minYear, maxYear)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a date; use a form like %s", s, strings.Join(DateForms, ", "))
}

// Dates outside these years are a typo or a hostile action ("100000 days
// ago", "9999-12-31"): no visit or call of a living practice falls there.
// The bounds are the store's, so that a date that parses is one the store
// keeps.
const (
	minYear = store.MinYear
	maxYear = store.MaxYear
)

// saneYear reports whether t is in [minYear, maxYear].
func saneYear(t time.Time) bool {
	return t.Year() >= minYear && t.Year() <= maxYear
}

// ParseRange reads a span: "last 90 days" and "past 2 weeks" (up to now),
// "next 30 days" (from now), "last week|month|year" and "next week|month"
// (whole calendar periods, weeks start on Monday), "in|within|over the
// last year" and "in the past year" (the twelve months up to now), "within
// the next week" (the seven days from now), "this week|month|year",
// "today", "May 2026", "2026", a single day ("June 17" is this year's),
// "since X" (X up to now), "before X", "after X", "X onwards", "X to Y" or
// "between X and Y" (Y's whole day included), "upcoming" (from now on), and
// any of these after "in", "on" or "during" ("in 2026", "on June 17").
func ParseRange(s string, now time.Time) (Range, error) {
	in := normalise(s)
	if in == "" {
		return Range{}, fmt.Errorf("a time range is empty")
	}
	if r, ok := parseRange(in, now); ok {
		if !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
			return Range{}, fmt.Errorf("the time range %q ends before it starts", s)
		}
		// The end is exclusive: a range may end on the first instant after
		// maxYear.
		if !r.From.IsZero() && !saneYear(r.From) || !r.To.IsZero() && !saneYear(r.To.Add(-time.Nanosecond)) {
			return Range{}, fmt.Errorf("the time range %q is not between %d and %d", s, minYear, maxYear)
		}
		return r, nil
	}
	return Range{}, fmt.Errorf("cannot read %q as a time range; use a form like %s", s, strings.Join(RangeForms, ", "))
}

func normalise(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimSuffix(s, ".")
	return s
}

func parsePoint(in string, now time.Time) (time.Time, bool) {
	today := startOfDay(now)
	switch in {
	case "now":
		return now, true
	case "today":
		return today, true
	case "yesterday":
		return today.AddDate(0, 0, -1), true
	case "tomorrow":
		return today.AddDate(0, 0, 1), true
	}
	if d, ok := parseDay(in, now.Location()); ok {
		return d, true
	}
	if d, ok := parseMonthDay(in, now); ok {
		return d, true
	}
	if t, err := time.Parse(time.RFC3339, strings.ToUpper(in)); err == nil {
		return t.In(now.Location()), true
	}
	if rest, ok := strings.CutSuffix(in, " ago"); ok {
		n, unit, ok := count(rest)
		if !ok {
			return time.Time{}, false
		}
		return shift(now, unit, -n), true
	}
	if m, ok := parseMonth(in, now); ok {
		return m.From, true
	}
	return time.Time{}, false
}

func parseRange(in string, now time.Time) (Range, bool) {
	today := startOfDay(now)
	// The end of "up to now" spans: now itself is included.
	untilNow := now.Add(time.Nanosecond)

	switch in {
	case "upcoming", "future", "in the future", "from now on", "from now":
		return Range{From: now}, true
	case "past", "in the past", "so far", "ever", "any time", "anytime", "all time":
		return Range{To: untilNow}, true
	case "today":
		return Range{today, today.AddDate(0, 0, 1)}, true
	case "yesterday":
		return Range{today.AddDate(0, 0, -1), today}, true
	case "tomorrow":
		return Range{today.AddDate(0, 0, 1), today.AddDate(0, 0, 2)}, true
	}

	// "last year" is the calendar year before this one, as people say it;
	// with "the" before it ("in the last year", "within the next week") the
	// span runs up to now, or from now: the trailing twelve months, the
	// coming seven days.
	for _, lead := range []string{"", "the ", "in the ", "within the ", "over the ", "during the "} {
		rest, ok := strings.CutPrefix(in, lead)
		if !ok {
			continue
		}
		word, rest, ok := strings.Cut(rest, " ")
		if !ok {
			continue
		}
		if r, ok := relativeRange(word, rest, lead != "", now); ok {
			return r, true
		}
	}

	if rest, ok := strings.CutPrefix(in, "since "); ok {
		if from, ok := parsePoint(rest, now); ok {
			return Range{From: from, To: untilNow}, true
		}
		return Range{}, false
	}
	// "X onwards": from X's start on (carebook appointments --from X).
	for _, suffix := range []string{" onwards", " onward"} {
		if rest, ok := strings.CutSuffix(in, suffix); ok {
			if r, ok := parseRange(strings.TrimPrefix(rest, "from "), now); ok && !r.From.IsZero() {
				return Range{From: r.From}, true
			}
			return Range{}, false
		}
	}
	if rest, ok := strings.CutPrefix(in, "before "); ok {
		if to, ok := parsePoint(rest, now); ok {
			return Range{To: to}, true
		}
		return Range{}, false
	}
	if rest, ok := strings.CutPrefix(in, "after "); ok {
		if r, ok := parseRange(rest, now); ok && !r.To.IsZero() {
			return Range{From: r.To}, true
		}
		return Range{}, false
	}
	if rest, ok := strings.CutPrefix(in, "between "); ok {
		if a, b, ok := strings.Cut(rest, " and "); ok {
			return span(a, b, now)
		}
		return Range{}, false
	}
	in = strings.TrimPrefix(in, "from ")
	for _, sep := range []string{" to ", " until ", " till ", " through ", " - ", " – "} {
		if a, b, ok := strings.Cut(in, sep); ok {
			return span(a, b, now)
		}
	}

	if d, ok := parseDay(in, now.Location()); ok {
		return Range{d, d.AddDate(0, 0, 1)}, true
	}
	if d, ok := parseMonthDay(in, now); ok {
		return Range{d, d.AddDate(0, 0, 1)}, true
	}
	if m, ok := parseMonth(in, now); ok {
		return m, true
	}
	if y, err := strconv.Atoi(in); err == nil && len(in) == 4 && y >= minYear && y <= maxYear {
		start := time.Date(y, 1, 1, 0, 0, 0, 0, now.Location())
		return Range{start, start.AddDate(1, 0, 0)}, true
	}
	// "in 2026", "on June 17", "during May": the preposition as typed.
	for _, p := range []string{"in ", "on ", "during "} {
		if rest, ok := strings.CutPrefix(in, p); ok {
			return parseRange(rest, now)
		}
	}
	return Range{}, false
}

// span is "A to B": from A's start to the end of B, so "2026-05-01 to
// 2026-05-31" holds all of May 31.
func span(a, b string, now time.Time) (Range, bool) {
	from, ok := parseRange(strings.TrimSpace(a), now)
	if !ok || from.From.IsZero() {
		return Range{}, false
	}
	b = strings.TrimSpace(b)
	if b == "now" {
		return Range{From: from.From, To: now.Add(time.Nanosecond)}, true
	}
	to, ok := parseRange(b, now)
	if !ok || to.To.IsZero() {
		return Range{}, false
	}
	return Range{From: from.From, To: to.To}, true
}

// relativeRange reads what follows "this", "last", "next" and their kin.
// rolling makes "last" and "next" with a bare unit a span anchored at now
// ("in the last year"), not a calendar period ("last year").
func relativeRange(word, rest string, rolling bool, now time.Time) (Range, bool) {
	today := startOfDay(now)
	untilNow := now.Add(time.Nanosecond)
	switch word {
	case "previous":
		word = "last"
	case "coming":
		word = "next"
	}
	switch {
	case rolling && word == "this":
		return Range{}, false
	case rolling && word == "last":
		word = "past"
	}

	// "last 90 days", "past 2 weeks", "next 30 days": rolling, anchored at now.
	if n, unit, ok := count(rest); ok && rest != unit && !strings.HasPrefix(rest, "a ") {
		switch word {
		case "last", "past":
			return Range{From: shift(now, unit, -n), To: untilNow}, true
		case "next":
			return Range{From: now, To: shift(now, unit, n)}, true
		}
		return Range{}, false
	}

	unit, ok := unitName(rest)
	if !ok {
		return Range{}, false
	}
	// "past week" is the seven days up to now; "last week" the calendar week
	// before this one, as people say it.
	switch {
	case word == "past":
		return Range{From: shift(now, unit, -1), To: untilNow}, true
	case word == "next" && rolling:
		return Range{From: now, To: shift(now, unit, 1)}, true
	}
	var start time.Time
	switch unit {
	case "day":
		start = today
	case "week":
		start = today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
	case "month":
		start = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
	case "year":
		start = time.Date(now.Year(), 1, 1, 0, 0, 0, 0, now.Location())
	}
	switch word {
	case "this":
		return Range{start, shift(start, unit, 1)}, true
	case "last":
		return Range{shift(start, unit, -1), start}, true
	case "next":
		return Range{shift(start, unit, 1), shift(start, unit, 2)}, true
	}
	return Range{}, false
}

// count reads "90 days", "6 months", "a year", "one week".
func count(s string) (int, string, bool) {
	numStr, unitStr, ok := strings.Cut(s, " ")
	if !ok {
		if u, ok := unitName(s); ok {
			return 1, u, true
		}
		return 0, "", false
	}
	unit, ok := unitName(unitStr)
	if !ok {
		return 0, "", false
	}
	if n, ok := smallNumbers[numStr]; ok {
		return n, unit, true
	}
	n, err := strconv.Atoi(numStr)
	if err != nil || n < 0 || n > 100000 {
		return 0, "", false
	}
	return n, unit, true
}

var smallNumbers = map[string]int{
	"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
	"seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}

func unitName(s string) (string, bool) {
	switch s {
	case "day", "days":
		return "day", true
	case "week", "weeks":
		return "week", true
	case "month", "months":
		return "month", true
	case "year", "years":
		return "year", true
	}
	return "", false
}

// shift moves t by n units. Months and years clamp to the end of a shorter
// month: one month before March 31 is February 28, not March 3.
func shift(t time.Time, unit string, n int) time.Time {
	switch unit {
	case "day":
		return t.AddDate(0, 0, n)
	case "week":
		return t.AddDate(0, 0, 7*n)
	case "month":
		return addMonths(t, n)
	case "year":
		return addMonths(t, 12*n)
	}
	panic("tools: unknown unit " + unit)
}

func addMonths(t time.Time, n int) time.Time {
	first := time.Date(t.Year(), t.Month()+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	day := min(t.Day(), daysIn(first.Year(), first.Month()))
	return first.AddDate(0, 0, day-1)
}

func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func startOfDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// parseDay reads the day formats the importer accepts too.
func parseDay(s string, loc *time.Location) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02", "01/02/2006", "1/2/2006", "January 2, 2006", "January 2 2006", "Jan 2, 2006", "Jan 2 2006", "2 January 2006"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseMonthDay reads a day without its year, "June 17" or "Jun 17", as
// staff write the days of this year: it is this year's, whether it has
// passed or not.
func parseMonthDay(s string, now time.Time) (time.Time, bool) {
	for _, layout := range []string{"January 2", "Jan 2"} {
		if t, err := time.ParseInLocation(layout, s, now.Location()); err == nil {
			d := time.Date(now.Year(), t.Month(), t.Day(), 0, 0, 0, 0, now.Location())
			// February 29 of a year that has none.
			return d, d.Day() == t.Day()
		}
	}
	return time.Time{}, false
}

// parseMonth reads "May 2026", "2026-05" and a bare "May". A bare month is
// the most recent one that has begun, so in June "since January" means this
// January and "in July" means last July.
func parseMonth(s string, now time.Time) (Range, bool) {
	loc := now.Location()
	for _, layout := range []string{"January 2006", "Jan 2006", "2006-01", "01/2006", "1/2006"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return Range{t, t.AddDate(0, 1, 0)}, true
		}
	}
	for _, layout := range []string{"January", "Jan"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			start := time.Date(now.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
			if start.After(now) {
				start = start.AddDate(-1, 0, 0)
			}
			return Range{start, start.AddDate(0, 1, 0)}, true
		}
	}
	return Range{}, false
}
