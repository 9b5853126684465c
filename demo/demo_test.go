package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"github.com/carebook/carebook/store"
)

var testNow = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "demo.duckdb"),
		store.Options{Now: func() time.Time { return testNow }, Actor: "tester"})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func generate(t *testing.T, patients int, seed uint64) (*store.Store, Summary) {
	t.Helper()
	st := openStore(t)
	sum, err := Generate(context.Background(), st, Options{Patients: patients, Seed: seed, Now: testNow})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return st, sum
}

// practice is everything a store holds, as the readers return it, minus
// the timestamps the store's clock sets.
type practice struct {
	Patients     []store.Patient
	Appointments []store.Appointment
	Interactions []store.Interaction
	Tags         []store.TagCount
}

func export(t *testing.T, st *store.Store) practice {
	t.Helper()
	ctx := context.Background()
	r := st.Reader()
	var p practice
	var err error
	if p.Patients, err = r.FindPatients(ctx, store.PatientFilter{}, 0); err != nil {
		t.Fatal(err)
	}
	for i := range p.Patients {
		p.Patients[i].CreatedAt, p.Patients[i].UpdatedAt = time.Time{}, time.Time{}
	}
	if p.Appointments, err = r.FindAppointments(ctx, store.AppointmentQuery{}, 0); err != nil {
		t.Fatal(err)
	}
	if p.Interactions, err = r.FindInteractions(ctx, store.InteractionQuery{}, 0); err != nil {
		t.Fatal(err)
	}
	if p.Tags, err = r.ListTags(ctx); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGenerateSmallPractice(t *testing.T) {
	const n = 500
	st, sum := generate(t, n, 1)
	ctx := context.Background()
	counts, err := st.Reader().Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts.Patients != n || counts.Appointments != 3*n || counts.Interactions != 10*n {
		t.Fatalf("counts %+v, want %d patients, %d appointments, %d interactions", counts, n, 3*n, 10*n)
	}
	if sum.Patients != n || sum.Appointments != 3*n || sum.Interactions != 10*n || sum.Tags != counts.Tags || sum.Elapsed <= 0 {
		t.Errorf("summary %+v does not match the database %+v", sum, counts)
	}
	p := export(t, st)

	t.Run("patients", func(t *testing.T) {
		mrn := regexp.MustCompile(`^D\d{6}$`)
		email := regexp.MustCompile(`^[a-z0-9._]+@example\.(com|org|net)$`)
		phone := regexp.MustCompile(`^555\d{7}$`)
		names := map[string]int{}
		seen := map[string]bool{}
		for _, pt := range p.Patients {
			if !mrn.MatchString(pt.MRN) || seen[pt.MRN] {
				t.Errorf("MRN %q is malformed or repeated", pt.MRN)
			}
			seen[pt.MRN] = true
			if pt.FirstName == "" || pt.LastName == "" {
				t.Errorf("%s has no name: %+v", pt.MRN, pt)
			}
			if pt.Email != "" && !email.MatchString(pt.Email) {
				t.Errorf("%s: email %q", pt.MRN, pt.Email)
			}
			if pt.Phone != "" && !phone.MatchString(pt.Phone) {
				t.Errorf("%s: phone %q", pt.MRN, pt.Phone)
			}
			if !pt.Status.Valid() {
				t.Errorf("%s: status %q", pt.MRN, pt.Status)
			}
			if age := yearsOld(pt.DOB, testNow.Unix()); pt.DOB.IsZero() || age < 0 || age > 95 {
				t.Errorf("%s: born %s, age %d", pt.MRN, pt.DOB, age)
			}
			if !contains([]string{"F", "M", "X", ""}, pt.Sex) {
				t.Errorf("%s: sex %q", pt.MRN, pt.Sex)
			}
			names[pt.FullName()]++
		}
		if names["John Smith"] < 2 {
			t.Errorf("%d patients are called John Smith, want at least 2", names["John Smith"])
		}
		pairs := 0
		for _, c := range names {
			if c > 1 {
				pairs++
			}
		}
		if pairs < 1 {
			t.Errorf("no two patients share a name")
		}
	})

	t.Run("tags", func(t *testing.T) {
		known := map[string]bool{}
		for _, tag := range []string{tagAnxious, tagAsthma, tagCOPD, tagDiabetes, tagHypertension, tagNewParent, tagNewsletter,
			tagNoShowRisk, tagPregnant, tagRecallDue, tagRefillOverdue, tagSpanishSpeaking, tagVIP} {
			known[tag] = true
		}
		byName := map[string]int{}
		for _, tc := range p.Tags {
			if !store.ValidTagName(tc.Name) || !known[tc.Name] {
				t.Errorf("tag %q", tc.Name)
			}
			byName[tc.Name] = tc.Patients
		}
		if byName[tagVIP] < 10 || byName[tagVIP] > 45 {
			t.Errorf("%d vip patients of %d, want about 5%%", byName[tagVIP], n)
		}
		for _, pt := range p.Patients {
			if contains(pt.Tags, tagSpanishSpeaking) && pt.Language != "Spanish" && !isSpanishName(pt) {
				t.Errorf("%s is tagged spanish-speaking: %+v", pt.MRN, pt)
			}
			if contains(pt.Tags, tagPregnant) && (pt.Sex != "F" || pt.Status != store.StatusActive) {
				t.Errorf("%s is tagged pregnant: %+v", pt.MRN, pt)
			}
		}
	})

	byID := map[int64]store.Patient{}
	for _, pt := range p.Patients {
		byID[pt.ID] = pt
	}

	t.Run("appointments", func(t *testing.T) {
		from, to := testNow.AddDate(-2, 0, -1), testNow.AddDate(0, 3, 1)
		for i, a := range p.Appointments {
			pt := byID[a.PatientID]
			if !a.Status.Valid() || a.Provider == "" || a.Type == "" {
				t.Errorf("appointment %+v", a)
			}
			if a.StartsAt.Before(from) || !a.StartsAt.Before(to) {
				t.Errorf("%s starts %s, outside %s–%s", a.ExternalID, a.StartsAt, from, to)
			}
			h, m := a.StartsAt.Hour(), a.StartsAt.Minute()
			if wd := a.StartsAt.Weekday(); wd == time.Saturday || wd == time.Sunday || h < 8 || h > 16 || m%30 != 0 {
				t.Errorf("%s starts %s, outside office hours", a.ExternalID, a.StartsAt.Format(time.RFC1123))
			}
			if future := a.StartsAt.After(testNow); future != (a.Status == store.AppointmentScheduled) {
				t.Errorf("%s on %s is %s", a.ExternalID, a.StartsAt, a.Status)
			}
			if future := a.StartsAt.After(testNow); future && pt.Status != store.StatusActive {
				t.Errorf("%s is booked for a %s patient", a.ExternalID, pt.Status)
			}
			if a.Type == typeWellChild && yearsOld(pt.DOB, a.StartsAt.Unix()) >= 18 {
				t.Errorf("%s: well-child visit for an adult born %s", a.ExternalID, pt.DOB)
			}
			if a.StartsAt.Before(pt.DOB) {
				t.Errorf("%s is before the patient was born", a.ExternalID)
			}
			if i > 0 && a.ExternalID <= p.Appointments[i-1].ExternalID {
				t.Errorf("external ids do not follow start times: %s after %s", a.ExternalID, p.Appointments[i-1].ExternalID)
			}
		}
		if p.Appointments[0].ExternalID != "DA0000001" {
			t.Errorf("first appointment is %s, want DA0000001", p.Appointments[0].ExternalID)
		}
	})

	t.Run("interactions", func(t *testing.T) {
		from := testNow.AddDate(0, -18, 0)
		for _, it := range p.Interactions {
			if !it.Channel.Valid() || !it.Direction.Valid() || it.Staff == "" || it.Summary == "" {
				t.Errorf("interaction %+v", it)
			}
			if it.At.Before(from) || !it.At.Before(testNow) {
				t.Errorf("%s at %s, outside %s–%s", it.ExternalID, it.At, from, testNow)
			}
			if it.At.Before(byID[it.PatientID].DOB) {
				t.Errorf("%s is before the patient was born", it.ExternalID)
			}
		}
		// Newest first.
		if last := p.Interactions[len(p.Interactions)-1]; last.ExternalID != "DI0000001" {
			t.Errorf("oldest interaction is %s, want DI0000001", last.ExternalID)
		}
	})

	t.Run("audit", func(t *testing.T) {
		log, err := st.Reader().AuditLog(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		last := log[len(log)-1]
		if last.Channel != "demo" || last.Action != `{"tool":"demo","args":{"patients":500,"seed":1}}` ||
			last.Outcome != store.OutcomeOK || len(last.PatientIDs) != n {
			t.Errorf("audit row %+v", last)
		}
	})
}

func isSpanishName(p store.Patient) bool {
	for _, c := range cultures {
		if c.name == "spanish" {
			return contains(c.female, p.FirstName) || contains(c.male, p.FirstName)
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestGenerateIsDeterministic(t *testing.T) {
	const n = 300
	a, _ := generate(t, n, 42)
	b, _ := generate(t, n, 42)
	c, _ := generate(t, n, 43)
	pa, pb, pc := export(t, a), export(t, b), export(t, c)
	if diff := cmp.Diff(pa, pb); diff != "" {
		t.Errorf("the same seed gave different practices (-first +second):\n%s", diff)
	}
	if cmp.Equal(pa.Patients, pc.Patients) || cmp.Equal(pa.Appointments, pc.Appointments) || cmp.Equal(pa.Interactions, pc.Interactions) {
		t.Errorf("seeds 42 and 43 gave the same data")
	}
}

func TestGenerateRefusesAPracticeWithPatients(t *testing.T) {
	st, _ := generate(t, 20, 1)
	_, err := Generate(context.Background(), st, Options{Patients: 20, Seed: 2, Now: testNow})
	want := "the database already has 20 patients; demo data goes into a new database (use --db)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	counts, _ := st.Reader().Counts(context.Background())
	if counts.Patients != 20 {
		t.Errorf("the refused run changed the practice: %+v", counts)
	}
}

func TestGenerateTinyPractices(t *testing.T) {
	for _, n := range []int{1, 2, 10} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			st, sum := generate(t, n, 5)
			counts, err := st.Reader().Counts(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if counts.Patients != n || counts.Appointments != 3*n || counts.Interactions != 10*n || sum.Patients != n {
				t.Errorf("counts %+v, summary %+v", counts, sum)
			}
		})
	}
}

func TestGenerateRejectsNoPatients(t *testing.T) {
	if _, err := Generate(context.Background(), openStore(t), Options{Patients: 0, Now: testNow}); err == nil {
		t.Fatal("Generate accepted 0 patients")
	}
}

// Cancelling part way, after patients and appointments are in, must leave
// nothing behind.
func TestGenerateCancelledWritesNothing(t *testing.T) {
	st := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stages []string
	progress := func(stage string, done, total int) {
		stages = append(stages, stage)
		if stage == "interactions" && done == 0 {
			cancel()
		}
	}
	_, err := Generate(ctx, st, Options{Patients: 200, Seed: 1, Now: testNow, Progress: progress})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	counts, _ := st.Reader().Counts(context.Background())
	if counts.Patients != 0 || counts.Appointments != 0 || counts.Interactions != 0 || counts.Tags != 0 {
		t.Errorf("a cancelled run left %+v", counts)
	}
	want := []string{"patients", "patients", "appointments", "appointments", "interactions"}
	if diff := cmp.Diff(want, stages); diff != "" {
		t.Errorf("progress stages (-want +got):\n%s", diff)
	}
}

// The proportions the package documents, checked on a larger practice
// without a database.
func TestProportions(t *testing.T) {
	const n = 20000
	g := newGenerator(7, testNow, n)
	g.makePatients()
	g.makeAppointments()
	g.makeInteractions()

	share := func(count int, of int) float64 { return float64(count) / float64(of) }
	var deceased, inactive, withEmail, consent, vip, spanish, kids, zeroAppts int
	for _, p := range g.people {
		switch p.Status {
		case store.StatusDeceased:
			deceased++
		case store.StatusInactive:
			inactive++
		}
		if p.Email != "" {
			withEmail++
		}
		if p.MarketingConsent {
			consent++
		}
		if hasTag(p.Tags, tagVIP) {
			vip++
		}
		if p.Language == "Spanish" {
			spanish++
		}
		if p.age < 18 {
			kids++
		}
		if p.appts == 0 {
			zeroAppts++
		}
	}
	statuses := map[store.AppointmentStatus]int{}
	past := 0
	for _, a := range g.appointments {
		statuses[a.status]++
		if a.status != store.AppointmentScheduled {
			past++
		}
	}
	channels := map[store.Channel]int{}
	for _, it := range g.interactions {
		channels[phrases[it.phrase].channel]++
	}

	checks := []struct {
		name     string
		got      float64
		min, max float64
	}{
		{"deceased", share(deceased, n), 0.015, 0.025},
		{"inactive", share(inactive, n), 0.06, 0.08},
		{"email", share(withEmail, n), 0.88, 0.92},
		{"marketing consent", share(consent, n), 0.53, 0.57},
		{"vip", share(vip, n), 0.045, 0.055},
		{"Spanish", share(spanish, n), 0.08, 0.12},
		{"under 18", share(kids, n), 0.18, 0.28},
		{"no appointments", share(zeroAppts, n), 0.10, 0.35},
		{"appointments per patient", share(len(g.appointments), n), 3, 3},
		{"interactions per patient", share(len(g.interactions), n), 10, 10},
		{"no-show of past visits", share(statuses[store.AppointmentNoShow], past), 0.07, 0.09},
		{"cancelled of past visits", share(statuses[store.AppointmentCancelled], past), 0.09, 0.11},
		{"scheduled", share(statuses[store.AppointmentScheduled], len(g.appointments)), 0.03, 0.12},
		{"calls", share(channels[store.ChannelCall], len(g.interactions)), 0.2, 0.4},
		{"letters", share(channels[store.ChannelLetter], len(g.interactions)), 0.01, 0.06},
	}
	for _, c := range checks {
		t.Logf("%-26s %.3f", c.name, c.got)
		if c.got < c.min || c.got > c.max {
			t.Errorf("%s: %.3f, want %.3f–%.3f", c.name, c.got, c.min, c.max)
		}
	}
}

func TestListsHaveNoDuplicates(t *testing.T) {
	for _, c := range cultures {
		for _, list := range [][]string{c.female, c.male, c.last} {
			seen := map[string]bool{}
			for _, name := range list {
				if seen[name] {
					t.Errorf("%s: %q is listed twice", c.name, name)
				}
				seen[name] = true
			}
		}
	}
	seen := map[string]bool{}
	for i, p := range phrases {
		if p.summary == "" || seen[p.summary] {
			t.Errorf("phrase %d: %q is empty or repeated", i, p.summary)
		}
		seen[p.summary] = true
	}
}

// Every name must fold to an email address without losing a letter.
func TestFoldKeepsEveryLetter(t *testing.T) {
	for _, c := range cultures {
		for _, list := range [][]string{c.female, c.male, c.last} {
			for _, name := range list {
				letters := 0
				for _, r := range name {
					if unicode.IsLetter(r) {
						letters++
					}
				}
				if got := fold(name); len(got) != letters {
					t.Errorf("fold(%q) = %q", name, got)
				}
			}
		}
	}
}

func TestAuditActionJSON(t *testing.T) {
	b, _ := json.Marshal(auditAction{Tool: "demo", Args: auditArgs{Patients: 100000, Seed: 7}})
	if got, want := string(b), `{"tool":"demo","args":{"patients":100000,"seed":7}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// BenchmarkGenerate100k writes 100k patients, 300k appointments and 1M
// interactions into a temporary file, and reports how long closing the file
// (DuckDB's checkpoint of the new data) takes on top.
func BenchmarkGenerate100k(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		st, err := store.Open(ctx, filepath.Join(b.TempDir(), "demo.duckdb"), store.Options{Now: func() time.Time { return testNow }})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		sum, err := Generate(ctx, st, Options{Patients: 100_000, Seed: 1, Now: testNow})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		start := time.Now()
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "close-s")
		b.ReportMetric(float64(sum.Patients+sum.Appointments+sum.Interactions)/sum.Elapsed.Seconds(), "rows/s")
		b.StartTimer()
	}
}

// A record is created before anything happens to the patient, and some
// patients are new in every recent month, so that a report of new patients
// shows a practice that grows.
func TestPatientsAreRegisteredBeforeTheirFirstContact(t *testing.T) {
	st, _ := generate(t, 2000, 1)
	ctx := context.Background()
	r := st.Reader()
	patients, err := r.FindPatients(ctx, store.PatientFilter{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	appts, err := r.FindAppointments(ctx, store.AppointmentQuery{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	inters, err := r.FindInteractions(ctx, store.InteractionQuery{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	first := map[int64]time.Time{}
	seen := func(id int64, at time.Time) {
		if f, ok := first[id]; !ok || at.Before(f) {
			first[id] = at
		}
	}
	for _, a := range appts {
		seen(a.PatientID, a.StartsAt)
	}
	for _, i := range inters {
		seen(i.PatientID, i.At)
	}
	months := map[string]int{}
	for _, p := range patients {
		if f, ok := first[p.ID]; ok && !p.CreatedAt.Before(f) {
			t.Errorf("%s created %v, after their first contact %v", p.MRN, p.CreatedAt, f)
		}
		if !p.ConsentChangedAt.IsZero() && p.CreatedAt.After(p.ConsentChangedAt) {
			t.Errorf("%s created %v, after their consent changed %v", p.MRN, p.CreatedAt, p.ConsentChangedAt)
		}
		if p.CreatedAt.Before(p.DOB) || p.CreatedAt.After(testNow) {
			t.Errorf("%s created %v, born %v", p.MRN, p.CreatedAt, p.DOB)
		}
		months[p.CreatedAt.Format("2006-01")]++
	}
	for m := testNow.AddDate(0, -12, 0); m.Before(testNow.AddDate(0, -1, 0)); m = m.AddDate(0, 1, 0) {
		if months[m.Format("2006-01")] == 0 {
			t.Errorf("no patient is new in %s", m.Format("2006-01"))
		}
	}
}
