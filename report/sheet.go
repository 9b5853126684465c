package report

// A report shows the same counts more than once: a row and its total, and
// the 12 months of appointments both by month and by provider, whose
// columns add up to the same numbers. A count suppressed in one place can
// then be worked out from the others (the total less the cells shown), so
// suppressing small cells is not enough: some more cells must be withheld.
// This is secondary (complementary) suppression, as statistical offices do
// it, with a simple rule: after every cell of 1 to 4 is hidden, any sum that
// would pin a hidden cell to one value gets one more of its cells withheld
// (a total first, else the smallest count), until no sum does.
//
// Each sum is checked on its own. Combining several sums (a system of
// equations) could still narrow a cell down further in a report with many
// small cells; the report's sums are few and wide, so that is not checked.

// sheet is a report's numbers while it is built.
type sheet struct {
	raw     []int
	state   []cellState
	isTotal []bool
	// sums are the relations a reader can use: the signed cells of each
	// add up to zero.
	sums [][]term
}

type term struct{ id, sign int }

// unbounded stands for "no upper bound": a withheld count is at least
// SuppressBelow and could be anything above.
const unbounded = 1 << 40

// count adds a cell holding n, suppressed when small, and returns its id.
func (s *sheet) count(n int) int {
	st := shown
	if n > 0 && n < SuppressBelow {
		st = small
	}
	s.raw = append(s.raw, n)
	s.state = append(s.state, st)
	s.isTotal = append(s.isTotal, false)
	return len(s.raw) - 1
}

// total adds a cell holding the sum of parts, and records the sum.
func (s *sheet) total(parts ...int) int {
	n := 0
	for _, p := range parts {
		n += s.raw[p]
	}
	id := s.count(n)
	s.isTotal[id] = true
	s.equal([]int{id}, parts)
	return id
}

// equal records that the cells of a add up to the cells of b.
func (s *sheet) equal(a, b []int) {
	var r []term
	for _, id := range a {
		r = append(r, term{id, 1})
	}
	for _, id := range b {
		r = append(r, term{id, -1})
	}
	s.sums = append(s.sums, r)
}

// protect withholds cells until no sum pins a hidden cell.
func (s *sheet) protect() {
	for changed := true; changed; {
		changed = false
		for _, r := range s.sums {
			if !s.pins(r) {
				continue
			}
			if id := s.cover(r); id >= 0 {
				s.state[id] = withheld
				changed = true
			}
		}
	}
}

// bounds is what a reader knows of a hidden cell.
func (s *sheet) bounds(id int) (lo, hi int) {
	if s.state[id] == small {
		return 1, SuppressBelow - 1
	}
	return SuppressBelow, unbounded
}

// pins reports whether sum r, with its shown cells read off the page,
// leaves some hidden cell only one possible value. The hidden cells' signed
// sum is then known; each lies within its bounds, so the others' sum ranges
// over an interval, and so does the value left for the one.
func (s *sheet) pins(r []term) bool {
	var hidden []term
	known := 0
	for _, t := range r {
		if s.state[t.id] != shown {
			hidden = append(hidden, t)
			known += t.sign * s.raw[t.id]
		}
	}
	if len(hidden) == 0 {
		return false
	}
	for i, t := range hidden {
		restLo, restHi := 0, 0
		for j, u := range hidden {
			if j == i {
				continue
			}
			lo, hi := s.bounds(u.id)
			if u.sign > 0 {
				restLo, restHi = restLo+lo, restHi+hi
			} else {
				restLo, restHi = restLo-hi, restHi-lo
			}
		}
		// t.sign*v + rest = known
		vLo, vHi := known-restHi, known-restLo
		if t.sign < 0 {
			vLo, vHi = restLo-known, restHi-known
		}
		lo, hi := s.bounds(t.id)
		if min(hi, vHi) == max(lo, vLo) {
			return true
		}
	}
	return false
}

// cover picks the shown cell of r to withhold: a total if there is one
// (the cells of a row stay readable), else the smallest count. Zero is
// never withheld: it hides nothing. -1 means no cell is left to withhold.
func (s *sheet) cover(r []term) int {
	best := -1
	better := func(id int) bool {
		if best < 0 {
			return true
		}
		if s.isTotal[id] != s.isTotal[best] {
			return s.isTotal[id]
		}
		return s.raw[id] < s.raw[best]
	}
	for _, t := range r {
		if s.state[t.id] == shown && s.raw[t.id] > 0 && better(t.id) {
			best = t.id
		}
	}
	return best
}

// cell is a count as the page shows it: the value stays behind when the
// cell is hidden.
func (s *sheet) cell(id int) Cell {
	if s.state[id] != shown {
		return Cell{state: s.state[id]}
	}
	return Cell{n: s.raw[id]}
}

// rate is num over the sum of den, shown only when every count it is made
// of is: a rate and one of its counts give the other away.
func (s *sheet) rate(num int, den ...int) Cell {
	d := 0
	for _, id := range den {
		d += s.raw[id]
	}
	if d == 0 {
		return Cell{isRate: true, state: notApplicable}
	}
	for _, id := range append([]int{num}, den...) {
		if s.state[id] != shown {
			return Cell{isRate: true, state: withheld}
		}
	}
	return Cell{isRate: true, rate: float64(s.raw[num]) / float64(d)}
}
