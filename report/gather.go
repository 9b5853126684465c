package report

import (
	"context"
	"fmt"
	"time"

	"github.com/carebook/carebook/store"
)

// TopTags is how many tags the tag panel shows.
const TopTags = 15

// Inputs are the raw counts a report is built from, as the store answers
// them: not yet suppressed, so they never leave the process that read them.
// Build turns them into a Report, which is what a backend should hand on.
type Inputs struct {
	Period Period
	// Now is when the report is made: the date of the "today" panels (tags,
	// consent standing), which have no history.
	Now time.Time

	AppointmentsByMonth    []store.Tally // trend: month × status
	AppointmentsByProvider []store.Tally // trend: provider × status
	AppointmentsInPeriod   []store.Tally // period: status
	NewPatientsByMonth     []store.Tally // trend: month
	Contacts               []store.Tally // period: channel × direction
	ActiveTags             []store.Tally // today: tag, the TopTags largest
	ConsentByMonth         []store.Tally // trend: month × in/out
	ConsentStanding        []store.Tally // today: in/out, active patients
	NewPatientsInPeriod    []store.Tally // period: one bucket per month from its start
	ConsentInPeriod        []store.Tally // period: in/out, as ConsentByMonth
	RecallTasks            []store.Tally // period: recall reason × done/overdue/earlier, at its end
}

// Gather reads everything a report shows from the store: every store call
// of a report is here, so that moving reports behind a backend (the file or
// the server) moves one function. It reads aggregates only; the caller
// writes the audit row.
func Gather(ctx context.Context, r store.Reader, p Period, now time.Time) (*Inputs, error) {
	in := &Inputs{Period: p, Now: now}
	trend := p.Trend()
	steps := []struct {
		dst *[]store.Tally
		get func() ([]store.Tally, error)
	}{
		{&in.AppointmentsByMonth, func() ([]store.Tally, error) { return r.ReportAppointmentsByMonth(ctx, trend.From, trend.To) }},
		{&in.AppointmentsByProvider, func() ([]store.Tally, error) { return r.ReportAppointmentsByProvider(ctx, trend.From, trend.To) }},
		{&in.AppointmentsInPeriod, func() ([]store.Tally, error) { return r.ReportAppointmentsByStatus(ctx, p.From, p.To) }},
		{&in.NewPatientsByMonth, func() ([]store.Tally, error) { return r.ReportNewPatientsByMonth(ctx, trend.From, trend.To) }},
		{&in.Contacts, func() ([]store.Tally, error) { return r.ReportContacts(ctx, p.From, p.To) }},
		{&in.ActiveTags, func() ([]store.Tally, error) { return r.ReportActiveTags(ctx, TopTags) }},
		{&in.ConsentByMonth, func() ([]store.Tally, error) { return r.ReportConsentChanges(ctx, trend.From, trend.To) }},
		{&in.ConsentStanding, func() ([]store.Tally, error) { return r.ReportConsentStanding(ctx) }},
		{&in.NewPatientsInPeriod, func() ([]store.Tally, error) { return r.ReportNewPatientsByMonth(ctx, p.From, p.To) }},
		{&in.ConsentInPeriod, func() ([]store.Tally, error) { return r.ReportConsentChanges(ctx, p.From, p.To) }},
		{&in.RecallTasks, func() ([]store.Tally, error) { return r.ReportRecallTasks(ctx, p.From, p.To) }},
	}
	for _, s := range steps {
		got, err := s.get()
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		*s.dst = got
	}
	return in, nil
}
