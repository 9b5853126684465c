package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadWritesRowsAndContinuesSequences(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	// An earlier patient, so that the sequence does not start at 1, and a
	// tag that already exists.
	addPatients(t, s, Patient{MRN: "P0", FirstName: "Ada", LastName: "Lovelace"})
	if err := s.Write(ctx, AuditEntry{Channel: "test", Action: "{}"}, func(tx *Tx) error {
		_, err := tx.AddTag(ctx, "vip", []int64{1})
		return err
	}); err != nil {
		t.Fatal(err)
	}

	dob := time.Date(1980, 2, 3, 0, 0, 0, 0, time.UTC)
	at := time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)
	var ids []int64
	err := s.Write(ctx, AuditEntry{Channel: "demo", Action: "{}"}, func(tx *Tx) error {
		var err error
		ids, err = tx.LoadPatients(ctx, []Patient{
			{MRN: "D1", FirstName: "María José", LastName: "García", DOB: dob, Sex: "F", Email: "mj@example.org",
				Phone: "5551234567", City: "Springfield", Language: "Spanish", MarketingConsent: true,
				ConsentChangedAt: at, Tags: []string{"vip", "spanish-speaking", "vip"}},
			{MRN: "D2", FirstName: "Liam", LastName: "O'Brien", Status: StatusDeceased},
		})
		if err != nil {
			return err
		}
		if err := tx.LoadAppointments(ctx, []Appointment{
			{ExternalID: "DA1", PatientID: ids[0], StartsAt: at, Type: "follow-up", Provider: "Dr. Kim", Status: AppointmentCompleted},
			{PatientID: ids[1], StartsAt: at.Add(time.Hour), Status: AppointmentCancelled},
		}); err != nil {
			return err
		}
		return tx.LoadInteractions(ctx, []Interaction{
			{ExternalID: "DI1", PatientID: ids[0], At: at, Channel: ChannelSMS, Direction: DirectionOutbound, Staff: "front desk (Ana)", Summary: "Reminder"},
		})
	})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if len(ids) != 2 || ids[0] < 2 || ids[1] != ids[0]+1 {
		t.Fatalf("ids %v, want two new ids after the existing patient", ids)
	}

	r := s.Reader()
	ps, err := r.FindPatients(ctx, PatientFilter{MRNs: []string{"D1", "D2"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	mj, liam := ps[0], ps[1]
	if mj.MRN != "D1" {
		mj, liam = liam, mj
	}
	if mj.ID != ids[0] || mj.FullName() != "María José García" || !mj.DOB.Equal(dob) || mj.Email != "mj@example.org" ||
		!mj.MarketingConsent || !mj.ConsentChangedAt.Equal(at) || mj.Status != StatusActive || !mj.CreatedAt.Equal(fixedNow) ||
		!slices.Equal(mj.Tags, []string{"spanish-speaking", "vip"}) {
		t.Errorf("loaded patient %+v", mj)
	}
	if liam.Status != StatusDeceased || !liam.DOB.IsZero() || liam.Email != "" || len(liam.Tags) != 0 {
		t.Errorf("loaded patient %+v", liam)
	}
	appts, _ := r.FindAppointments(ctx, AppointmentQuery{}, 0)
	if len(appts) != 2 || appts[0].ExternalID != "DA1" || appts[0].PatientMRN != "D1" || !appts[0].StartsAt.Equal(at) || appts[1].ExternalID != "" {
		t.Errorf("loaded appointments %+v", appts)
	}
	ixs, _ := r.FindInteractions(ctx, InteractionQuery{}, 0)
	if len(ixs) != 1 || ixs[0].PatientMRN != "D1" || ixs[0].Summary != "Reminder" {
		t.Errorf("loaded interactions %+v", ixs)
	}
	tags, _ := r.ListTags(ctx)
	if want := []TagCount{{"spanish-speaking", 1}, {"vip", 2}}; !slices.Equal(tags, want) {
		t.Errorf("tags %v, want %v", tags, want)
	}

	// The audit row names the new patients and counts rows: 2 patients,
	// 2 tag links, 2 appointments, 1 interaction.
	log, _ := r.AuditLog(ctx, 0)
	last := log[len(log)-1]
	if last.Channel != "demo" || !slices.Equal(last.PatientIDs, ids) || last.Rows != 7 {
		t.Errorf("audit row %+v", last)
	}

	// Later writes carry on after the loaded ids.
	addPatients(t, s, Patient{MRN: "P9", FirstName: "Alan", LastName: "Turing"})
	later, _ := r.FindPatients(ctx, PatientFilter{MRNs: []string{"P9"}}, 0)
	if len(later) != 1 || later[0].ID <= ids[1] {
		t.Errorf("patient added after the load got id %d, want more than %d", later[0].ID, ids[1])
	}
	var newIx []int64
	if err := s.Write(ctx, AuditEntry{Channel: "test", Action: "{}"}, func(tx *Tx) error {
		var err error
		newIx, err = tx.LogInteraction(ctx, NewInteraction{At: at, Channel: ChannelNote, Direction: DirectionOutbound}, ids[:1])
		return err
	}); err != nil {
		t.Fatalf("interaction after the load: %v", err)
	}
	if len(newIx) != 1 || newIx[0] <= ixs[0].ID {
		t.Errorf("interaction logged after the load got id %v, want more than %d", newIx, ixs[0].ID)
	}
}

func TestLoadRefusesBadRowsAndKeepsNothing(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		load func(*Tx) error
		want string
	}{
		{"duplicate MRN", func(tx *Tx) error {
			_, err := tx.LoadPatients(ctx, []Patient{{MRN: "D1"}, {MRN: "D1"}})
			return err
		}, "load patients"},
		{"bad tag", func(tx *Tx) error {
			_, err := tx.LoadPatients(ctx, []Patient{{MRN: "D1", Tags: []string{"Refill Overdue"}}})
			return err
		}, "lowercase-kebab"},
		{"unknown patient", func(tx *Tx) error {
			if _, err := tx.LoadPatients(ctx, []Patient{{MRN: "D1"}}); err != nil {
				return err
			}
			return tx.LoadAppointments(ctx, []Appointment{{PatientID: 999, StartsAt: time.Now(), Status: AppointmentScheduled}})
		}, "not in the database"},
		{"bad channel", func(tx *Tx) error {
			ids, err := tx.LoadPatients(ctx, []Patient{{MRN: "D1"}})
			if err != nil {
				return err
			}
			return tx.LoadInteractions(ctx, []Interaction{{PatientID: ids[0], At: time.Now(), Channel: "fax", Direction: DirectionInbound}})
		}, "load interactions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _ := openTemp(t)
			err := s.Write(ctx, AuditEntry{Channel: "demo", Action: "{}"}, c.load)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, c.want)
			}
			n, _ := s.Reader().Counts(ctx)
			if n.Patients != 0 || n.Appointments != 0 || n.Interactions != 0 || n.Tags != 0 {
				t.Errorf("a failed load left rows behind: %+v", n)
			}
		})
	}
}

func TestLoadHonoursCancellation(t *testing.T) {
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	rows := make([]Interaction, 10000)
	err := s.Write(ctx, AuditEntry{Channel: "demo", Action: "{}"}, func(tx *Tx) error {
		ids, err := tx.LoadPatients(ctx, []Patient{{MRN: "D1"}})
		if err != nil {
			return err
		}
		for i := range rows {
			rows[i] = Interaction{PatientID: ids[0], At: time.Now(), Channel: ChannelNote, Direction: DirectionOutbound}
		}
		cancel()
		return tx.LoadInteractions(ctx, rows)
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	n, _ := s.Reader().Counts(context.Background())
	if n.Patients != 0 || n.Interactions != 0 {
		t.Errorf("a cancelled load left rows behind: %+v", n)
	}
}
