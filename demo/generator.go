package demo

import (
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/carebook/carebook/store"
)

const day = 24 * 60 * 60 // seconds

// Each stage draws from its own PCG stream, so that changing how, say,
// interactions are made leaves the patients and appointments as they were.
const (
	streamPatients     = 0x70617469656e7473 // "patients"
	streamAppointments = 0x61707074732e2e2e // "appts..."
	streamInteractions = 0x696e746572616374 // "interact"
	streamRegistered   = 0x7265676973746572 // "register"
)

// generator holds the practice while it is made. Times are wall-clock
// seconds since the Unix epoch, read as UTC, as the store keeps them.
type generator struct {
	seed uint64
	n    int

	now, today int64
	apptFrom   int64   // appointments start two years back…
	apptTo     int64   // …and run until three months ahead (exclusive)
	ixFrom     int64   // interactions start 18 months back and run until now
	workdays   []int64 // midnight of every working day from apptFrom to apptTo

	people       []person
	appointments []appointment // grouped by patient, in patient order
	interactions []interaction
	emails       map[string]bool // addresses given out, to keep them unique
}

// person is a patient with what the generator needs to know about them.
type person struct {
	store.Patient
	culture     *culture
	age         int
	until       int64 // deceased or inactive: midnight of their last day with the practice
	provider    string
	noShowProne bool
	therapy     bool
	appts, ixs  int // how many appointments and interactions they get
	firstAppt   int // index of their first appointment in generator.appointments
	apptWeight  float64
	ixWeight    float64
}

type appointment struct {
	at       int64
	person   int32
	typ      string
	provider string
	status   store.AppointmentStatus
}

type interaction struct {
	at     int64
	person int32
	phrase uint8
	staff  uint8
}

func newGenerator(seed uint64, now time.Time, patients int) *generator {
	wall := store.Wall(now)
	today := time.Date(wall.Year(), wall.Month(), wall.Day(), 0, 0, 0, 0, time.UTC)
	g := &generator{
		seed:     seed,
		n:        patients,
		now:      wall.Unix(),
		today:    today.Unix(),
		apptFrom: today.AddDate(-2, 0, 0).Unix(),
		apptTo:   today.AddDate(0, 3, 1).Unix(),
		ixFrom:   wall.AddDate(0, -18, 0).Unix(),
		emails:   make(map[string]bool, patients),
	}
	for d := g.apptFrom; d < g.apptTo; d += day {
		if isWorkday(d) {
			g.workdays = append(g.workdays, d)
		}
	}
	return g
}

func (g *generator) rng(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(g.seed, stream))
}

// weekday of a wall-clock time; 1 January 1970 was a Thursday.
func weekday(t int64) time.Weekday {
	return time.Weekday((t/day + 4) % 7)
}

func isWorkday(d int64) bool {
	wd := weekday(d)
	if wd == time.Saturday || wd == time.Sunday {
		return false
	}
	t := time.Unix(d, 0).UTC()
	m, dd := t.Month(), t.Day()
	switch {
	case m == time.January && dd == 1, m == time.July && dd == 4, m == time.December && dd == 25:
		return false
	case m == time.May && wd == time.Monday && dd > 24: // Memorial Day
		return false
	case m == time.September && wd == time.Monday && dd <= 7: // Labor Day
		return false
	case m == time.November && wd == time.Thursday && dd >= 22 && dd <= 28: // Thanksgiving
		return false
	}
	return true
}

func midnight(t int64) int64 { return t - t%day }

func chance(r *rand.Rand, p float64) bool { return r.Float64() < p }

func pick(r *rand.Rand, ws []weighted) string {
	total := 0.0
	for _, w := range ws {
		total += w.weight
	}
	u := r.Float64() * total
	for _, w := range ws {
		if u < w.weight {
			return w.value
		}
		u -= w.weight
	}
	return ws[len(ws)-1].value
}

// common draws from a list ordered most common first, favouring its start
// the way real name frequencies do.
func common(r *rand.Rand, list []string) string {
	return list[int(float64(len(list))*math.Pow(r.Float64(), 1.15))]
}

func uniform(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

// spread deals total items out among len(weights) people, each draw landing
// on a person with probability proportional to their weight. The counts
// always add up to total.
func spread(r *rand.Rand, weights []float64, total int) []int {
	cum := make([]float64, len(weights))
	sum := 0.0
	for i, w := range weights {
		sum += w
		cum[i] = sum
	}
	counts := make([]int, len(weights))
	for range total {
		i := sort.SearchFloat64s(cum, r.Float64()*sum)
		counts[min(i, len(counts)-1)]++
	}
	return counts
}

// code is an identifier such as D000042: a prefix and a zero-padded number.
func code(prefix string, n, width int) string {
	s := strconv.Itoa(n)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return prefix + s
}

// yearsOld is someone's age in whole years at t.
func yearsOld(dob time.Time, t int64) int {
	at := time.Unix(t, 0).UTC()
	years := at.Year() - dob.Year()
	if at.Month() < dob.Month() || at.Month() == dob.Month() && at.Day() < dob.Day() {
		years--
	}
	return years
}
