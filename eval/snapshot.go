package eval

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// state is everything a request may change, audit log aside.
type state struct {
	patients     map[string]string // MRN → every field but the tags
	tags         map[string]bool   // "MRN tag"
	appointments map[string]string // id → every field
	interactions map[int64]string  // internal id → every field
	interMRN     map[int64]store.Interaction
}

func snapshot(ctx context.Context, st *store.Store) (state, error) {
	r := st.Reader()
	s := state{patients: map[string]string{}, tags: map[string]bool{}, appointments: map[string]string{},
		interactions: map[int64]string{}, interMRN: map[int64]store.Interaction{}}
	ps, err := r.FindPatients(ctx, store.PatientFilter{}, 0)
	if err != nil {
		return s, err
	}
	for _, p := range ps {
		j := tools.NewPatientJSON(p)
		j.Tags = nil
		s.patients[p.MRN] = fmt.Sprintf("%+v", j)
		for _, t := range p.Tags {
			s.tags[p.MRN+" "+t] = true
		}
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
	other             []string
}

func (c changes) empty() bool {
	return len(c.tagsAdded) == 0 && len(c.tagsRemoved) == 0 && len(c.interactionsAdded) == 0 && len(c.other) == 0
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
		if old, ok := before.patients[mrn]; !ok {
			c.other = append(c.other, "patient "+mrn+" added")
		} else if old != p {
			c.other = append(c.other, "patient "+mrn+" changed")
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
