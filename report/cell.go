package report

import (
	"encoding/json"
	"math"
	"strconv"
)

// SuppressBelow is the small-cell threshold: a count from 1 to
// SuppressBelow-1 is shown as "< 5", so that a printed report cannot point
// at one or two patients. Zero is shown: it names nobody, and CMS's cell-size
// rule (the usual yardstick) suppresses 1 to 10, not 0.
const SuppressBelow = 5

type cellState uint8

const (
	shown cellState = iota
	// small is a count from 1 to SuppressBelow-1.
	small
	// withheld is a count, a total or a rate that the numbers beside it
	// would otherwise give a small count away with (see sheet).
	withheld
	// notApplicable is a rate with nothing to divide by.
	notApplicable
)

// Cell is one number of a report. A hidden cell does not hold its value at
// all, so no renderer can leak it: Build drops it when it makes the cell.
type Cell struct {
	n      int
	rate   float64
	isRate bool
	state  cellState
}

// Text is the cell as people read it: "1,234", "12.5%", "< 5", "withheld"
// or "n/a".
func (c Cell) Text() string {
	switch c.state {
	case small:
		return "< " + strconv.Itoa(SuppressBelow)
	case withheld:
		return "withheld"
	case notApplicable:
		return "n/a"
	}
	if c.isRate {
		return strconv.FormatFloat(c.rate*100, 'f', 1, 64) + "%"
	}
	return thousands(c.n)
}

// Count is the count and whether it is shown.
func (c Cell) Count() (int, bool) { return c.n, c.state == shown && !c.isRate }

// Rate is the rate (0 to 1) and whether it is shown.
func (c Cell) Rate() (float64, bool) { return c.rate, c.state == shown && c.isRate }

// Small reports whether the cell is a suppressed small count.
func (c Cell) Small() bool { return c.state == small }

// Masked reports whether the cell is a count the page does not show: small
// or withheld. Charts draw it at a fixed small size.
func (c Cell) Masked() bool { return !c.isRate && (c.state == small || c.state == withheld) }

// MarshalJSON writes a shown count or rate as a number and anything hidden
// as null, so that --json carries the same suppression as the page.
func (c Cell) MarshalJSON() ([]byte, error) {
	switch {
	case c.state != shown:
		return []byte("null"), nil
	case c.isRate:
		return json.Marshal(math.Round(c.rate*10000) / 10000)
	}
	return json.Marshal(c.n)
}

// thousands writes n with comma separators, as US staff read numbers.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}
