package importer

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"golang.org/x/text/encoding/charmap"

	"github.com/carebook/carebook/internal/charset"
	"github.com/carebook/carebook/store"
)

const accented = "Patient ID (MRN),First Name,Last Name,City\nQ1,José,Muñoz,Bogotá\nQ2,Zoë,O’Brien,Łódź\n"

func importBytes(st *store.Store, kind Kind, data []byte, opts Options) (Result, error) {
	opts.Kind = kind
	if opts.Now.IsZero() {
		opts.Now = now
	}
	return Import(context.Background(), st, "enc.csv", strings.NewReader(string(data)), opts)
}

func toUTF16(s string, bigEndian, bom bool) []byte {
	units := utf16.Encode([]rune(s))
	if bom {
		units = append([]uint16{0xFEFF}, units...)
	}
	out := make([]byte, 0, 2*len(units))
	for _, u := range units {
		if bigEndian {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

func cp1252(t testing.TB, s string) []byte {
	t.Helper()
	b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkNames(t *testing.T, st *store.Store, mrn, first, last string) {
	t.Helper()
	if p := patient(t, st, mrn); p.FirstName != first || p.LastName != last {
		t.Errorf("%s = %q %q, want %q %q", mrn, p.FirstName, p.LastName, first, last)
	}
}

// A Latin-1 or Windows-1252 file used to import with exit 0 and empty names.
func TestNotUTF8IsRefusedWithTheFix(t *testing.T) {
	st := openStore(t, store.Options{})
	latin := cp1252(t, strings.ReplaceAll(accented, "Łódź", "Lodz"))
	_, err := importBytes(st, KindPatients, latin, Options{SkipBad: true})
	var ce *charset.Error
	if !errors.As(err, &ce) || ce.Line != 2 {
		t.Fatalf("err = %v, want a *charset.Error on line 2", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "enc.csv line 2 ") || !strings.Contains(msg, "--encoding windows-1252") || strings.Contains(msg, "Jos") {
		t.Errorf("error %q should name the file, the line and the fix, and no value", msg)
	}
	if c := counts(t, st); c != (store.Counts{}) {
		t.Errorf("counts = %+v, want nothing written", c)
	}
}

func TestEncodingsImport(t *testing.T) {
	latinText := strings.ReplaceAll(accented, "Łódź", "Lodz") // Ł is not in Windows-1252
	cases := []struct {
		name string
		data []byte
		enc  charset.Encoding
		text string
	}{
		{"windows-1252 named", cp1252(t, latinText), charset.Windows1252, latinText},
		{"latin1 named", cp1252(t, latinText), charset.Latin1, latinText},
		{"utf-8 with a mark", append([]byte("\xEF\xBB\xBF"), accented...), charset.Auto, accented},
		{"utf-16le with a mark (Excel's Unicode text)", toUTF16(accented, false, true), charset.Auto, accented},
		{"utf-16be with a mark", toUTF16(accented, true, true), charset.Auto, accented},
		{"utf-16le without a mark", toUTF16(accented, false, false), charset.Auto, accented},
		{"utf-16 named, without a mark", toUTF16(accented, false, false), charset.UTF16, accented},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t, store.Options{})
			res, err := importBytes(st, KindPatients, c.data, Options{Encoding: c.enc})
			if err != nil || res.Inserted != 2 {
				t.Fatalf("import: %+v, %v", res, err)
			}
			wantCity := "Łódź"
			if !strings.Contains(c.text, wantCity) {
				wantCity = "Lodz"
			}
			checkNames(t, st, "Q1", "José", "Muñoz")
			checkNames(t, st, "Q2", "Zoë", "O’Brien")
			if p := patient(t, st, "Q2"); p.City != wantCity {
				t.Errorf("city %q, want %q", p.City, wantCity)
			}
		})
	}
}

// Re-importing a Latin-1 file used to leave the existing names as they were,
// silently.
func TestReimportInAnotherEncodingUpdatesNames(t *testing.T) {
	st := openStore(t, store.Options{})
	if _, err := importString(st, KindPatients, "plain.csv", "MRN,First Name,Last Name\nQ1,Jose,Munoz\n", Options{}); err != nil {
		t.Fatal(err)
	}
	latin := cp1252(t, "MRN,First Name,Last Name\nQ1,José,Muñoz\n")
	if _, err := importBytes(st, KindPatients, latin, Options{}); err == nil {
		t.Fatal("a Windows-1252 file imported as UTF-8")
	}
	checkNames(t, st, "Q1", "Jose", "Munoz")
	res, err := importBytes(st, KindPatients, latin, Options{Encoding: charset.Windows1252})
	if err != nil || res.Updated != 1 {
		t.Fatalf("re-import: %+v, %v", res, err)
	}
	checkNames(t, st, "Q1", "José", "Muñoz")
}

// Values no practice writes are refused by line and column, never quoting
// the value, and nothing is written.
func TestLimits(t *testing.T) {
	const secret = "SECRETVALUE"
	huge := func(n int) string { return secret + strings.Repeat("x", n) }
	interactions := "Interaction ID,Patient ID (MRN),When,Channel,Direction,Staff,Summary\n"
	appointments := "Appointment ID,Patient ID (MRN),Start,Type,Provider,Status\n"
	tests := []struct {
		name    string
		kind    Kind
		data    string
		message string
	}{
		{"a 10,000,000-character first name", KindPatients, patientsHeader + "Q1," + huge(10_000_000) + ",Lee,,,,,,,,,\n",
			`"First Name" is longer than 200 characters`},
		{"a NUL byte in a name", KindPatients, patientsHeader + "Q1,Ann,Le" + secret + "\x00e,,,,,,,,,\n",
			`"Last Name" holds a control character`},
		{"a tab in a name", KindPatients, patientsHeader + "Q1,\"Ann\t" + secret + "\",Lee,,,,,,,,,\n",
			`"First Name" holds a control character`},
		{"a 255-character email", KindPatients, patientsHeader + "Q1,Ann,Lee,," + huge(240) + "@example.org,,,,,,,\n",
			`"Email" is longer than 254 characters`},
		{"a 101-character city", KindPatients, patientsHeader + "Q1,Ann,Lee,,,," + huge(90) + ",,,,,\n",
			`"City" is longer than 100 characters`},
		{"a 101-character MRN", KindPatients, patientsHeader + huge(90) + ",Ann,Lee,,,,,,,,,\n",
			`"Patient ID (MRN)" is longer than 100 characters`},
		{"born before 1880", KindPatients, patientsHeader + "Q1,Ann,Lee,1879-12-31,,,,,,,,\n",
			`"Date of Birth" is before 1880`},
		{"a 20 MB summary", KindInteractions, interactions + "J1,P1000,2024-12-23 13:08:00,sms,outbound,front desk," + huge(20<<20) + "\n",
			`"Summary" is longer than 20000 characters`},
		{"a bell in a summary", KindInteractions, interactions + "J1,P1000,2024-12-23 13:08:00,sms,outbound,front desk," + secret + "\a\n",
			`"Summary" holds a control character (only tabs and line breaks are allowed)`},
		{"an interaction in the year 1", KindInteractions, interactions + "J1,P1000,0001-01-01 13:08:00,sms,outbound,front desk,Hi\n",
			`"When" is not between 1900 and 2100`},
		{"an interaction in 9999", KindInteractions, interactions + "J1,P1000,9999-12-31 13:08:00,sms,outbound,front desk,Hi\n",
			`"When" is not between 1900 and 2100`},
		{"an appointment in the year 1", KindAppointments, appointments + "X1,P1000,01/01/0001 09:00,follow-up,Dr. Kim,scheduled\n",
			`"Start" is not between 1900 and 2100`},
		{"a 101-character provider", KindAppointments, appointments + "X1,P1000,2024-06-26 09:00:00,follow-up," + huge(90) + ",scheduled\n",
			`"Provider" is longer than 100 characters`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t, store.Options{})
			if tt.kind != KindPatients {
				if _, err := importString(st, KindPatients, "p.csv", "MRN,First Name,Last Name\nP1000,Ann,Lee\n", Options{}); err != nil {
					t.Fatal(err)
				}
			}
			before := counts(t, st)
			res, err := importString(st, tt.kind, "bad.csv", tt.data, Options{})
			var bre *BadRowsError
			if !errors.As(err, &bre) || len(res.Bad) != 1 || res.Bad[0].Line != 2 || !strings.Contains(res.Bad[0].Message, tt.message) {
				t.Fatalf("err %v, bad rows %.300v; want line 2 saying %s", err, res.Bad, tt.message)
			}
			if all := err.Error() + res.Bad[0].Error(); strings.Contains(all, secret) {
				t.Errorf("message %.300q shows the value", all)
			}
			if after := counts(t, st); after != before {
				t.Errorf("counts went from %+v to %+v", before, after)
			}
		})
	}

	// At the limits, and free text with tabs and line breaks, import.
	st := openStore(t, store.Options{})
	data := patientsHeader + "Q1," + strings.Repeat("é", store.MaxNameLen) + ",Lee,1880-01-01,,,,,,,,\n"
	if _, err := importString(st, KindPatients, "ok.csv", data, Options{}); err != nil {
		t.Fatalf("a name at the limit: %v", err)
	}
	data = interactions + "J1,Q1,2100-12-31 23:59:00,note,inbound,front desk,\"line one\n\tline two\"\n"
	if _, err := importString(st, KindInteractions, "ok.csv", data, Options{}); err != nil {
		t.Fatalf("a summary with a tab and a line break: %v", err)
	}
}

// `carebook export` puts a quote before a cell a spreadsheet would run as a
// formula; import takes exactly that quote off again.
func TestFormulaEscapeIsUndone(t *testing.T) {
	st := openStore(t, store.Options{})
	data := "MRN,First Name,Last Name,City\n" +
		"Q1,\"'=HYPERLINK(\"\"x\"\")\",'@Lee,'-Town\n" +
		"Q2,'Ann,O'Brien,''+1\n"
	if _, err := importString(st, KindPatients, "f.csv", data, Options{}); err != nil {
		t.Fatal(err)
	}
	checkNames(t, st, "Q1", `=HYPERLINK("x")`, "@Lee")
	checkNames(t, st, "Q2", "'Ann", "O'Brien")
	if p := patient(t, st, "Q1"); p.City != "-Town" {
		t.Errorf("city %q", p.City)
	}
	if p := patient(t, st, "Q2"); p.City != "'+1" {
		t.Errorf("city %q, want one quote taken off", p.City)
	}
}

// A dry run used to report "0 new" for a file of new patients: it stopped
// before the write that counts. It now makes the write and rolls it back.
func TestDryRunCountsWhatItWouldDo(t *testing.T) {
	needFixtures(t)
	st := openStore(t, store.Options{})
	path := filepath.Join(fixtures, "patients.csv")
	res := importFile(t, st, KindPatients, path, Options{DryRun: true})
	if res.Inserted != 240 || res.Updated != 0 || res.TagLinks == 0 || res.Written {
		t.Errorf("dry run: %d new, %d updated, %d tag links, written %v; want 240 new", res.Inserted, res.Updated, res.TagLinks, res.Written)
	}
	if c := counts(t, st); c != (store.Counts{}) {
		t.Errorf("counts = %+v, want nothing written (not even an audit row)", c)
	}

	importFile(t, st, KindPatients, path, Options{})
	before := counts(t, st)
	res = importFile(t, st, KindAppointments, filepath.Join(fixtures, "appointments.csv"), Options{DryRun: true})
	if res.Inserted != 595 {
		t.Errorf("appointments dry run: %d new, want 595", res.Inserted)
	}
	res, err := importString(st, KindPatients, "p.csv", "Patient ID (MRN),First Name,Last Name\nP1000,Jon,Smith\nP1001,John,Smith\nQ9,New,Person\n",
		Options{DryRun: true})
	if err != nil || res.Inserted != 1 || res.Updated != 1 || res.Unchanged != 1 {
		t.Errorf("dry run of a mixed file: %+v, %v; want 1 new, 1 updated, 1 unchanged", res, err)
	}
	if after := counts(t, st); after != before {
		t.Errorf("dry runs changed the counts from %+v to %+v", before, after)
	}
	checkNames(t, st, "P1000", "John", "Smith")
}

// An import without a consent date used to stamp the import's time as the
// date the patient consented or opted out.
func TestConsentDateIsTheFilesOrUnknown(t *testing.T) {
	st := openStore(t, store.Options{})
	data := "MRN,First Name,Last Name,Marketing Opt-In\nQ1,Ann,Lee,yes\nQ2,Bo,Kim,unsubscribed\n"
	if _, err := importString(st, KindPatients, "c.csv", data, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, mrn := range []string{"Q1", "Q2"} {
		if p := patient(t, st, mrn); !p.ConsentChangedAt.IsZero() {
			t.Errorf("%s consent date %v, want unknown", mrn, p.ConsentChangedAt)
		}
	}

	// Q1 opts out in the cloud CRM; the export carries the opt-out, and it
	// is kept, without a made-up date.
	data = "MRN,First Name,Last Name,Marketing Opt-In\nQ1,Ann,Lee,opted out\n"
	if res, err := importString(st, KindPatients, "c.csv", data, Options{}); err != nil || res.Updated != 1 {
		t.Fatalf("opt-out: %+v, %v", res, err)
	}
	if p := patient(t, st, "Q1"); p.MarketingConsent || !p.ConsentChangedAt.IsZero() {
		t.Errorf("Q1 after the opt-out: consent %v at %v; want false, date unknown", p.MarketingConsent, p.ConsentChangedAt)
	}
	// A later file without a consent column, or with the cell empty, does
	// not opt anyone back in.
	for _, data := range []string{"MRN,First Name,Last Name\nQ1,Ann,Lee\n", "MRN,First Name,Last Name,Marketing Opt-In\nQ1,Ann,Lee,\n"} {
		if _, err := importString(st, KindPatients, "c.csv", data, Options{}); err != nil {
			t.Fatal(err)
		}
		if p := patient(t, st, "Q1"); p.MarketingConsent {
			t.Errorf("%q opted Q1 back in", data)
		}
	}

	// A file that says when is believed.
	data = "MRN,First Name,Last Name,Marketing Opt-In,Consent Date\nQ2,Bo,Kim,yes,2025-03-04 09:30\nQ3,Cy,Ray,no,03/05/2025\n"
	if _, err := importString(st, KindPatients, "c.csv", data, Options{}); err != nil {
		t.Fatal(err)
	}
	if p := patient(t, st, "Q2"); !p.MarketingConsent || !p.ConsentChangedAt.Equal(time.Date(2025, 3, 4, 9, 30, 0, 0, time.UTC)) {
		t.Errorf("Q2: consent %v at %v", p.MarketingConsent, p.ConsentChangedAt)
	}
	if p := patient(t, st, "Q3"); p.MarketingConsent || !p.ConsentChangedAt.Equal(time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Q3: consent %v at %v", p.MarketingConsent, p.ConsentChangedAt)
	}
	data = "MRN,First Name,Last Name,Marketing Opt-In,Consent Date\nQ4,Di,Ray,yes,2031-01-01\n"
	if res, err := importString(st, KindPatients, "c.csv", data, Options{}); err == nil || !strings.Contains(res.Bad[0].Message, `"Consent Date" is in the future`) {
		t.Errorf("a consent date in the future: %v, %v", res.Bad, err)
	}
}
