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
	// withheld is a total or a rate that would let a reader work out a
	// small count from the numbers beside it.
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

// countCell is a count, suppressed when small.
func countCell(n int) Cell {
	if n > 0 && n < SuppressBelow {
		return Cell{state: small}
	}
	return Cell{n: n}
}

// totalCell is the sum of cells shown beside it. It is withheld when it
// would give a small cell away: when exactly one of them is small (the
// total less the others is that count), or when the small ones could only
// be all 1s or all 4s.
func totalCell(parts ...int) Cell {
	sum, k, hidden := 0, 0, 0
	for _, n := range parts {
		sum += n
		if n > 0 && n < SuppressBelow {
			k++
			hidden += n
		}
	}
	if k == 1 || k > 1 && (hidden == k || hidden == k*(SuppressBelow-1)) {
		return Cell{state: withheld}
	}
	return countCell(sum)
}

// grandTotalCell sums a table whose rows each show a totalCell. A withheld
// row total hides its small count; the grand total less the shown row
// totals would give those counts back, taken together, so they follow
// totalCell's rule again: withheld when one alone, or all 1s or all 4s.
func grandTotalCell(rows ...[]int) Cell {
	sum := 0
	var exposed []int
	for _, r := range rows {
		for _, n := range r {
			sum += n
		}
		if totalCell(r...).state != withheld {
			continue
		}
		for _, n := range r {
			if n > 0 && n < SuppressBelow {
				exposed = append(exposed, n)
			}
		}
	}
	if totalCell(exposed...).state == withheld {
		return Cell{state: withheld}
	}
	return countCell(sum)
}

// rateCell is num/den, shown only when every count it is made of (parts)
// is shown: a rate and one of its counts give the other away.
func rateCell(num, den int, parts ...int) Cell {
	if den == 0 {
		return Cell{isRate: true, state: notApplicable}
	}
	for _, n := range parts {
		if n > 0 && n < SuppressBelow {
			return Cell{isRate: true, state: withheld}
		}
	}
	return Cell{isRate: true, rate: float64(num) / float64(den)}
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

// Hidden reports whether the cell's number is not shown (small, withheld
// or not applicable).
func (c Cell) Hidden() bool { return c.state != shown }

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
