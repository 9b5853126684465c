package demo

import "time"

// newPatientShare is the share of patients who joined the practice during
// the two years of appointments; the others joined before, over 15 years.
const newPatientShare = 0.15

// register sets when each patient's record was created (created_at, which a
// report counts as new patients). Appointments and interactions start after
// it. A record is never newer than the patient's consent change or than 30
// days before they left, and never older than their birth. The draws come
// from a stream of their own, so the patients' other values stay as they
// were.
func (g *generator) register() {
	r := g.rng(streamRegistered)
	for i := range g.people {
		p := &g.people[i]
		born := p.DOB.Unix()
		latest := g.now - day
		if !p.ConsentChangedAt.IsZero() {
			latest = min(latest, p.ConsentChangedAt.Unix())
		}
		if p.until != 0 {
			latest = min(latest, p.until-30*day)
		}
		lo, hi := max(born, g.today-15*365*day), g.apptFrom
		if lo >= hi || chance(r, newPatientShare) {
			lo, hi = max(born, g.apptFrom), g.now
		}
		at := lo + r.Int64N(max(hi-lo, 1))
		// Office hours on that day, unless that is after the latest.
		at = at - at%day + 9*60*60 + int64(r.IntN(8*60))*60
		at = max(min(at, latest), born)
		p.CreatedAt = time.Unix(at, 0).UTC()
	}
}
