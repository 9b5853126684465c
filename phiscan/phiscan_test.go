package phiscan

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

const fixture = "../eval/testdata/clinic/patients.csv"

func scanFixture(t *testing.T, opts Options) *FileReport {
	t.Helper()
	if _, err := os.Stat(fixture); err != nil {
		t.Skip("shared fixture not found:", fixture)
	}
	rep, err := ScanFile(context.Background(), fixture, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func scanString(t *testing.T, name, data string, opts Options) *FileReport {
	t.Helper()
	rep, err := Scan(context.Background(), name, strings.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func column(t *testing.T, rep *FileReport, header string) ColumnReport {
	t.Helper()
	for _, c := range rep.Columns {
		if c.Header == header {
			return c
		}
	}
	t.Fatalf("%s: no column %q", rep.File, header)
	return ColumnReport{}
}

type want struct {
	header   string
	category Category
	kind     string
}

func checkColumns(t *testing.T, rep *FileReport, wants []want) {
	t.Helper()
	for _, w := range wants {
		c := column(t, rep, w.header)
		if c.Category != w.category || (w.kind != "" && c.Kind != w.kind) {
			t.Errorf("%s: %q is %s/%s (%s), want %s/%s", rep.File, w.header, c.Category, c.Kind, c.Reason, w.category, w.kind)
		}
	}
}

func TestFixture(t *testing.T) {
	rep := scanFixture(t, Options{})
	header := []string{"Patient ID (MRN)", "First Name", "Last Name", "Date of Birth", "Email", "Phone Number", "City", "Preferred Language", "Marketing Opt-In", "Lifecycle Stage", "Tags", "Notes"}
	var got []string
	for i, c := range rep.Columns {
		got = append(got, c.Header)
		if c.Index != i {
			t.Errorf("%q has index %d, want %d", c.Header, c.Index, i)
		}
	}
	if !slices.Equal(got, header) {
		t.Fatalf("columns %q, want exactly the file's %q", got, header)
	}
	if rep.Rows != 240 {
		t.Errorf("rows = %d, want 240", rep.Rows)
	}
	checkColumns(t, rep, []want{
		{"Patient ID (MRN)", CategoryIdentifier, KindMRN},
		{"First Name", CategoryIdentifier, KindName},
		{"Last Name", CategoryIdentifier, KindName},
		{"Date of Birth", CategoryIdentifier, KindDateOfBirth},
		{"Email", CategoryIdentifier, KindEmail},
		{"Phone Number", CategoryIdentifier, KindPhone},
		{"City", CategoryNone, ""},
		{"Preferred Language", CategoryNone, ""},
		{"Marketing Opt-In", CategoryNone, ""},
		{"Lifecycle Stage", CategoryNone, ""},
		{"Tags", CategoryTags, ""},
		{"Notes", CategoryFreeText, ""},
	})

	tags := column(t, rep, "Tags")
	if tags.Mentions[GroupCondition] == 0 {
		t.Errorf("Tags mentions %v, want conditions", tags.Mentions)
	}
	notes := column(t, rep, "Notes")
	if notes.Mentions[GroupMedication] == 0 || notes.Mentions[GroupAllergy] == 0 {
		t.Errorf("Notes mentions %v, want medications and allergies", notes.Mentions)
	}
	for _, c := range []ColumnReport{tags, notes} {
		if len(c.MentionRows) == 0 || len(c.MentionRows) > MaxMentionRows {
			t.Errorf("%s mention rows %v, want 1 to %d", c.Header, c.MentionRows, MaxMentionRows)
		}
		if c.MentionRows[0] < 1 || !slices.IsSorted(c.MentionRows) {
			t.Errorf("%s mention rows %v, want 1-based and ascending", c.Header, c.MentionRows)
		}
		if len(c.Examples) != 0 {
			t.Errorf("%s has examples without ShowExamples", c.Header)
		}
	}
	for _, c := range rep.Columns {
		if !scansText(c.Category) && c.Mentions != nil {
			t.Errorf("%s (%s) reports mentions", c.Header, c.Category)
		}
	}

	if !rep.HoldsPHI {
		t.Error("HoldsPHI = false")
	}
	if rep.Recommendation != RecommendMigrate {
		t.Errorf("recommendation %q, want migrate", rep.Recommendation)
	}
	if keep := []string{"First Name", "Last Name", "Email", "Marketing Opt-In"}; !slices.Equal(rep.MarketingMayKeep, keep) {
		t.Errorf("marketing may keep %q, want %q", rep.MarketingMayKeep, keep)
	}
	if len(rep.Advice) == 0 {
		t.Error("no advice")
	}
}

// A fixture row whose Notes mention a medication, found by reading the file
// here: the row numbers in the report must point at real rows.
func TestFixtureMentionRowsPointAtRows(t *testing.T) {
	rep := scanFixture(t, Options{})
	f, err := os.Open(fixture)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	notes := column(t, rep, "Notes")
	for _, r := range notes.MentionRows {
		if matchGroups(rows[r][notes.Index]) == 0 {
			t.Errorf("row %d has no mention", r)
		}
	}
}

const hubspotCSV = `Record ID,First Name,Last Name,Email,Phone Number,Mobile Phone Number,Street Address,City,State/Region,Postal Code,Date of birth,Lifecycle Stage,Contact owner,Create Date,Marketing contact status
51,Ann,Quill,ann.quill@example.com,+1 (555) 010-2000,555-010-3000,12 Elm St,Lakewood,CO,80214,1961-04-09,customer,Pat Desk,2024-01-05 10:00,Marketing contact
52,Ben,Ortiz,ben.ortiz@example.com,555.010.2001,,9 Oak Ave,Lakewood,CO,80215,1990-12-30,lead,Pat Desk,2024-02-11 09:30,Non-marketing contact
53,Cara,Nunez,cara.nunez@example.com,5550102002,555 010 3002,77 Pine Rd,Golden,CO,80401,1975-07-15,customer,Sam Front,2024-03-20 16:45,Marketing contact
`

const mailchimpCSV = "\uFEFF" + `Email Address,First Name,Last Name,Address,Phone Number,Birthday,MEMBER_RATING,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,LATITUDE,LONGITUDE,GMTOFF,TIMEZONE,CC,REGION,LAST_CHANGED,LEID,EUID,NOTES,TAGS
dora.penn@example.net,Dora,Penn,"4 Bay St  Portland  OR  97201  US",503-555-0101,04/12,2,2023-05-01 10:00:00,203.0.113.5,2023-05-01 10:01:00,45.52,-122.68,-8,America/Los_Angeles,US,OR,2024-01-02 12:00:00,1001,a1b2c3,,"""newsletter"""
eli.ruiz@example.net,Eli,Ruiz,"8 Hill Rd  Portland  OR  97202  US",503-555-0102,11/30,4,2023-06-02 11:00:00,203.0.113.6,2023-06-02 11:01:00,45.51,-122.65,-8,America/Los_Angeles,US,OR,2024-02-03 12:00:00,1002,d4e5f6,,"""newsletter"",""diabetes-education"""
fay.sato@example.net,Fay,Sato,"1 Lake Dr  Beaverton  OR  97005  US",503-555-0103,02/01,3,2023-07-03 12:00:00,203.0.113.7,2023-07-03 12:01:00,45.49,-122.80,-8,America/Los_Angeles,US,OR,2024-03-04 12:00:00,1003,g7h8i9,,"""newsletter"""
gus.hale@example.net,Gus,Hale,"5 Rose Ln  Portland  OR  97203  US",503-555-0104,07/07,2,2023-08-04 13:00:00,203.0.113.8,2023-08-04 13:01:00,45.58,-122.71,-8,America/Los_Angeles,US,OR,2024-04-05 12:00:00,1004,j1k2l3,,"""newsletter"""
ida.bell@example.net,Ida,Bell,"2 Fern Ct  Portland  OR  97204  US",503-555-0105,09/19,5,2023-09-05 14:00:00,203.0.113.9,2023-09-05 14:01:00,45.52,-122.67,-8,America/Los_Angeles,US,OR,2024-05-06 12:00:00,1005,m4n5o6,,"""vip"""
jon.kirk@example.net,Jon,Kirk,"3 Elm Way  Gresham  OR  97030  US",503-555-0106,12/24,1,2023-10-06 15:00:00,203.0.113.10,2023-10-06 15:01:00,45.50,-122.43,-8,America/Los_Angeles,US,OR,2024-06-07 12:00:00,1006,p7q8r9,,"""newsletter"""
kim.lowe@example.net,Kim,Lowe,"6 Ash Pl  Portland  OR  97205  US",503-555-0107,03/03,2,2023-11-07 16:00:00,203.0.113.11,2023-11-07 16:01:00,45.52,-122.69,-8,America/Los_Angeles,US,OR,2024-07-08 12:00:00,1007,s1t2u3,,"""newsletter"""
lou.marsh@example.net,Lou,Marsh,"7 Oak St  Portland  OR  97206  US",503-555-0108,05/05,3,2023-12-08 17:00:00,203.0.113.12,2023-12-08 17:01:00,45.48,-122.60,-8,America/Los_Angeles,US,OR,2024-08-09 12:00:00,1008,v4w5x6,,"""newsletter"""
mae.nash@example.net,Mae,Nash,"9 Elk Rd  Tigard  OR  97223  US",503-555-0109,06/16,4,2024-01-09 18:00:00,203.0.113.13,2024-01-09 18:01:00,45.43,-122.77,-8,America/Los_Angeles,US,OR,2024-09-10 12:00:00,1009,y7z8a9,,"""newsletter"""
ned.orr@example.net,Ned,Orr,"10 Fox Ave  Portland  OR  97207  US",503-555-0110,08/08,2,2024-02-10 19:00:00,203.0.113.14,2024-02-10 19:01:00,45.53,-122.66,-8,America/Los_Angeles,US,OR,2024-10-11 12:00:00,1010,b1c2d3,,"""newsletter"""
`

const keapCSV = `Id,First Name,Last Name,Email,Phone 1,Phone 1 Type,Birthday,Street Address 1,City,State,Postal Code,Lead Source,Tags,Person Notes
7,Olga,Park,olga.park@example.org,(555) 020-1000,Mobile,1948-02-29,4 Main St,Dayton,OH,45402,Referral,"Recall Due,VIP","Follow-up for hypertension, started lisinopril 10mg"
8,Pete,Quinn,pete.quinn@example.org,(555) 020-1001,Home,1983-09-09,8 Main St,Dayton,OH,45403,Website,New Patient,"Prefers texts. NKDA. Annual physical booked"
9,Rita,Shaw,rita.shaw@example.org,(555) 020-1002,Work,2001-01-21,12 Main St,Kettering,OH,45429,Referral,,"Asked about payment plans for the crown, will call back"
`

func TestVendorShapes(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		columns  []want
		rec      Recommendation
		keep     []string
		mentions map[string][]string // column -> groups that must be mentioned
	}{
		{
			name: "hubspot.csv", data: hubspotCSV,
			columns: []want{
				{"Record ID", CategoryNone, ""},
				{"First Name", CategoryIdentifier, KindName},
				{"Last Name", CategoryIdentifier, KindName},
				{"Email", CategoryIdentifier, KindEmail},
				{"Phone Number", CategoryIdentifier, KindPhone},
				{"Mobile Phone Number", CategoryIdentifier, KindPhone},
				{"Street Address", CategoryIdentifier, KindAddress},
				{"City", CategoryNone, ""},
				{"State/Region", CategoryNone, ""},
				{"Postal Code", CategoryIdentifier, KindAddress},
				{"Date of birth", CategoryIdentifier, KindDateOfBirth},
				{"Lifecycle Stage", CategoryNone, ""},
				{"Contact owner", CategoryNone, ""},
				{"Create Date", CategoryNone, ""},
				{"Marketing contact status", CategoryNone, KindMarketing},
			},
			rec:  RecommendSplit,
			keep: []string{"First Name", "Last Name", "Email", "Marketing contact status"},
		},
		{
			name: "mailchimp.csv", data: mailchimpCSV,
			columns: []want{
				{"Email Address", CategoryIdentifier, KindEmail},
				{"First Name", CategoryIdentifier, KindName},
				{"Last Name", CategoryIdentifier, KindName},
				{"Address", CategoryIdentifier, KindAddress},
				{"Phone Number", CategoryIdentifier, KindPhone},
				{"Birthday", CategoryIdentifier, KindDateOfBirth},
				{"MEMBER_RATING", CategoryNone, ""},
				{"OPTIN_TIME", CategoryNone, ""},
				{"OPTIN_IP", CategoryNone, ""},
				{"LATITUDE", CategoryNone, ""},
				{"LAST_CHANGED", CategoryNone, ""},
				{"LEID", CategoryNone, ""},
				{"NOTES", CategoryFreeText, ""},
				{"TAGS", CategoryTags, ""},
			},
			rec:      RecommendStrip, // one clinical tag in ten rows
			keep:     []string{"Email Address", "First Name", "Last Name", "MEMBER_RATING", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "LEID", "EUID"},
			mentions: map[string][]string{"TAGS": {GroupCondition}},
		},
		{
			name: "keap.csv", data: keapCSV,
			columns: []want{
				{"Id", CategoryNone, ""},
				{"First Name", CategoryIdentifier, KindName},
				{"Last Name", CategoryIdentifier, KindName},
				{"Email", CategoryIdentifier, KindEmail},
				{"Phone 1", CategoryIdentifier, KindPhone},
				{"Phone 1 Type", CategoryNone, ""},
				{"Birthday", CategoryIdentifier, KindDateOfBirth},
				{"Street Address 1", CategoryIdentifier, KindAddress},
				{"City", CategoryNone, ""},
				{"Postal Code", CategoryIdentifier, KindAddress},
				{"Lead Source", CategoryNone, ""},
				{"Tags", CategoryTags, ""},
				{"Person Notes", CategoryFreeText, ""},
			},
			rec:  RecommendMigrate,
			keep: []string{"First Name", "Last Name", "Email"},
			mentions: map[string][]string{
				"Tags":         {GroupVisitType},
				"Person Notes": {GroupCondition, GroupMedication, GroupAllergy, GroupVisitType},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := scanString(t, tt.name, tt.data, Options{})
			checkColumns(t, rep, tt.columns)
			if rep.Recommendation != tt.rec {
				t.Errorf("recommendation %q, want %q; advice %q", rep.Recommendation, tt.rec, rep.Advice)
			}
			if !rep.HoldsPHI {
				t.Error("HoldsPHI = false")
			}
			if !slices.Equal(rep.MarketingMayKeep, tt.keep) {
				t.Errorf("marketing may keep %q, want %q", rep.MarketingMayKeep, tt.keep)
			}
			for header, groups := range tt.mentions {
				c := column(t, rep, header)
				for _, g := range groups {
					if c.Mentions[g] == 0 {
						t.Errorf("%s mentions %v, want %s", header, c.Mentions, g)
					}
				}
			}
			assertNoValues(t, tt.data, rep)
		})
	}
}

func TestMatchGroups(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"diabetes;refill-overdue", []string{GroupCondition, GroupMedication}},
		{"Refill METFORMIN overdue", []string{GroupMedication}},
		{"allergic to penicillin", []string{GroupMedication, GroupAllergy}},
		{"Follow-up visit", []string{GroupVisitType}},
		{"new patient", []string{GroupVisitType}},
		{"new;patient", nil}, // two tags, not a phrase
		{"new-parent|vip", nil},
		{"recall-due", []string{GroupVisitType}},
		{`"newsletter","Type-2 Diabetes"`, []string{GroupCondition}},
		{"NKDA", []string{GroupAllergy}},
		{"prediabetesx", nil}, // whole words only
		{"hivemind", nil},
		{"prefers morning calls", nil},
		{"hearing aids", nil},
		{"", nil},
	}
	for _, tt := range tests {
		got := matchGroups(tt.text)
		var names []string
		for gi, g := range Groups {
			if got&(1<<gi) != 0 {
				names = append(names, g)
			}
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("matchGroups(%q) = %v, want %v", tt.text, names, tt.want)
		}
	}
}

func TestHeaderNormalisation(t *testing.T) {
	tests := []struct {
		header   string
		category Category
		kind     string
	}{
		{"E-mail", CategoryIdentifier, KindEmail},
		{"  EMAIL ADDRESS ", CategoryIdentifier, KindEmail},
		{"Email Opt-In", CategoryNone, KindMarketing},
		{"date_of_birth", CategoryIdentifier, KindDateOfBirth},
		{"DOB", CategoryIdentifier, KindDateOfBirth},
		{"Insurance Member ID", CategoryIdentifier, KindInsuranceMemberID},
		{"Insurance Carrier", CategoryFinancial, KindInsurance},
		{"Copay", CategoryFinancial, KindCopay},
		{"Balance Due", CategoryFinancial, KindBalance},
		{"Diagnosis", CategoryClinical, KindDiagnosis},
		{"Current Medications", CategoryClinical, KindMedication},
		{"Allergies", CategoryClinical, KindAllergy},
		{"Treatment Plan", CategoryClinical, KindTreatment},
		{"Appointment Type", CategoryClinical, KindAppointmentType},
		{"Next Appointment", CategoryClinical, KindAppointmentDate},
		{"Number of Sessions", CategoryNone, KindCRM},
		{"Notes last updated", CategoryNone, KindCRM},
		{"Emergency Contact Name", CategoryIdentifier, KindName},
		{"Address City", CategoryIdentifier, KindAddress},
		{"Company Name", CategoryNone, KindCRM},
		{"Favourite Colour", CategoryNone, ""},
	}
	for _, tt := range tests {
		c := classify(tt.header, 0, nil)
		if c.Category != tt.category || c.Kind != tt.kind {
			t.Errorf("%q: %s/%s (%s), want %s/%s", tt.header, c.Category, c.Kind, c.Reason, tt.category, tt.kind)
		}
	}
}

func TestValueDetectors(t *testing.T) {
	tests := []struct {
		name     string
		values   []string
		category Category
		kind     string
		reason   string
	}{
		{"emails", []string{"a.b@example.com", "c@example.org", "d.e@example.co.uk"}, CategoryIdentifier, KindEmail, "values: 100% emails"},
		{"phones", []string{"(555) 123-4567", "555.123.4567", "+1 555 123 4567", "5551234567 x12"}, CategoryIdentifier, KindPhone, "values: 100% phone numbers"},
		{"birth dates", []string{"03/02/1958", "1990-11-20", "7/4/2001", "12/31/1944"}, CategoryIdentifier, KindDateOfBirth, "like dates of birth"},
		{"recent dates", []string{"2024-01-02", "2024-03-04", "2023-12-01"}, CategoryNone, "", "not spread like dates of birth"},
		{"free text", []string{"called about the bill, will ring back", "left a voicemail on Tuesday morning", "asked to move to the afternoon"}, CategoryFreeText, "", "free text"},
		{"clinical terms", []string{"asthma", "hypertension", "none", "migraine"}, CategoryClinical, KindDiagnosis, "clinical terms"},
		{"codes", []string{"A1", "B2", "C3"}, CategoryNone, "", "no PHI"},
		{"empty", nil, CategoryNone, "", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := classify("Custom Field 7", 0, tt.values)
			if c.Category != tt.category || c.Kind != tt.kind || !strings.Contains(c.Reason, tt.reason) {
				t.Errorf("got %s/%s (%s), want %s/%s (%s)", c.Category, c.Kind, c.Reason, tt.category, tt.kind, tt.reason)
			}
		})
	}
}

func TestMalformedFiles(t *testing.T) {
	tests := []struct {
		name, data string
		want       string
		is         error
	}{
		{"ragged.csv", "First Name,Email\nAnn,a@example.com\nBen\n", "scan ragged.csv: line 3: wrong number of fields (the header has 2 columns)", csv.ErrFieldCount},
		{"too-wide.csv", "First Name,Email\nAnn,a@example.com,extra\n", "scan too-wide.csv: line 2: wrong number of fields", csv.ErrFieldCount},
		{"quote.csv", "First Name,Email\n\"Ann,a@example.com\n", "scan quote.csv: line ", csv.ErrQuote},
		{"empty.csv", "", "scan empty.csv: the file is empty", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Scan(context.Background(), tt.name, strings.NewReader(tt.data), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
			if strings.Contains(err.Error(), "Ben") || strings.Contains(err.Error(), "example.com") {
				t.Errorf("error %q quotes a value", err)
			}
		})
	}
	if _, err := ScanFile(context.Background(), "no-such-file.csv", Options{}); err == nil || !strings.Contains(err.Error(), "scan no-such-file.csv") {
		t.Errorf("missing file: %v", err)
	}
}

func TestBOMIsStripped(t *testing.T) {
	rep := scanString(t, "bom.csv", "\uFEFFEmail,Notes\na@example.com,\n", Options{})
	if c := rep.Columns[0]; c.Header != "Email" || c.Kind != KindEmail {
		t.Errorf("first column %q is %s/%s, want Email identifier/email", c.Header, c.Category, c.Kind)
	}
}

// Mentions are counted in every row, not only the sampled ones, and their
// row list is capped.
func TestMentionsCountEveryRow(t *testing.T) {
	var b strings.Builder
	b.WriteString("Email,Notes\n")
	for i := 1; i <= 100; i++ {
		note := "prefers morning calls"
		if i > 10 {
			note = "asked about a metformin refill"
		}
		fmt.Fprintf(&b, "p%d@example.com,%s\n", i, note)
	}
	rep := scanString(t, "big.csv", b.String(), Options{SampleRows: 10})
	if rep.Rows != 100 || rep.SampledRows != 10 {
		t.Fatalf("rows %d, sampled %d; want 100 and 10", rep.Rows, rep.SampledRows)
	}
	notes := column(t, rep, "Notes")
	if notes.Mentions[GroupMedication] != 90 {
		t.Errorf("medication mentions %d, want 90", notes.Mentions[GroupMedication])
	}
	if len(notes.MentionRows) != MaxMentionRows || notes.MentionRows[0] != 11 {
		t.Errorf("mention rows %v, want %d rows from 11", notes.MentionRows, MaxMentionRows)
	}
	if notes.Filled != 100 {
		t.Errorf("filled %d, want 100", notes.Filled)
	}
}

func TestShowExamples(t *testing.T) {
	rep := scanFixture(t, Options{ShowExamples: true})
	for _, c := range rep.Columns {
		if len(c.Examples) == 0 || len(c.Examples) > maxExamples {
			t.Errorf("%s: %d examples, want 1 to %d", c.Header, len(c.Examples), maxExamples)
		}
	}
}

func TestNoValuesInReport(t *testing.T) {
	rep := scanFixture(t, Options{})
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	assertNoValues(t, string(data), rep)
}

// assertNoValues fails if the report, as JSON or as text, holds any cell of
// the CSV: cells shorter than four characters, headers and generic values
// like "Yes" are skipped, since the report may say them for other reasons,
// and so is the text of the headers themselves.
func assertNoValues(t *testing.T, data string, rep *FileReport) {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(data, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	// The text a person reads: what carebook scan prints from the report.
	var tb strings.Builder
	fmt.Fprintf(&tb, "%s %d %s %s %v\n", rep.File, rep.Rows, rep.Recommendation, rep.Recommendation.Describe(), rep.MarketingMayKeep)
	for _, c := range rep.Columns {
		fmt.Fprintf(&tb, "%s %s/%s %s %s %v\n", c.Header, c.Category, c.Kind, c.Reason, MentionsText(c.Mentions), c.MentionRows)
	}
	tb.WriteString(strings.Join(rep.Advice, "\n"))
	text := tb.String()
	// The report names every header; a first name like "Mark" inside the
	// header "Marketing Opt-In" is not a leak, so headers are cut out first.
	headers := slices.Clone(rows[0])
	slices.SortFunc(headers, func(a, b string) int { return len(b) - len(a) })
	for _, h := range headers {
		if h != "" {
			js = []byte(strings.ReplaceAll(string(js), h, "\x00"))
			text = strings.ReplaceAll(text, h, "\x00")
		}
	}
	generic := map[string]bool{"Yes": true, "No": true, "active": true, "true": true, "false": true}
	checked := 0
	for _, row := range rows[1:] {
		for _, cell := range row {
			cell = strings.TrimSpace(cell)
			if len(cell) < 4 || slices.Contains(rows[0], cell) || generic[cell] {
				continue
			}
			checked++
			if strings.Contains(string(js), cell) {
				t.Errorf("JSON report holds the value %q", cell)
			}
			if strings.Contains(text, cell) {
				t.Errorf("text report holds the value %q", cell)
			}
		}
	}
	if checked == 0 {
		t.Error("checked no cells")
	}
}
