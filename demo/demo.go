// Package demo writes a synthetic practice into a new database, for trying
// Carebook and for the benchmarks. Nobody in it is real: names come from
// lists of common names, phone numbers are 555 numbers, and email addresses
// use the example.com, example.org and example.net domains.
//
// The same seed, patient count and "now" always give the same practice,
// byte for byte: every draw comes from PCG generators seeded from Options,
// in a fixed order.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/carebook/carebook/store"
)

// Options say what practice to generate.
type Options struct {
	// Patients is how many patients to write; at least 1. The practice gets
	// exactly 3 appointments and 10 interactions per patient on average,
	// spread unevenly among them.
	Patients int
	// Seed picks the practice: the same seed gives the same data.
	Seed uint64
	// Now anchors every date (from CAREBOOK_NOW). Zero means the store's
	// clock, which makes the data depend on when it was generated.
	Now time.Time
	// Progress, if set, hears about each stage ("patients", "appointments",
	// "interactions") as it starts and after every batch of rows, then about
	// "saving" (0 of 1) while the transaction commits, and (1 of 1) once it
	// has.
	Progress func(stage string, done, total int)
}

// Summary says what Generate wrote.
type Summary struct {
	Patients, Appointments, Interactions, Tags int
	Elapsed                                    time.Duration
}

const (
	appointmentsPerPatient = 3
	interactionsPerPatient = 10
	// batchSize bounds the rows handed to the store at once, and sets how
	// often Progress hears from us.
	batchSize = 50_000
)

// Generate writes a synthetic practice of opts.Patients patients into st, in
// one transaction with one audit entry. It refuses a database that already
// has patients. If ctx is cancelled, nothing is written.
func Generate(ctx context.Context, st *store.Store, opts Options) (Summary, error) {
	start := time.Now() // for Elapsed only: no generated value depends on it
	if opts.Patients < 1 {
		return Summary{}, errors.New("the demo needs at least 1 patient")
	}
	if err := refuseNonEmpty(ctx, st.Reader()); err != nil {
		return Summary{}, err
	}
	now := opts.Now
	if now.IsZero() {
		now = st.Now()
	}
	action, err := json.Marshal(auditAction{Tool: "demo", Args: auditArgs{Patients: opts.Patients, Seed: opts.Seed}})
	if err != nil {
		return Summary{}, err
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, int, int) {}
	}

	g := newGenerator(opts.Seed, now, opts.Patients)
	var sum Summary
	err = st.Write(ctx, store.AuditEntry{Channel: "demo", Action: string(action)}, func(tx *store.Tx) error {
		// Checked again inside the transaction, in case another process
		// wrote patients since.
		if err := refuseNonEmpty(ctx, tx.Reader); err != nil {
			return err
		}
		var err error
		sum, err = g.write(ctx, tx, progress)
		return err
	})
	if err != nil {
		return Summary{}, err
	}
	progress("saving", 1, 1)
	sum.Elapsed = time.Since(start)
	return sum, nil
}

type auditAction struct {
	Tool string    `json:"tool"`
	Args auditArgs `json:"args"`
}

type auditArgs struct {
	Patients int    `json:"patients"`
	Seed     uint64 `json:"seed"`
}

func refuseNonEmpty(ctx context.Context, r store.Reader) error {
	n, err := r.CountPatients(ctx, store.PatientFilter{})
	if err != nil {
		return err
	}
	switch {
	case n == 1:
		return errors.New("the database already has 1 patient; demo data goes into a new database (use --db)")
	case n > 1:
		return fmt.Errorf("the database already has %d patients; demo data goes into a new database (use --db)", n)
	}
	return nil
}

// write generates and loads the practice stage by stage: patients first,
// since appointments and interactions need their ids.
func (g *generator) write(ctx context.Context, tx *store.Tx, progress func(string, int, int)) (Summary, error) {
	progress("patients", 0, g.n)
	g.makePatients()
	g.register()
	for lo := 0; lo < len(g.people); lo += batchSize {
		hi := min(lo+batchSize, len(g.people))
		batch := make([]store.Patient, hi-lo)
		for i := range batch {
			batch[i] = g.people[lo+i].Patient
		}
		ids, err := tx.LoadPatients(ctx, batch)
		if err != nil {
			return Summary{}, err
		}
		for i, id := range ids {
			g.people[lo+i].ID = id
		}
		progress("patients", hi, g.n)
	}

	total := g.n * appointmentsPerPatient
	progress("appointments", 0, total)
	g.makeAppointments()
	order := g.appointmentOrder()
	for lo := 0; lo < len(order); lo += batchSize {
		hi := min(lo+batchSize, len(order))
		batch := make([]store.Appointment, hi-lo)
		for i := range batch {
			batch[i] = g.appointmentRow(lo+i, order[lo+i])
		}
		if err := tx.LoadAppointments(ctx, batch); err != nil {
			return Summary{}, err
		}
		progress("appointments", hi, total)
	}

	total = g.n * interactionsPerPatient
	progress("interactions", 0, total)
	g.makeInteractions()
	g.sortInteractions()
	for lo := 0; lo < len(g.interactions); lo += batchSize {
		hi := min(lo+batchSize, len(g.interactions))
		batch := make([]store.Interaction, hi-lo)
		for i := range batch {
			batch[i] = g.interactionRow(lo + i)
		}
		if err := tx.LoadInteractions(ctx, batch); err != nil {
			return Summary{}, err
		}
		progress("interactions", hi, total)
	}

	progress("saving", 0, 1)
	return Summary{
		Patients:     len(g.people),
		Appointments: len(g.appointments),
		Interactions: len(g.interactions),
		Tags:         g.tagsUsed(),
	}, nil
}
