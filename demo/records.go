package demo

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/carebook/carebook/store"
)

// makeAppointments books every patient's visits on working days, on the
// half hour from 08:00 to 16:30, within the time they were with the practice.
func (g *generator) makeAppointments() {
	r := g.rng(streamAppointments)
	g.appointments = make([]appointment, 0, g.n*appointmentsPerPatient)
	for i := range g.people {
		p := &g.people[i]
		p.firstAppt = len(g.appointments)
		lo, hi := g.workdayRange(p)
		for range p.appts {
			g.appointments = append(g.appointments, g.newAppointment(r, i, lo, hi))
		}
	}
}

// workdayRange is the slice of g.workdays a patient can be seen on: from
// just after birth or registration, or two years back, until they left or
// three months ahead.
func (g *generator) workdayRange(p *person) (lo, hi int) {
	from := max(g.apptFrom, p.DOB.Unix()+3*day, p.CreatedAt.Unix()+day)
	to := g.apptTo
	if p.until != 0 {
		to = p.until
	}
	lo = sort.Search(len(g.workdays), func(i int) bool { return g.workdays[i] >= from })
	hi = sort.Search(len(g.workdays), func(i int) bool { return g.workdays[i] >= to })
	if lo >= hi { // cannot happen with the windows above; stay in range regardless
		lo = min(lo, len(g.workdays)-1)
		hi = lo + 1
	}
	return lo, hi
}

func (g *generator) newAppointment(r *rand.Rand, person, lo, hi int) appointment {
	p := &g.people[person]
	var at int64
	for try := 0; ; try++ {
		retry := try < 10
		d := g.workdays[lo+r.IntN(hi-lo)]
		// Fewer visits are booked the further ahead they are.
		if d > g.today && retry && chance(r, 0.75*float64(d-g.today)/(92*day)) {
			continue
		}
		slot := r.IntN(18)
		if (slot == 8 || slot == 9) && retry && chance(r, 0.5) { // lunch
			continue
		}
		at = d + 8*60*60 + int64(slot)*30*60
		if retry && g.booked(p, at) {
			continue
		}
		break
	}

	age := yearsOld(p.DOB, at)
	a := appointment{at: at, person: int32(person)}
	switch {
	case p.therapy && age >= 6 && chance(r, 0.5):
		a.typ = typeTherapy
	case age < 2:
		a.typ = pick(r, infantVisits)
	case age < 18:
		a.typ = pick(r, childVisits)
	default:
		a.typ = pick(r, adultVisits)
	}
	switch {
	case a.typ == typeTherapy:
		a.provider = therapist
	case chance(r, 0.75):
		a.provider = p.provider
	case age < 18:
		a.provider = uniform(r, pediatricProviders)
	default:
		a.provider = uniform(r, adultProviders)
	}

	a.status = store.AppointmentScheduled
	if at < g.now {
		noShow := 0.06
		if p.noShowProne {
			noShow = 0.30
		}
		switch u := r.Float64(); {
		case u < noShow:
			a.status = store.AppointmentNoShow
		case u < noShow+0.10:
			a.status = store.AppointmentCancelled
		default:
			a.status = store.AppointmentCompleted
		}
	}
	return a
}

func (g *generator) booked(p *person, at int64) bool {
	for _, a := range g.appointments[p.firstAppt:] {
		if a.at == at {
			return true
		}
	}
	return false
}

// appointmentOrder lists appointments by start time, the order they are
// numbered and stored in, as a scheduling system would have them. Rows that
// tie on every field are identical, so their relative order cannot show.
func (g *generator) appointmentOrder() []int {
	order := make([]int, len(g.appointments))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		a, b := &g.appointments[i], &g.appointments[j]
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		if c := cmp.Compare(a.person, b.person); c != 0 {
			return c
		}
		if c := strings.Compare(a.typ, b.typ); c != 0 {
			return c
		}
		if c := strings.Compare(a.provider, b.provider); c != 0 {
			return c
		}
		return strings.Compare(string(a.status), string(b.status))
	})
	return order
}

// appointmentRow is the k-th appointment by time, numbered DA0000001 on.
func (g *generator) appointmentRow(k, i int) store.Appointment {
	a := &g.appointments[i]
	return store.Appointment{
		ExternalID: code("DA", k+1, 7),
		PatientID:  g.people[a.person].ID,
		StartsAt:   time.Unix(a.at, 0).UTC(),
		Type:       a.typ,
		Provider:   a.provider,
		Status:     a.status,
	}
}

// makeInteractions logs every patient's calls, texts, emails, visits,
// letters and notes over the last 18 months. About 40% are about one of
// their appointments (a reminder, a check-in, a missed visit); the rest are
// the everyday traffic of a front desk.
func (g *generator) makeInteractions() {
	r := g.rng(streamInteractions)
	g.interactions = make([]interaction, 0, g.n*interactionsPerPatient)
	for i := range g.people {
		g.personInteractions(r, i)
	}
}

func (g *generator) personInteractions(r *rand.Rand, i int) {
	p := &g.people[i]
	k := p.ixs
	if k == 0 {
		return
	}
	from := max(g.ixFrom, p.DOB.Unix()+day, p.CreatedAt.Unix())
	to := g.now
	if p.until != 0 {
		to = min(to, p.until+day)
	}
	add := func(at int64, ph int) {
		staff := staffByRole[phrases[ph].role]
		g.interactions = append(g.interactions, interaction{at: at, person: int32(i), phrase: uint8(ph), staff: uint8(r.IntN(len(staff)))})
		k--
	}

	// The last word on someone who left.
	switch p.Status {
	case store.StatusDeceased:
		add(p.until+10*60*60+int64(r.IntN(6*60))*60, phDeceased)
	case store.StatusInactive:
		add(p.until+10*60*60+int64(r.IntN(6*60))*60, phTransferred)
	}
	if k > 0 && p.Language != "English" && chance(r, 0.5) {
		add(g.randomTime(r, from, to, false), phInterpreter)
	}
	appts := g.appointments[p.firstAppt : p.firstAppt+p.appts]
	for k > 0 {
		if len(appts) > 0 && chance(r, 0.4) {
			if at, ph, ok := g.aboutAppointment(r, &appts[r.IntN(len(appts))]); ok && at >= from && at < to {
				add(at, ph)
				continue
			}
		}
		ph := pickGeneric(r)
		add(g.randomTime(r, from, to, phrases[ph].anyHour), ph)
	}
}

// aboutAppointment is an interaction about one appointment, timed around it.
func (g *generator) aboutAppointment(r *rand.Rand, a *appointment) (at int64, ph int, ok bool) {
	// daysBefore is a working-hours time a few days before the visit.
	daysBefore := func(lo, hi int) int64 {
		d := midnight(a.at) - int64(lo+r.IntN(hi-lo+1))*day
		return d + 9*60*60 + int64(r.IntN(7*60))*60
	}
	reminder := func() (int64, int) {
		switch u := r.Float64(); {
		case u < 0.6:
			return daysBefore(1, 2), phReminderSMS
		case u < 0.85:
			return weekdayOnOrBefore(daysBefore(1, 2)), phReminderCall
		}
		return daysBefore(1, 3), phReminderEmail
	}
	switch a.status {
	case store.AppointmentScheduled:
		at, ph = reminder()
	case store.AppointmentCompleted:
		switch u := r.Float64(); {
		case u < 0.35:
			at, ph = reminder()
		case u < 0.65:
			at, ph = a.at-int64(r.IntN(15))*60, phCheckIn
		case u < 0.85:
			at, ph = a.at+2*60*60+int64(r.IntN(6*60))*60, phAfterVisit
		default:
			at, ph = daysBefore(1, 2), phConfirmSMS
		}
	case store.AppointmentNoShow:
		if chance(r, 0.6) {
			at, ph = a.at+60*60+int64(r.IntN(3*60))*60, phMissed
		} else {
			at, ph = reminder()
		}
	case store.AppointmentCancelled:
		switch u := r.Float64(); {
		case u < 0.35:
			at, ph = weekdayOnOrBefore(daysBefore(1, 6)), phCancelCall
		case u < 0.7:
			at, ph = daysBefore(1, 6), phRescheduleSMS
		default:
			at, ph = reminder()
		}
	}
	return at, ph, at < g.now
}

// weekdayOnOrBefore moves a weekend time back to the Friday before.
func weekdayOnOrBefore(t int64) int64 {
	switch weekday(t) {
	case time.Saturday:
		return t - day
	case time.Sunday:
		return t - 2*day
	}
	return t
}

var genericWeights = func() []float64 {
	w := make([]float64, len(phrases))
	for i := phFirstGeneric; i < len(phrases); i++ {
		w[i] = phrases[i].weight
	}
	return w
}()

func pickGeneric(r *rand.Rand) int {
	total := 0.0
	for _, w := range genericWeights {
		total += w
	}
	u := r.Float64() * total
	for i := phFirstGeneric; i < len(phrases); i++ {
		if u < genericWeights[i] {
			return i
		}
		u -= genericWeights[i]
	}
	return len(phrases) - 1
}

// randomTime is a time in [from, to): in office hours on a working day, or
// for what patients send themselves, any day from 07:00 to 23:00.
func (g *generator) randomTime(r *rand.Rand, from, to int64, anyHour bool) int64 {
	if to <= from {
		return from
	}
	first := midnight(from)
	days := (to-first)/day + 1
	for range 20 {
		d := first + r.Int64N(days)*day
		var at int64
		if anyHour {
			at = d + 7*60*60 + r.Int64N(16*60)*60
		} else {
			if !isWorkday(d) {
				continue
			}
			at = d + 8*60*60 + r.Int64N(570)*60 // 08:00–17:29
		}
		if at >= from && at < to {
			return at
		}
	}
	return from + r.Int64N(to-from)
}

// sortInteractions puts interactions in time order, the order they are
// numbered and stored in, as a log would have them.
func (g *generator) sortInteractions() {
	slices.SortFunc(g.interactions, func(a, b interaction) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		if c := cmp.Compare(a.person, b.person); c != 0 {
			return c
		}
		if c := cmp.Compare(a.phrase, b.phrase); c != 0 {
			return c
		}
		return cmp.Compare(a.staff, b.staff)
	})
}

// interactionRow is the k-th interaction by time, numbered DI0000001 on.
func (g *generator) interactionRow(k int) store.Interaction {
	it := &g.interactions[k]
	ph := &phrases[it.phrase]
	return store.Interaction{
		ExternalID: code("DI", k+1, 7),
		PatientID:  g.people[it.person].ID,
		At:         time.Unix(it.at, 0).UTC(),
		Channel:    ph.channel,
		Direction:  ph.direction,
		Staff:      staffByRole[ph.role][it.staff],
		Summary:    ph.summary,
	}
}
