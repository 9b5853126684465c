package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Months of created_at and consent_changed_at (UTC instants) start at the
// practice's local midnight, and months of appointments (wall-clock times)
// at midnight on the wall clock, whatever the zone.
func TestReportMonthsFollowThePracticeZone(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	est := time.FixedZone("EST", -5*60*60)
	// 02:00 UTC on 1 May is still 30 April in the practice's zone.
	lateApril := time.Date(2026, 5, 1, 2, 0, 0, 0, time.UTC)
	earlyMay := time.Date(2026, 5, 1, 6, 0, 0, 0, time.UTC)
	err := s.Write(ctx, AuditEntry{Channel: "test", Action: "{}"}, func(tx *Tx) error {
		ids, err := tx.LoadPatients(ctx, []Patient{
			{MRN: "A", FirstName: "A", LastName: "A", CreatedAt: lateApril, MarketingConsent: true, ConsentChangedAt: lateApril, Status: StatusActive},
			{MRN: "B", FirstName: "B", LastName: "B", CreatedAt: earlyMay, ConsentChangedAt: earlyMay, Status: StatusActive},
		})
		if err != nil {
			return err
		}
		return tx.LoadAppointments(ctx, []Appointment{
			{PatientID: ids[0], StartsAt: time.Date(2026, 4, 30, 23, 30, 0, 0, time.UTC), Provider: "Dr. Kim", Status: AppointmentCompleted},
			{PatientID: ids[1], StartsAt: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), Provider: "Dr. Kim", Status: AppointmentNoShow},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Reader()
	from, to := time.Date(2026, 4, 1, 0, 0, 0, 0, est), time.Date(2026, 6, 1, 0, 0, 0, 0, est)
	newPatients, err := r.ReportNewPatientsByMonth(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Tally{{Key: "2026-04", Count: 1}, {Key: "2026-05", Count: 1}}; !cmp.Equal(newPatients, want) {
		t.Errorf("new patients %v, want %v", newPatients, want)
	}
	consent, err := r.ReportConsentChanges(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Tally{{Key: "2026-04", Sub: "in", Count: 1}, {Key: "2026-05", Sub: "out", Count: 1}}; !cmp.Equal(consent, want) {
		t.Errorf("consent changes %v, want %v", consent, want)
	}
	appts, err := r.ReportAppointmentsByMonth(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Tally{{Key: "2026-04", Sub: "completed", Count: 1}, {Key: "2026-05", Sub: "no-show", Count: 1}}; !cmp.Equal(appts, want) {
		t.Errorf("appointments %v, want %v", appts, want)
	}
	// A period that ends mid-month cuts its last month there.
	cut, err := r.ReportAppointmentsByMonth(ctx, from, time.Date(2026, 5, 1, 0, 0, 0, 0, est))
	if err != nil {
		t.Fatal(err)
	}
	if want := []Tally{{Key: "2026-04", Sub: "completed", Count: 1}}; !cmp.Equal(cut, want) {
		t.Errorf("appointments to 1 May %v, want %v", cut, want)
	}
}
