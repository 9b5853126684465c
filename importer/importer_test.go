package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebook/carebook/store"
	"github.com/google/go-cmp/cmp"
)

const fixtures = "../eval/testdata/clinic"

// now is the fixtures' "now", as the evals fix it with CAREBOOK_NOW.
var now = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)

func openStore(t testing.TB, opts store.Options) *store.Store {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return now }
	}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.duckdb"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func counts(t *testing.T, st *store.Store) store.Counts {
	t.Helper()
	c, err := st.Reader().Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func importFile(t *testing.T, st *store.Store, kind Kind, path string, opts Options) Result {
	t.Helper()
	opts.Kind = kind
	if opts.Now.IsZero() {
		opts.Now = now
	}
	res, err := Import(context.Background(), st, path, nil, opts)
	if err != nil {
		t.Fatalf("import %s: %v (bad rows: %v)", path, err, res.Bad)
	}
	return res
}

func importString(st *store.Store, kind Kind, name, data string, opts Options) (Result, error) {
	opts.Kind = kind
	if opts.Now.IsZero() {
		opts.Now = now
	}
	return Import(context.Background(), st, name, strings.NewReader(data), opts)
}

func patient(t *testing.T, st *store.Store, mrn string) store.Patient {
	t.Helper()
	ps, err := st.Reader().FindPatients(context.Background(), store.PatientFilter{MRNs: []string{mrn}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 {
		t.Fatalf("patient %s: found %d", mrn, len(ps))
	}
	return ps[0]
}

func needFixtures(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(fixtures, "patients.csv")); err != nil {
		t.Skipf("clinic fixtures not found: %v", err)
	}
}

// importClinic imports the three fixture files in order.
func importClinic(t *testing.T, st *store.Store) [3]Result {
	t.Helper()
	var out [3]Result
	for i, kind := range Kinds {
		out[i] = importFile(t, st, kind, filepath.Join(fixtures, string(kind)+".csv"), Options{})
	}
	return out
}

func TestImportClinicFixtures(t *testing.T) {
	needFixtures(t)
	st := openStore(t, store.Options{})
	first := importClinic(t, st)

	want := []int{240, 595, 599}
	for i, res := range first {
		if res.Rows != want[i] || res.Valid != want[i] || res.Inserted != want[i] || !res.Written || len(res.Bad) != 0 {
			t.Errorf("%s: rows %d valid %d inserted %d written %v bad %v; want %d of each, written, no bad rows",
				res.Kind, res.Rows, res.Valid, res.Inserted, res.Written, res.Bad, want[i])
		}
	}
	c := counts(t, st)
	if c.Patients != 240 || c.Appointments != 595 || c.Interactions != 599 {
		t.Fatalf("counts = %+v, want 240 patients, 595 appointments, 599 interactions", c)
	}
	if first[0].TagLinks == 0 {
		t.Error("no tag links were added")
	}
	if n := len(first[0].Notes); n != 240-68 {
		t.Errorf("collected %d notes, want %d", n, 240-68)
	}

	second := importClinic(t, st)
	for i, res := range second {
		if res.Inserted != 0 || res.Updated != 0 || res.Unchanged != want[i] || res.TagLinks != 0 {
			t.Errorf("re-import %s: inserted %d updated %d unchanged %d tag links %d; want all %d unchanged",
				res.Kind, res.Inserted, res.Updated, res.Unchanged, res.TagLinks, want[i])
		}
	}
	c2 := counts(t, st)
	c2.AuditRows = c.AuditRows
	if c2 != c {
		t.Errorf("counts after re-import = %+v, want %+v", c2, c)
	}

	// One audit row per import, naming the file by base name only.
	log, err := st.Reader().AuditLog(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 6 {
		t.Fatalf("audit rows = %d, want 6", len(log))
	}
	var action struct {
		Tool string
		Args struct {
			Kind string
			File string
			Rows int
		}
	}
	if err := json.Unmarshal([]byte(log[0].Action), &action); err != nil {
		t.Fatal(err)
	}
	if action.Tool != "import" || action.Args.Kind != "patients" || action.Args.File != "patients.csv" || action.Args.Rows != 240 {
		t.Errorf("audit action = %s", log[0].Action)
	}
	if log[0].Channel != "import" || len(log[0].PatientIDs) != 240 {
		t.Errorf("audit channel %q with %d patients, want import with 240", log[0].Channel, len(log[0].PatientIDs))
	}
}

func TestImportClinicValues(t *testing.T) {
	needFixtures(t)
	st := openStore(t, store.Options{})
	importClinic(t, st)

	if p := patient(t, st, "P1003"); p.Phone != "5553999841" || !p.MarketingConsent || p.FirstName != "María José" {
		t.Errorf("P1003 = phone %q consent %v name %q", p.Phone, p.MarketingConsent, p.FirstName)
	}
	p := patient(t, st, "P1002")
	if p.Phone != "5554348776" {
		t.Errorf("P1002 phone = %q, want 5554348776", p.Phone)
	}
	if want := time.Date(1975, 7, 9, 0, 0, 0, 0, time.UTC); !p.DOB.Equal(want) {
		t.Errorf("P1002 dob = %v, want %v", p.DOB, want)
	}
	if p := patient(t, st, "P1000"); !cmp.Equal(p.Tags, []string{"diabetes", "refill-overdue"}) || p.Phone != "5554611929" {
		t.Errorf("P1000 tags %v phone %q", p.Tags, p.Phone)
	}
	if p := patient(t, st, "P1001"); p.Phone != "5551738242" || p.MarketingConsent {
		t.Errorf("P1001 phone %q consent %v", p.Phone, p.MarketingConsent)
	}
	if p := patient(t, st, "P1006"); p.Status != store.StatusDeceased {
		t.Errorf("P1006 status = %q, want deceased", p.Status)
	}

	appts, err := st.Reader().FindAppointments(context.Background(), store.AppointmentQuery{
		Appointment: store.AppointmentFilter{ExternalIDs: []string{"A00475"}}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := store.Appointment{ExternalID: "A00475", PatientMRN: "P1189", PatientName: "Grace Schmidt", StartsAt: time.Date(2024, 6, 26, 9, 0, 0, 0, time.UTC),
		Type: "well-child", Provider: "Dr. Alvarez", Status: store.AppointmentCompleted}
	if len(appts) != 1 {
		t.Fatalf("appointment A00475: found %d", len(appts))
	}
	if diff := cmp.Diff(want, appts[0], cmpIgnoreIDs); diff != "" {
		t.Errorf("appointment A00475 (-want +got):\n%s", diff)
	}
}

var cmpIgnoreIDs = cmp.FilterPath(func(p cmp.Path) bool {
	s := p.String()
	return s == "ID" || s == "PatientID"
}, cmp.Ignore())

// patientsCSV is a small file in the fixtures' shape.
const patientsHeader = "Patient ID (MRN),First Name,Last Name,Date of Birth,Email,Phone Number,City,Preferred Language,Marketing Opt-In,Lifecycle Stage,Tags,Notes\n"

func TestBadInputsWriteNothing(t *testing.T) {
	needFixtures(t)
	appointments := "Appointment ID,Patient ID (MRN),Start,Type,Provider,Status\n"
	tests := []struct {
		name    string
		kind    Kind
		data    string
		line    int
		message string // in the bad row
		secret  string // a value that must not appear in any message
	}{
		{
			name: "unparseable date",
			kind: KindPatients,
			data: patientsHeader +
				"Q1,Ann,Lee,01/02/1980,,,,,,,,\n" +
				"Q2,Bo,Kim,31/12/1980,,,,,,,,\n",
			line: 3, message: `"Date of Birth" is not a date`, secret: "31/12/1980",
		},
		{
			name: "date of birth in the future",
			kind: KindPatients,
			data: patientsHeader + "Q1,Ann,Lee,2031-01-02,,,,,,,,\n",
			line: 2, message: `"Date of Birth" is in the future`, secret: "2031",
		},
		{
			name: "unknown patient for an appointment",
			kind: KindAppointments,
			data: appointments +
				"X1,P1000,2024-06-26 09:00:00,follow-up,Dr. Kim,completed\n" +
				"X2,P1001,2024-06-27 09:00:00,follow-up,Dr. Kim,completed\n" +
				"X3,Z9999,2024-06-28 09:00:00,follow-up,Dr. Kim,completed\n",
			line: 4, message: `"Patient ID (MRN)" is not a patient in the database`, secret: "Z9999",
		},
		{
			name: "bare quote",
			kind: KindPatients,
			data: patientsHeader +
				"Q1,Ann,Lee,01/02/1980,,,,,,,,\n" +
				"Q2,Bo,Ki\"m,01/02/1980,,,,,,,,\n",
			line: 3, message: `has a " in an unquoted field`, secret: "Ki",
		},
		{
			name: "ragged row",
			kind: KindPatients,
			data: patientsHeader +
				"Q1,Ann,Lee,01/02/1980,,,,,,,,\n" +
				"Q2,Bo,Kim,01/02/1980,,\n",
			line: 3, message: "has 6 fields but the header has 12",
		},
		{
			name: "bad email after a note spanning two lines",
			kind: KindPatients,
			data: patientsHeader +
				"Q1,Ann,Lee,01/02/1980,,,,,,,,\"two\nlines\"\n" +
				"Q2,Bo,Kim,01/02/1980,bo.kim.example.org,,,,,,,\n",
			line: 4, message: `"Email" is not an email address`, secret: "bo.kim",
		},
		{
			name: "bad phone",
			kind: KindPatients,
			data: patientsHeader + "Q1,Ann,Lee,01/02/1980,,555-12,,,,,,\n",
			line: 2, message: `"Phone Number" is not a phone number`, secret: "555-12",
		},
		{
			name: "bad consent",
			kind: KindPatients,
			data: patientsHeader + "Q1,Ann,Lee,01/02/1980,,,,,maybe,,,\n",
			line: 2, message: `"Marketing Opt-In" is not a yes/no value`, secret: "maybe",
		},
		{
			name: "empty MRN",
			kind: KindPatients,
			data: patientsHeader + ",Ann,Lee,01/02/1980,ann@example.org,,,,,,,\n",
			line: 2, message: `"Patient ID (MRN)" is empty`,
		},
		{
			name: "bad interaction channel",
			kind: KindInteractions,
			data: "Interaction ID,Patient ID (MRN),When,Channel,Direction,Staff,Summary\n" +
				"J1,P1000,2024-12-23 13:08:00,sms,outbound,front desk,Reminder\n" +
				"J2,P1000,2024-12-23 13:09:00,fax,outbound,front desk,Reminder\n",
			line: 3, message: `"Channel" is not a channel`, secret: "fax",
		},
		{
			name: "bad appointment time",
			kind: KindAppointments,
			data: appointments + "X1,P1000,2024-06-26 25:00:00,follow-up,Dr. Kim,completed\n",
			line: 2, message: `"Start" is not a date and time`, secret: "25:00",
		},
		{
			name: "empty appointment id",
			kind: KindAppointments,
			data: appointments + ",P1000,2024-06-26 09:00:00,follow-up,Dr. Kim,completed\n",
			line: 2, message: `"Appointment ID" is empty`,
		},
		{
			name: "no name",
			kind: KindPatients,
			data: patientsHeader + "Q1,,,01/02/1980,,,,,,,,\n",
			line: 2, message: "has no first or last name",
		},
		{
			name: "duplicate MRN",
			kind: KindPatients,
			data: patientsHeader +
				"Q1,Ann,Lee,01/02/1980,,,,,,,,\n" +
				"Q2,Bo,Kim,01/02/1980,,,,,,,,\n" +
				"Q1,Cy,Lee,01/02/1981,,,,,,,,\n",
			line: 4, message: `"Patient ID (MRN)" repeats line 2`, secret: "Q1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t, store.Options{})
			if tt.kind != KindPatients {
				importFile(t, st, KindPatients, filepath.Join(fixtures, "patients.csv"), Options{})
			}
			before := counts(t, st)
			res, err := importString(st, tt.kind, "bad.csv", tt.data, Options{})
			var bre *BadRowsError
			if !errors.As(err, &bre) {
				t.Fatalf("err = %v, want a *BadRowsError", err)
			}
			if !strings.Contains(err.Error(), "nothing was imported (use --skip-bad") {
				t.Errorf("err = %q", err)
			}
			if len(res.Bad) != 1 || res.Bad[0].Line != tt.line || !strings.Contains(res.Bad[0].Message, tt.message) {
				t.Fatalf("bad rows = %v, want one on line %d saying %s", res.Bad, tt.line, tt.message)
			}
			if !strings.HasPrefix(res.Bad[0].Error(), fmt.Sprintf("line %d: ", tt.line)) {
				t.Errorf("row error = %q, want the line number first", res.Bad[0].Error())
			}
			if tt.secret != "" && strings.Contains(res.Bad[0].Error()+err.Error(), tt.secret) {
				t.Errorf("message %q shows the value %q", res.Bad[0].Error(), tt.secret)
			}
			if res.Written {
				t.Error("result says written")
			}
			if after := counts(t, st); after != before {
				t.Errorf("counts went from %+v to %+v", before, after)
			}
		})
	}
}

func TestUnclosedQuoteIsAFileError(t *testing.T) {
	st := openStore(t, store.Options{})
	data := patientsHeader +
		"Q1,Ann,Lee,01/02/1980,,,,,,,,\n" +
		"Q2,Bo,\"Kim,01/02/1980,,,,,,,,\n" +
		"Q3,Cy,Lee,01/02/1980,,,,,,,,\n"
	_, err := importString(st, KindPatients, "bad.csv", data, Options{SkipBad: true})
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "cannot be read past it") {
		t.Fatalf("err = %v, want a file error at line 3", err)
	}
	if c := counts(t, st); c.Patients != 0 || c.AuditRows != 0 {
		t.Errorf("counts = %+v, want nothing written", c)
	}
}

func TestByteOrderMark(t *testing.T) {
	st := openStore(t, store.Options{})
	data := "\ufeff\"MRN\",\"First Name\",\"Last Name\"\r\n\"Q1\",\"Ann\",\"Lee\"\r\n"
	res, err := importString(st, KindPatients, "bom.csv", data, Options{})
	if err != nil || res.Inserted != 1 || res.Mapping[0] != (ColumnMapping{Header: "MRN", Field: "mrn"}) {
		t.Fatalf("import: %+v, %v", res, err)
	}
}

func TestMissingColumnIsAFileError(t *testing.T) {
	st := openStore(t, store.Options{})
	_, err := importString(st, KindAppointments, "a.csv", "Appointment ID,Type\nA1,x\n", Options{})
	if err == nil || !strings.Contains(err.Error(), "no column for mrn") {
		t.Fatalf("err = %v", err)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	needFixtures(t)
	st := openStore(t, store.Options{})
	res := importFile(t, st, KindPatients, filepath.Join(fixtures, "patients.csv"), Options{DryRun: true})
	if res.Valid != 240 || res.Written || !res.DryRun {
		t.Errorf("dry run: valid %d written %v", res.Valid, res.Written)
	}
	if c := counts(t, st); c != (store.Counts{}) {
		t.Errorf("counts = %+v, want nothing written (not even an audit row)", c)
	}

	// A dry run of appointments still finds unknown patients.
	res, err := Import(context.Background(), st, filepath.Join(fixtures, "appointments.csv"), nil,
		Options{Kind: KindAppointments, DryRun: true, Now: now})
	var bre *BadRowsError
	if !errors.As(err, &bre) || len(res.Bad) != 595 {
		t.Errorf("dry run of appointments with no patients: err %v, %d bad rows; want 595", err, len(res.Bad))
	}
}

func TestSkipBadImportsTheGoodRows(t *testing.T) {
	st := openStore(t, store.Options{})
	data := patientsHeader +
		"Q1,Ann,Lee,01/02/1980,ann@example.org,,,,,,,\n" +
		"Q2,Bo,Kim,1879-12-31,,,,,,,,\n" +
		"Q3,Cy,Lee,01/02/1981,not-an-email,555,,,,,,\n" +
		"Q4,Di,Ray,1990-05-06,,555 111 2222,,,yes,inactive,VIP; Flu Shot,\n"
	res, err := importString(st, KindPatients, "some.csv", data, Options{SkipBad: true})
	if err != nil {
		t.Fatal(err)
	}
	wantBad := []RowError{
		{Line: 3, Message: `"Date of Birth" is before 1880`},
		{Line: 4, Message: `"Email" is not an email address (expected name@domain); "Phone Number" is not a phone number (expected 7 to 15 digits, like (555) 123-4567)`},
	}
	if diff := cmp.Diff(wantBad, res.Bad); diff != "" {
		t.Errorf("bad rows (-want +got):\n%s", diff)
	}
	if res.Rows != 4 || res.Valid != 2 || res.Inserted != 2 || !res.Written {
		t.Errorf("rows %d valid %d inserted %d written %v", res.Rows, res.Valid, res.Inserted, res.Written)
	}
	if c := counts(t, st); c.Patients != 2 {
		t.Errorf("patients = %d, want 2", c.Patients)
	}
	p := patient(t, st, "Q4")
	if !cmp.Equal(p.Tags, []string{"flu-shot", "vip"}) || p.Status != store.StatusInactive || !p.MarketingConsent || p.Phone != "5551112222" {
		t.Errorf("Q4 = %+v", p)
	}
	log, err := st.Reader().AuditLog(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"tool":"import","args":{"kind":"patients","file":"some.csv","rows":2,"skipped_bad_rows":2}}`; len(log) != 1 || log[0].Action != want {
		t.Errorf("audit = %+v, want one row with action %s", log, want)
	}
}

func TestMapOverrides(t *testing.T) {
	data := "MRN,Given,Family,Cell,E-mail\n" +
		"Q1,Ann,Lee,555-222-3333,ann@example.org\n"

	t.Run("unknown field is an error", func(t *testing.T) {
		st := openStore(t, store.Options{})
		_, err := importString(st, KindPatients, "m.csv", data, Options{Map: map[string]string{"cell": "mobile"}})
		if err == nil || !strings.Contains(err.Error(), `"mobile" is not a patients field`) || !strings.Contains(err.Error(), "phone") {
			t.Fatalf("err = %v, want an unknown field error listing the fields", err)
		}
		if c := counts(t, st); c.Patients != 0 || c.AuditRows != 0 {
			t.Errorf("counts = %+v", c)
		}
	})
	t.Run("unknown header is an error", func(t *testing.T) {
		st := openStore(t, store.Options{})
		_, err := importString(st, KindPatients, "m.csv", data, Options{Map: map[string]string{"Mobile": "phone"}})
		if err == nil || !strings.Contains(err.Error(), `no column "Mobile"`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("overrides take effect", func(t *testing.T) {
		st := openStore(t, store.Options{})
		res, err := importString(st, KindPatients, "m.csv", data, Options{Map: map[string]string{
			"given": "first_name", "FAMILY": "last_name", " Cell ": "phone", "E-mail": "ignore"}})
		if err != nil {
			t.Fatal(err)
		}
		want := []ColumnMapping{
			{Header: "MRN", Field: "mrn"},
			{Header: "Given", Field: "first_name", FromMap: true},
			{Header: "Family", Field: "last_name", FromMap: true},
			{Header: "Cell", Field: "phone", FromMap: true},
			{Header: "E-mail", FromMap: true},
		}
		if diff := cmp.Diff(want, res.Mapping); diff != "" {
			t.Errorf("mapping (-want +got):\n%s", diff)
		}
		p := patient(t, st, "Q1")
		if p.FirstName != "Ann" || p.LastName != "Lee" || p.Phone != "5552223333" || p.Email != "" {
			t.Errorf("patient = %+v", p)
		}
	})
}

func TestImportHubSpot(t *testing.T) {
	st := openStore(t, store.Options{})
	res := importFile(t, st, KindPatients, "testdata/hubspot_contacts.csv", Options{})
	want := []ColumnMapping{
		{Header: "Record ID", Field: "hubspot_id"},
		{Header: "First Name", Field: "first_name"},
		{Header: "Last Name", Field: "last_name"},
		{Header: "Email", Field: "email"},
		{Header: "Phone Number", Field: "phone"},
		{Header: "Mobile Phone Number", Field: "phone"},
		{Header: "Date of birth", Field: "dob"},
		{Header: "City", Field: "city"},
		{Header: "State/Region"},
		{Header: "Preferred language", Field: "language"},
		{Header: "Gender", Field: "sex"},
		{Header: "Lifecycle Stage", Field: "status"},
		{Header: "Lead Status"},
		{Header: "Marketing contact status", Field: "marketing_consent"},
		{Header: "Contact owner"},
		{Header: "Create Date"},
	}
	if diff := cmp.Diff(want, res.Mapping); diff != "" {
		t.Errorf("mapping (-want +got):\n%s", diff)
	}
	if res.Inserted != 5 {
		t.Errorf("inserted %d, want 5", res.Inserted)
	}
	ps, err := st.Reader().FindPatients(context.Background(), store.PatientFilter{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		MRN, Name, Email, Phone, DOB, Sex, Language string
		Consent                                     bool
		Status                                      store.Status
	}
	var gots []got
	for _, p := range ps {
		dob := ""
		if !p.DOB.IsZero() {
			dob = p.DOB.Format(time.DateOnly)
		}
		gots = append(gots, got{p.MRN, p.FullName(), p.Email, p.Phone, dob, p.Sex, p.Language, p.MarketingConsent, p.Status})
	}
	wantPatients := []got{ // by last name
		{"HS-51", "Alice Example", "alice.example@example.com", "5550102001", "1980-03-15", "female", "English", true, "active"},
		{"HS-55", "Eve Fictional", "eve.fictional@example.com", "", "1962-07-04", "female", "Vietnamese", true, "active"},
		{"HS-54", "Dan Placeholder", "dan.placeholder@example.org", "5550102004", "1990-01-31", "male", "English", false, "active"},
		{"HS-52", "Bob Sample", "bob.sample@example.org", "5550102002", "1975-11-02", "male", "Spanish", false, "active"},
		{"HS-53", "Carol Test", "carol.test@example.com", "5550102003", "", "", "Polish", true, "active"},
	}
	if diff := cmp.Diff(wantPatients, gots); diff != "" {
		t.Errorf("patients (-want +got):\n%s", diff)
	}

	again := importFile(t, st, KindPatients, "testdata/hubspot_contacts.csv", Options{})
	if again.Inserted != 0 || again.Updated != 0 || again.Unchanged != 5 {
		t.Errorf("re-import: inserted %d updated %d unchanged %d", again.Inserted, again.Updated, again.Unchanged)
	}
}

func TestImportMailchimp(t *testing.T) {
	st := openStore(t, store.Options{})
	// The practice's own list first, with dates of birth and MRNs that
	// match the Mailchimp member ids.
	own := "Patient ID (MRN),First Name,Last Name,Date of Birth,Phone Number\n" +
		"MC-101,Frank,Demo,04/05/1970,555-010-0000\n" +
		"MC-102,Grace,Mock,1985-12-01,\n"
	if _, err := importString(st, KindPatients, "own.csv", own, Options{}); err != nil {
		t.Fatal(err)
	}

	res := importFile(t, st, KindPatients, "testdata/mailchimp_audience.csv", Options{})
	fields := map[string]string{}
	for _, m := range res.Mapping {
		fields[m.Header] = m.Field
	}
	wantFields := map[string]string{
		"Email Address": "email", "First Name": "first_name", "Last Name": "last_name", "Address": "",
		"Phone Number": "phone", "Birthday": "dob", "MEMBER_RATING": "", "OPTIN_TIME": "", "OPTIN_IP": "",
		"CONFIRM_TIME": "", "CONFIRM_IP": "", "LATITUDE": "", "LONGITUDE": "", "GMTOFF": "", "DSTOFF": "",
		"TIMEZONE": "", "CC": "", "REGION": "", "LAST_CHANGED": "", "LEID": "mailchimp_id", "EUID": "mailchimp_id",
		"NOTES": "notes", "TAGS": "tags",
	}
	if diff := cmp.Diff(wantFields, fields); diff != "" {
		t.Errorf("mapping (-want +got):\n%s", diff)
	}
	if res.Inserted != 3 || res.Updated != 2 || len(res.Notes) != 1 || res.Notes[0].Line != 5 {
		t.Errorf("inserted %d updated %d notes %v; want 3, 2 and one note on line 5", res.Inserted, res.Updated, res.Notes)
	}
	if s := fmt.Sprintf("%v %+v %#v", res.Notes, res.Notes[0], res.Notes[0]); strings.Contains(s, "texts") {
		t.Errorf("printing a note shows its text: %s", s)
	}

	frank := patient(t, st, "MC-101")
	if frank.DOB.Format(time.DateOnly) != "1970-04-05" || frank.Phone != "5550103001" ||
		frank.Email != "frank.demo@example.com" || !cmp.Equal(frank.Tags, []string{"flu-shot-2024", "newsletter"}) {
		t.Errorf("MC-101 = %+v; want the DOB kept, phone, email and tags from Mailchimp", frank)
	}
	grace := patient(t, st, "MC-102")
	if grace.DOB.Format(time.DateOnly) != "1985-12-01" || grace.Email != "grace.mock@example.org" {
		t.Errorf("MC-102 = %+v", grace)
	}
	if p := patient(t, st, "MC-104"); p.Phone != "" || !p.DOB.IsZero() || !cmp.Equal(p.Tags, []string{"newsletter", "vip"}) {
		t.Errorf("MC-104 = %+v", p)
	}
	if p := patient(t, st, "MC-103"); p.Phone != "5550103003" || p.Status != store.StatusActive || p.MarketingConsent {
		t.Errorf("MC-103 = %+v", p)
	}

	again := importFile(t, st, KindPatients, "testdata/mailchimp_audience.csv", Options{})
	if again.Inserted != 0 || again.Updated != 0 || again.Unchanged != 5 || again.TagLinks != 0 {
		t.Errorf("re-import: %+v", again)
	}
	if p := patient(t, st, "MC-101"); !p.DOB.Equal(frank.DOB) {
		t.Errorf("re-import changed the DOB")
	}
}

func TestDerivedIDs(t *testing.T) {
	st := openStore(t, store.Options{})
	// No MRN column: the email identifies the patient.
	people := "Email,First Name,Last Name\nAnn@Example.org,Ann,Lee\nbo@example.org,Bo,Kim\n"
	res, err := importString(st, KindPatients, "p.csv", people, Options{})
	if err != nil || res.Inserted != 2 {
		t.Fatalf("patients: %+v, %v", res, err)
	}
	ann := derivedID("E-", "ann@example.org")
	if len(ann) != 18 {
		t.Errorf("derived MRN %q, want E- and 16 hex digits", ann)
	}
	patient(t, st, ann)

	dup := "Email,First Name,Last Name\nann@example.org,Ann,Lee\nANN@example.org,Al,Lee\n"
	res, err = importString(st, KindPatients, "p.csv", dup, Options{})
	if err == nil || len(res.Bad) != 1 || !strings.Contains(res.Bad[0].Message, "repeats line 2") {
		t.Errorf("shared email: %v, %v", res.Bad, err)
	}

	// No appointment id: derived from the row, so a re-import updates.
	appts := "MRN,Start,Type,Provider,Status\n" +
		ann + ",2024-06-26 09:00,follow-up,Dr. Kim,booked\n" +
		ann + ",06/27/2024 2:30 PM,follow-up,Dr. Kim,No Show\n"
	res, err = importString(st, KindAppointments, "a.csv", appts, Options{})
	if err != nil || res.Inserted != 2 {
		t.Fatalf("appointments: %+v, %v", res, err)
	}
	appts = strings.Replace(appts, "booked", "attended", 1)
	res, err = importString(st, KindAppointments, "a.csv", appts, Options{})
	if err != nil || res.Inserted != 0 || res.Updated != 1 || res.Unchanged != 1 {
		t.Fatalf("appointments again: %+v, %v", res, err)
	}

	ints := "MRN,When,Channel,Direction,Staff,Summary\n" +
		ann + ",2024-06-26T09:05:00,Phone,in,front desk,Called back\n" +
		ann + ",2024-06-26T09:05:00,Phone,in,front desk,Called back\n"
	res, err = importString(st, KindInteractions, "i.csv", ints, Options{})
	if err == nil || len(res.Bad) != 1 || res.Bad[0].Line != 3 || !strings.Contains(res.Bad[0].Message, "repeats the interaction of line 2") {
		t.Errorf("duplicate interaction: %v, %v", res.Bad, err)
	}
	c := counts(t, st)
	if c.Patients != 2 || c.Appointments != 2 || c.Interactions != 0 {
		t.Errorf("counts = %+v", c)
	}
}

func TestCancelWritesNothing(t *testing.T) {
	needFixtures(t)
	path := filepath.Join(fixtures, "patients.csv")

	t.Run("while reading", func(t *testing.T) {
		st := openStore(t, store.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := Import(ctx, st, path, nil, Options{Kind: KindPatients, Now: now,
			Progress: func(done, total int64) { cancel() }})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if c := counts(t, st); c != (store.Counts{}) {
			t.Errorf("counts = %+v, want nothing written", c)
		}
	})

	t.Run("inside the transaction", func(t *testing.T) {
		// The store stamps rows with its clock part way through the
		// upsert: cancel there.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var armed atomic.Bool
		st := openStore(t, store.Options{Now: func() time.Time {
			if armed.Load() {
				cancel()
			}
			return now
		}})
		armed.Store(true)
		_, err := Import(ctx, st, path, nil, Options{Kind: KindPatients, Now: now})
		armed.Store(false)
		t.Logf("error: %v", err)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		c := counts(t, st)
		if c.Patients != 0 || c.Tags != 0 {
			t.Errorf("counts = %+v, want no patients or tags", c)
		}
	})
}

func TestProgress(t *testing.T) {
	needFixtures(t)
	st := openStore(t, store.Options{})
	path := filepath.Join(fixtures, "patients.csv")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var last, lastTotal int64
	importFile(t, st, KindPatients, path, Options{DryRun: true, Progress: func(done, total int64) {
		if done < last {
			t.Errorf("progress went back from %d to %d", last, done)
		}
		last, lastTotal = done, total
	}})
	if last != fi.Size() || lastTotal != fi.Size() {
		t.Errorf("progress ended at %d of %d, want %d of %d", last, lastTotal, fi.Size(), fi.Size())
	}
}

func TestValues(t *testing.T) {
	phones := []struct {
		in, want string
		ok       bool
	}{
		{"(555) 461-1929", "5554611929", true},
		{"555.173.8242", "5551738242", true},
		{"+1 555 434 8776", "5554348776", true},
		{"5553999841", "5553999841", true},
		{"1-555-399-9841", "5553999841", true},
		{"555-399-9841 ext. 12", "5553999841", true},
		{"+44 20 7946 0958", "442079460958", true},
		{"461-1929", "4611929", true},
		{"555-12", "", false},
		{"5.55E+09", "", false},
		{"call me", "", false},
	}
	for _, p := range phones {
		got, ok := normPhone(p.in)
		if got != p.want || ok != p.ok {
			t.Errorf("normPhone(%q) = %q, %v; want %q, %v", p.in, got, ok, p.want, p.ok)
		}
	}

	emails := map[string]bool{"A.B@Example.org": true, "a@b": true, "@example.org": false, "a@": false,
		"a@b@c": false, "a b@example.org": false, "plain": false}
	for in, ok := range emails {
		if _, got := normEmail(in); got != ok {
			t.Errorf("normEmail(%q) ok = %v, want %v", in, got, ok)
		}
	}

	tags := map[string][]string{
		"diabetes;refill-overdue":         {"diabetes", "refill-overdue"},
		" VIP , Flu Shot ;; new_parent ":  {"vip", "flu-shot", "new-parent"},
		`"Newsletter","Flu Shot 2024"`:    {"newsletter", "flu-shot-2024"},
		"Refill overdue!, refill-overdue": {"refill-overdue"},
		"--, ??":                          nil,
	}
	for in, want := range tags {
		if got := normTags(in); !cmp.Equal(got, want) {
			t.Errorf("normTags(%q) = %q, want %q", in, got, want)
		}
	}

	dobs := []struct {
		in       string
		want     string
		yearless bool
		ok       bool
	}{
		{"03/02/1958", "1958-03-02", false, true},
		{"3/2/1958", "1958-03-02", false, true},
		{"1958-03-02", "1958-03-02", false, true},
		{"1958-03-02T00:00:00Z", "1958-03-02", false, true},
		{"1958-03-02 00:00:00", "1958-03-02", false, true},
		{"03/14", "", true, true},
		{"02/29", "", true, true},
		{"13/14", "", false, false},
		{"02/30/1990", "", false, false},
		{"03/02/58", "", false, false},
		{"March 2, 1958", "", false, false},
	}
	for _, d := range dobs {
		got, yearless, ok := parseDOB(d.in)
		s := ""
		if !got.IsZero() {
			s = got.Format(time.DateOnly)
		}
		if s != d.want || yearless != d.yearless || ok != d.ok {
			t.Errorf("parseDOB(%q) = %q, %v, %v; want %q, %v, %v", d.in, s, yearless, ok, d.want, d.yearless, d.ok)
		}
	}

	// Wall-clock times: a zoned time is read in the local zone.
	defer func(l *time.Location) { time.Local = l }(time.Local)
	time.Local = time.FixedZone("practice", -5*3600)
	walls := map[string]string{
		"2024-06-26 09:00:00":       "2024-06-26 09:00:00",
		"2024-06-26T09:00:00":       "2024-06-26 09:00:00",
		"2024-06-26 09:00":          "2024-06-26 09:00:00",
		"06/26/2024 2:30 PM":        "2024-06-26 14:30:00",
		"6/26/2024 14:30":           "2024-06-26 14:30:00",
		"2024-06-26T14:00:00Z":      "2024-06-26 09:00:00",
		"2024-06-26T09:00:00-05:00": "2024-06-26 09:00:00",
		"2024-06-26T10:00:00-04:00": "2024-06-26 09:00:00",
		"2024-06-26":                "2024-06-26 00:00:00",
	}
	for in, want := range walls {
		got, ok := parseWall(in)
		if !ok || got.Location() != time.UTC || got.Format(time.DateTime) != want {
			t.Errorf("parseWall(%q) = %v, %v; want %s UTC", in, got, ok, want)
		}
	}
	if _, ok := parseWall("tomorrow"); ok {
		t.Error(`parseWall("tomorrow") succeeded`)
	}

	enums := []struct {
		got, want any
	}{
		{must(lookup(appointmentStatusValues, "No Show")), store.AppointmentNoShow},
		{must(lookup(appointmentStatusValues, "noshow")), store.AppointmentNoShow},
		{must(lookup(appointmentStatusValues, "Canceled")), store.AppointmentCancelled},
		{must(lookup(appointmentStatusValues, "checked out")), store.AppointmentCompleted},
		{must(lookup(channelValues, "In Person")), store.ChannelInPerson},
		{must(lookup(channelValues, "text")), store.ChannelSMS},
		{must(lookup(channelValues, "Mail")), store.ChannelLetter},
		{must(lookup(directionValues, "OUT")), store.DirectionOutbound},
		{must(lookup(consentValues, "Non-marketing contact")), false},
		{must(lookup(consentValues, "Opted In")), true},
		{must(lookup(statusValues, "Marketing Qualified Lead")), store.StatusActive},
		{must(lookup(statusValues, "")), store.StatusActive},
	}
	for i, e := range enums {
		if e.got != e.want {
			t.Errorf("enum %d = %v, want %v", i, e.got, e.want)
		}
	}
	if _, ok := lookup(statusValues, "alive"); ok {
		t.Error(`status "alive" was accepted`)
	}
}

func must[T any](v T, ok bool) any {
	if !ok {
		return "not found"
	}
	return v
}

// writePatientsCSV writes n deterministic patient rows in the fixtures'
// shape.
func writePatientsCSV(tb testing.TB, path string, n int) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	first := []string{"John", "María José", "Sean", "An", "Margaret", "Ann", "Bo", "Priya", "Olu", "Chen"}
	last := []string{"Smith", "García-López", "O'Brien", "Nguyen", "Thompson", "Lee", "Kim", "Patel", "Okafor", "Wu"}
	cities := []string{"Lakeside", "Riverton", "Springfield", "Fairview", "Georgetown"}
	langs := []string{"English", "Spanish", "Polish", "Vietnamese"}
	tags := []string{"", "diabetes", "vip;new-parent", "no-show-risk;pregnant", "refill-overdue"}
	phones := []string{"(555) %03d-%04d", "555.%03d.%04d", "+1 555 %03d %04d", "555%03d%04d"}
	var b strings.Builder
	b.WriteString(patientsHeader)
	for i := range n {
		fmt.Fprintf(&b, "P%07d,%s,%s,%02d/%02d/%d,%s.%d@example.org,%s,%s,%s,%s,%s,%s,%s\n", i,
			first[rng.IntN(len(first))], last[rng.IntN(len(last))],
			1+rng.IntN(12), 1+rng.IntN(28), 1930+rng.IntN(90),
			"p", i, fmt.Sprintf(phones[i%len(phones)], rng.IntN(1000), rng.IntN(10000)),
			cities[rng.IntN(len(cities))], langs[rng.IntN(len(langs))],
			[]string{"Yes", "No"}[rng.IntN(2)], "active", tags[rng.IntN(len(tags))],
			[]string{"", "prefers morning calls"}[rng.IntN(2)])
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
}

func BenchmarkImportPatients100k(b *testing.B) {
	dir := b.TempDir()
	csvPath := filepath.Join(dir, "patients.csv")
	writePatientsCSV(b, csvPath, 100_000)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		st, err := store.Open(ctx, filepath.Join(dir, fmt.Sprintf("b%d.duckdb", i)), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := Import(ctx, st, csvPath, nil, Options{Kind: KindPatients, Now: now})
		b.StopTimer()
		if err != nil || res.Inserted != 100_000 {
			b.Fatalf("import: inserted %d, err %v, bad %v", res.Inserted, err, firstBad(res.Bad))
		}
		st.Close()
		b.StartTimer()
	}
}

func firstBad(bad []RowError) []RowError {
	return bad[:min(len(bad), 3)]
}

// BenchmarkValidatePatients100k is the importer's own share: parse and
// validate, no write.
func BenchmarkValidatePatients100k(b *testing.B) {
	dir := b.TempDir()
	csvPath := filepath.Join(dir, "patients.csv")
	writePatientsCSV(b, csvPath, 100_000)
	st := openStore(b, store.Options{})
	ctx := context.Background()
	for b.Loop() {
		res, err := Import(ctx, st, csvPath, nil, Options{Kind: KindPatients, Now: now, DryRun: true})
		if err != nil || res.Valid != 100_000 {
			b.Fatalf("import: valid %d, err %v", res.Valid, err)
		}
	}
}
