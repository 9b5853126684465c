package report

import (
	"errors"
	"fmt"
	"time"
)

// TrendMonths is how many months the trend charts show, up to the end of
// the period.
const TrendMonths = 12

// Period is the span a report covers: from From (midnight, the practice's
// zone) up to To, exclusive. Days are whole: a period never starts or ends
// mid-day.
type Period struct {
	From, To time.Time
}

// Month is one calendar month, from "2026-05".
func Month(s string, loc *time.Location) (Period, error) {
	m, err := time.ParseInLocation("2006-01", s, loc)
	if err != nil {
		return Period{}, fmt.Errorf("cannot read %q as a month; write it like 2026-05", s)
	}
	return Period{From: m, To: m.AddDate(0, 1, 0)}, nil
}

// Days is the period from the day of from to the day of last, both
// included.
func Days(from, last time.Time) (Period, error) {
	p := Period{From: midnight(from), To: midnight(last).AddDate(0, 0, 1)}
	if !p.From.Before(p.To) {
		return Period{}, errors.New("the report period ends before it starts")
	}
	return p, nil
}

// LastMonth is the last whole calendar month before now: what a manager
// looks at in the first days of a month.
func LastMonth(now time.Time) Period {
	this := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
	return Period{From: this.AddDate(0, -1, 0), To: this}
}

func midnight(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// Last is the period's last day.
func (p Period) Last() time.Time { return p.To.AddDate(0, 0, -1) }

// IsMonth reports whether the period is exactly one calendar month.
func (p Period) IsMonth() bool {
	return p.From.Day() == 1 && p.To.Equal(p.From.AddDate(0, 1, 0))
}

// Label names the period for people: "May 2026", or "3 May 2026 to 20 May 2026".
func (p Period) Label() string {
	if p.IsMonth() {
		return p.From.Format("January 2006")
	}
	return p.From.Format(dayLabel) + " to " + p.Last().Format(dayLabel)
}

const dayLabel = "2 January 2006"

// Trend is the span of the trend charts: the TrendMonths calendar months up
// to the end of the period. The last month is cut at the period's end when
// the period ends mid-month.
func (p Period) Trend() Period {
	last := p.Last()
	first := time.Date(last.Year(), last.Month(), 1, 0, 0, 0, 0, last.Location()).AddDate(0, -(TrendMonths - 1), 0)
	return Period{From: first, To: p.To}
}
