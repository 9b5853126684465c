package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// state is everything a request may change, audit log aside.
type state struct {
	patients     map[string]tools.PatientJSON // MRN → every field but the tags
	tags         map[string]bool              // "MRN tag"
	appointments map[string]string            // id → every field
	interactions map[int64]string             // internal id → every field
	interMRN     map[int64]store.Interaction
	tasks        map[int64]store.Task
	consent      map[string]int // MRN → consent history rows
	lastConsent  map[string]store.ConsentEvent
}

func snapshot(ctx context.Context, st *store.Store) (state, error) {
	r := st.Reader()
	s := state{patients: map[string]tools.PatientJSON{}, tags: map[string]bool{}, appointments: map[string]string{},
		interactions: map[int64]string{}, interMRN: map[int64]store.Interaction{}, tasks: map[int64]store.Task{},
		consent: map[string]int{}, lastConsent: map[string]store.ConsentEvent{}}
	ps, err := r.FindPatients(ctx, store.PatientFilter{}, 0)
	if err != nil {
		return s, err
	}
	histories, err := r.ConsentHistories(ctx)
	if err != nil {
		return s, err
	}
	for _, p := range ps {
		j := tools.NewPatientJSON(p)
		j.Tags = nil
		s.patients[p.MRN] = j
		for _, t := range p.Tags {
			s.tags[p.MRN+" "+t] = true
		}
		hist := histories[p.ID]
		s.consent[p.MRN] = len(hist)
		if len(hist) > 0 {
			s.lastConsent[p.MRN] = hist[len(hist)-1]
		}
	}
	ts, err := r.FindTasks(ctx, store.TaskQuery{}, 0)
	if err != nil {
		return s, err
	}
	for _, t := range ts {
		s.tasks[t.ID] = t
	}
	as, err := r.FindAppointments(ctx, store.AppointmentQuery{}, 0)
	if err != nil {
		return s, err
	}
	for _, a := range as {
		s.appointments[tools.AppointmentRef(a)] = fmt.Sprintf("%+v", tools.NewAppointmentJSON(a))
	}
	is, err := r.FindInteractions(ctx, store.InteractionQuery{}, 0)
	if err != nil {
		return s, err
	}
	for _, i := range is {
		s.interactions[i.ID] = fmt.Sprintf("%+v", tools.NewInteractionJSON(i))
		s.interMRN[i.ID] = i
	}
	return s, nil
}

// changes is the difference between two states.
type changes struct {
	tagsAdded         map[string][]string
	tagsRemoved       map[string][]string
	interactionsAdded []AddedInteraction
	patientsChanged   map[string]map[string]string
	tasksAdded        []AddedTask
	tasksDone         []string
	consentAdded      []AddedConsent
	other             []string
}

func (c changes) empty() bool {
	return len(c.tagsAdded) == 0 && len(c.tagsRemoved) == 0 && len(c.interactionsAdded) == 0 && len(c.other) == 0 &&
		len(c.patientsChanged) == 0 && len(c.tasksAdded) == 0 && len(c.tasksDone) == 0 && len(c.consentAdded) == 0
}

// patientFields is a patient as show --json spells its fields, for the
// fields a write changed. consent_changed_at follows marketing_consent and
// is left out.
func patientFields(p tools.PatientJSON) map[string]string {
	b, _ := json.Marshal(p)
	var m map[string]any
	json.Unmarshal(b, &m)
	out := map[string]string{}
	for k, v := range m {
		if k == "tags" || k == "consent_changed_at" {
			continue
		}
		out[k] = fmt.Sprint(v)
	}
	return out
}

func (c changes) String() string {
	var parts []string
	for tag, mrns := range c.tagsAdded {
		parts = append(parts, fmt.Sprintf("tag %s added to %d", tag, len(mrns)))
	}
	for tag, mrns := range c.tagsRemoved {
		parts = append(parts, fmt.Sprintf("tag %s removed from %d", tag, len(mrns)))
	}
	if n := len(c.interactionsAdded); n > 0 {
		parts = append(parts, fmt.Sprintf("%d interactions added", n))
	}
	if n := len(c.patientsChanged); n > 0 {
		parts = append(parts, fmt.Sprintf("%d patients changed", n))
	}
	if n := len(c.tasksAdded); n > 0 {
		parts = append(parts, fmt.Sprintf("%d tasks added", n))
	}
	if n := len(c.tasksDone); n > 0 {
		parts = append(parts, fmt.Sprintf("%d tasks done", n))
	}
	if n := len(c.consentAdded); n > 0 {
		parts = append(parts, fmt.Sprintf("%d consent decisions recorded", n))
	}
	parts = append(parts, c.other...)
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func (before state) diff(after state) changes {
	c := changes{tagsAdded: map[string][]string{}, tagsRemoved: map[string][]string{}}
	for k := range after.tags {
		if !before.tags[k] {
			mrn, tag, _ := strings.Cut(k, " ")
			c.tagsAdded[tag] = append(c.tagsAdded[tag], mrn)
		}
	}
	for k := range before.tags {
		if !after.tags[k] {
			mrn, tag, _ := strings.Cut(k, " ")
			c.tagsRemoved[tag] = append(c.tagsRemoved[tag], mrn)
		}
	}
	for mrn, p := range after.patients {
		old, ok := before.patients[mrn]
		if !ok {
			c.other = append(c.other, "patient "+mrn+" added")
			continue
		}
		was, now := patientFields(old), patientFields(p)
		for k, v := range now {
			if was[k] != v {
				if c.patientsChanged == nil {
					c.patientsChanged = map[string]map[string]string{}
				}
				if c.patientsChanged[mrn] == nil {
					c.patientsChanged[mrn] = map[string]string{}
				}
				c.patientsChanged[mrn][k] = v
			}
		}
		if n := after.consent[mrn] - before.consent[mrn]; n == 1 {
			e := after.lastConsent[mrn]
			c.consentAdded = append(c.consentAdded, AddedConsent{MRN: mrn, Marketing: e.Marketing, Source: string(e.Source)})
		} else if n != 0 {
			c.other = append(c.other, fmt.Sprintf("consent history of %s changed by %d rows", mrn, n))
		}
	}
	for id, t := range after.tasks {
		old, ok := before.tasks[id]
		switch {
		case !ok:
			at := AddedTask{MRN: t.PatientMRN, Kind: string(t.Kind)}
			if !t.Due.IsZero() {
				at.Due = t.Due.Format(time.DateOnly)
			}
			c.tasksAdded = append(c.tasksAdded, at)
		case old.Open() && !t.Open() && old.Text == t.Text && old.PatientID == t.PatientID:
			c.tasksDone = append(c.tasksDone, t.PatientMRN)
		case old.Open() != t.Open() || old.Text != t.Text || old.PatientID != t.PatientID || !old.Due.Equal(t.Due) || old.AssignedTo != t.AssignedTo:
			c.other = append(c.other, fmt.Sprintf("task %d changed", id))
		}
	}
	for id := range before.tasks {
		if _, ok := after.tasks[id]; !ok {
			c.other = append(c.other, fmt.Sprintf("task %d removed", id))
		}
	}
	for mrn := range before.patients {
		if _, ok := after.patients[mrn]; !ok {
			c.other = append(c.other, "patient "+mrn+" removed")
		}
	}
	for id, a := range after.appointments {
		if old, ok := before.appointments[id]; !ok || old != a {
			c.other = append(c.other, "appointment "+id+" added or changed")
		}
	}
	for id := range before.appointments {
		if _, ok := after.appointments[id]; !ok {
			c.other = append(c.other, "appointment "+id+" removed")
		}
	}
	for id, i := range after.interactions {
		old, ok := before.interactions[id]
		switch {
		case !ok:
			in := after.interMRN[id]
			c.interactionsAdded = append(c.interactionsAdded, AddedInteraction{MRN: in.PatientMRN, Channel: string(in.Channel)})
		case old != i:
			c.other = append(c.other, fmt.Sprintf("interaction %d changed", id))
		}
	}
	for id := range before.interactions {
		if _, ok := after.interactions[id]; !ok {
			c.other = append(c.other, fmt.Sprintf("interaction %d removed", id))
		}
	}
	if len(c.tagsAdded) == 0 {
		c.tagsAdded = nil
	}
	if len(c.tagsRemoved) == 0 {
		c.tagsRemoved = nil
	}
	sort.Strings(c.other)
	return c
}
