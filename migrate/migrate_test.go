package migrate

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carebook/carebook/importer"
	"github.com/carebook/carebook/internal/charset"
	"github.com/carebook/carebook/store"
)

var now = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)

const (
	hubspotCSV   = "testdata/hubspot.csv"
	mailchimpCSV = "testdata/mailchimp.csv"
)

func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path, store.Options{Now: func() time.Time { return now }, Actor: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func inspect(t *testing.T, paths ...string) *Plan {
	t.Helper()
	p, err := Inspect(context.Background(), paths, charset.Auto)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mappingOf(f *File) map[string]string {
	m := map[string]string{}
	for _, c := range f.Columns {
		m[c.Header] = c.Field
	}
	return m
}

func TestProposedMapping(t *testing.T) {
	p := inspect(t, hubspotCSV, mailchimpCSV)
	hs, mc := p.Files[0], p.Files[1]
	if hs.Vendor != VendorHubSpot || mc.Vendor != VendorMailchimp {
		t.Fatalf("vendors %s, %s", hs.Vendor, mc.Vendor)
	}
	want := map[string]string{
		"Record ID": FieldRecordID, "First Name": FieldFirstName, "Last Name": FieldLastName, "Email": FieldEmail,
		"Phone Number": FieldPhone, "Mobile Phone Number": FieldPhone, "Date of birth": FieldDOB, "City": FieldCity,
		"State/Region": "", "Lifecycle Stage": FieldStatus, "Marketing contact status": FieldMarketingConsent,
		"Tags": FieldTags, "Notes": FieldNotes, "Create Date": "",
	}
	if got := mappingOf(hs); !mapsEqual(got, want) {
		t.Errorf("HubSpot mapping\n got %v\nwant %v", got, want)
	}
	got := mappingOf(mc)
	for h, f := range map[string]string{
		"Email Address": FieldEmail, "First Name": FieldFirstName, "Last Name": FieldLastName, "Address": FieldCity,
		"Phone Number": FieldPhone, "Birthday": FieldDOB, "OPTIN_TIME": FieldMarketingConsent, "LEID": FieldRecordID,
		"NOTES": FieldNotes, "TAGS": FieldTags, "MEMBER_RATING": "", "LATITUDE": "",
	} {
		if got[h] != f {
			t.Errorf("Mailchimp %q → %q, want %q", h, got[h], f)
		}
	}
	if !mc.AllOptedIn {
		t.Error("a Mailchimp export of subscribed members should count everyone as opted in")
	}
	// The inventory comes from the PHI scan.
	for _, c := range hs.Columns {
		if c.Header == "Notes" && (c.Holds != "free_text" || c.Filled != 5 || c.Mentions["medication"] == 0 || c.Mentions["allergy"] == 0) {
			t.Errorf("Notes inventory %+v", c)
		}
	}

	// Keap.
	dir := t.TempDir()
	keap := filepath.Join(dir, "keap.csv")
	write(t, keap, "Id,First Name,Last Name,Email,Phone 1,Phone 1 Type,Birthday,City,Tags,Person Notes,Email Status\n"+
		"7,Ann,Lee,ann@example.com,555-010-3001,Mobile,1970-05-06,Fairview,Newsletter,Asthma; uses an inhaler,Single Opt-in\n")
	k := inspect(t, keap).Files[0]
	if k.Vendor != VendorKeap {
		t.Fatalf("vendor %s, want keap", k.Vendor)
	}
	got = mappingOf(k)
	for h, f := range map[string]string{"Id": FieldRecordID, "Phone 1": FieldPhone, "Birthday": FieldDOB, "Tags": FieldTags,
		"Person Notes": FieldNotes, "Email Status": FieldMarketingConsent, "Phone 1 Type": ""} {
		if got[h] != f {
			t.Errorf("Keap %q → %q, want %q", h, got[h], f)
		}
	}
	res, err := inspect(t, keap).Resolve(now)
	if err != nil {
		t.Fatal(err)
	}
	pt := res.Patients[0]
	if pt.MRN != "KP-7" || !pt.MarketingConsent || pt.DOB.IsZero() || len(pt.Notes) != 1 {
		t.Errorf("Keap patient %+v", pt)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// readCSV returns the header and rows of a test file.
func readCSV(t *testing.T, path string) ([]string, [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs[0], recs[1:]
}

func TestMigrateKeepsEverything(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "p.duckdb")
	p := inspect(t, hubspotCSV, mailchimpCSV)
	res, err := p.Resolve(now)
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, db)
	defer st.Close()
	out, err := Write(ctx, st, res, store.AuditEntry{})
	if err != nil {
		t.Fatal(err)
	}

	if out.Rows != 16 || out.Patients != 13 || out.Inserted != 13 || out.Merged != 3 || !out.Written {
		t.Errorf("result %+v", out)
	}
	// Every merge is listed, with the key that matched.
	wantMerges := []Merge{
		{Row: RowRef{"hubspot.csv", 6}, With: RowRef{"hubspot.csv", 2}, Into: RowRef{"hubspot.csv", 2}, Key: KeyEmail},
		{Row: RowRef{"hubspot.csv", 8}, With: RowRef{"hubspot.csv", 5}, Into: RowRef{"hubspot.csv", 5}, Key: KeyPhoneDOB},
		{Row: RowRef{"mailchimp.csv", 3}, With: RowRef{"hubspot.csv", 4}, Into: RowRef{"hubspot.csv", 4}, Key: KeyEmail},
	}
	if !slices.Equal(out.Merges, wantMerges) {
		t.Errorf("merges\n got %+v\nwant %+v", out.Merges, wantMerges)
	}
	// No loss: every row is the first row of a patient or a listed merge.
	merged := map[RowRef]bool{}
	for _, m := range out.Merges {
		merged[m.Row] = true
	}
	seen := map[RowRef]bool{}
	for _, pt := range res.Patients {
		for i, r := range pt.Rows {
			if seen[r] {
				t.Errorf("%s is in two patients", r)
			}
			seen[r] = true
			if i > 0 && !merged[r] {
				t.Errorf("%s was merged without being listed", r)
			}
		}
	}
	for _, f := range []string{"hubspot.csv", "mailchimp.csv"} {
		for row := 2; row <= 9; row++ {
			if !seen[RowRef{f, row}] {
				t.Errorf("%s row %d is lost", f, row)
			}
		}
	}
	// The disagreement between Dev and Devon (rows 5 and 8) is listed by
	// field and row only.
	foundName := false
	for _, c := range out.Conflicts {
		if c.Field == FieldFirstName && c.Kept == (RowRef{"hubspot.csv", 5}) && slices.Equal(c.Others, []RowRef{{"hubspot.csv", 8}}) {
			foundName = true
		}
	}
	if !foundName {
		t.Errorf("first-name conflict not listed: %+v", out.Conflicts)
	}
	// The report names no one.
	report, _ := json.Marshal(out)
	for _, secret := range []string{"Ana", "Devon", "testa", "example.com", "metformin", "555"} {
		if strings.Contains(string(report), secret) {
			t.Errorf("the result mentions %q: %s", secret, report)
		}
	}

	r := st.Reader()
	c, err := r.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Patients != 13 {
		t.Errorf("%d patients in the database, want 13", c.Patients)
	}
	// Every note is an interaction of the right patient.
	notes, err := r.FindInteractions(ctx, store.InteractionQuery{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 9 || out.NotesKept != 9 {
		t.Errorf("%d interactions, %d notes kept; want 9", len(notes), out.NotesKept)
	}
	for _, it := range notes {
		if it.Channel != store.ChannelNote || it.Direction != store.DirectionInbound || it.Staff != "migration" || !it.At.Equal(now) {
			t.Errorf("interaction %+v", it)
		}
	}
	hasNote := func(mrn, text string) bool {
		return slices.ContainsFunc(notes, func(it store.Interaction) bool { return it.PatientMRN == mrn && it.Summary == text })
	}
	for _, f := range []struct{ path, noteCol, idCol, prefix, tagCol string }{
		{hubspotCSV, "Notes", "Record ID", "HS-", "Tags"},
		{mailchimpCSV, "NOTES", "LEID", "MC-", "TAGS"},
	} {
		header, rows := readCSV(t, f.path)
		nc, ic, tc := slices.Index(header, f.noteCol), slices.Index(header, f.idCol), slices.Index(header, f.tagCol)
		for i, rec := range rows {
			ref := RowRef{filepath.Base(f.path), i + 2}
			mrn := mrnOf(res, ref)
			if mrn == "" {
				t.Fatalf("%s has no patient", ref)
			}
			// Mailchimp row 3 went into HubSpot's Cara.
			if ref.File == "hubspot.csv" && !strings.HasPrefix(mrn, "HS-") ||
				ref.File == "mailchimp.csv" && ref.Row != 3 && mrn != f.prefix+rec[ic] {
				t.Errorf("%s: MRN %s", ref, mrn)
			}
			if note := strings.TrimSpace(rec[nc]); note != "" && !hasNote(mrn, note) {
				t.Errorf("the note of %s is not an interaction of %s", ref, mrn)
			}
			// Tags are kept, unioned over merged rows.
			pts, err := r.FindPatients(ctx, store.PatientFilter{MRNs: []string{mrn}}, 0)
			if err != nil || len(pts) != 1 {
				t.Fatalf("%s: %v %d", mrn, err, len(pts))
			}
			for _, tag := range importer.NormalizeTags(rec[tc]) {
				if !slices.Contains(pts[0].Tags, tag) {
					t.Errorf("%s: tag %s of %s is lost (has %v)", mrn, tag, ref, pts[0].Tags)
				}
			}
		}
	}
	// The merged Ana keeps the first row's phone and both rows' tags.
	ana, _ := r.FindPatients(ctx, store.PatientFilter{MRNs: []string{"HS-101"}}, 0)
	if len(ana) != 1 || ana[0].Phone != "5550101101" || len(ana[0].Tags) != 3 || ana[0].Email != "ana.testa@example.com" {
		t.Errorf("merged patient %+v", ana)
	}
	// Everyone in the Mailchimp export opted in, even with no opt-in time.
	hana, _ := r.FindPatients(ctx, store.PatientFilter{EmailContains: "hana.sample"}, 0)
	if len(hana) != 1 || !hana[0].MarketingConsent || hana[0].City != "" {
		t.Errorf("Mailchimp member %+v", hana)
	}
	kim, _ := r.FindPatients(ctx, store.PatientFilter{EmailContains: "kim.fake"}, 0)
	if len(kim) != 1 || kim[0].City != "Lakeside" {
		t.Errorf("city from the Mailchimp address: %+v", kim)
	}

	// One audit row, channel import, naming the tool and the files.
	log, err := r.AuditLog(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Channel != "import" || log[0].Outcome != store.OutcomeOK || len(log[0].PatientIDs) != 13 {
		t.Fatalf("audit log %+v", log)
	}
	var action struct {
		Tool string
		Args struct{ Files []string }
	}
	if err := json.Unmarshal([]byte(log[0].Action), &action); err != nil || action.Tool != "migrate" ||
		!slices.Equal(action.Args.Files, []string{"hubspot.csv", "mailchimp.csv"}) {
		t.Errorf("audit action %s (%v)", log[0].Action, err)
	}

	// Running it again changes nothing and adds no note twice.
	res2, err := inspect(t, hubspotCSV, mailchimpCSV).Resolve(now)
	if err != nil {
		t.Fatal(err)
	}
	out2, err := Write(ctx, st, res2, store.AuditEntry{})
	if err != nil {
		t.Fatal(err)
	}
	if out2.Inserted != 0 || out2.Updated != 0 || out2.NotesKept != 0 || out2.NotesAlready != 9 || out2.TagLinks != 0 {
		t.Errorf("second run %+v", out2)
	}
}

func mrnOf(res *Resolution, ref RowRef) string {
	for _, p := range res.Patients {
		if slices.Contains(p.Rows, ref) {
			return p.MRN
		}
	}
	return ""
}

func TestMapFileHonoured(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct{ name, text string }{
		{"map.toml", "[columns]\n\"Record ID\" = \"mrn\"\n\"notes\" = \"skip\"\n\"Create Date\" = \"skip\"\n"},
		{"map.json", `{"columns": {"record id": "mrn", "Notes": "skip"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			write(t, path, tc.text)
			m, err := LoadMapping(path)
			if err != nil {
				t.Fatal(err)
			}
			p := inspect(t, hubspotCSV)
			if err := p.ApplyMapping(m); err != nil {
				t.Fatal(err)
			}
			got := mappingOf(p.Files[0])
			if got["Record ID"] != FieldMRN || got["Notes"] != "" || got["Email"] != FieldEmail {
				t.Fatalf("mapping %v", got)
			}
			res, err := p.Resolve(now)
			if err != nil {
				t.Fatal(err)
			}
			st := openStore(t, filepath.Join(t.TempDir(), "p.duckdb"))
			defer st.Close()
			out, err := Write(ctx, st, res, store.AuditEntry{})
			if err != nil {
				t.Fatal(err)
			}
			if out.NotesKept != 0 || out.Patients != 6 {
				t.Errorf("result %+v", out)
			}
			pts, err := st.Reader().FindPatients(ctx, store.PatientFilter{MRNs: []string{"101", "102"}}, 0)
			if err != nil || len(pts) != 2 {
				t.Errorf("patients by the mapped MRN: %d, %v", len(pts), err)
			}
			if n, _ := st.Reader().CountInteractions(ctx, store.InteractionQuery{}); n != 0 {
				t.Errorf("%d interactions from a skipped notes column", n)
			}
			if !slices.ContainsFunc(out.SkippedColumns, func(s SkippedColumn) bool { return s.Header == "Notes" }) {
				t.Errorf("skipped columns %+v", out.SkippedColumns)
			}
		})
	}

	bad := map[string]string{
		"unknown-field.toml":  "[columns]\n\"Email\" = \"e-mail\"\n",
		"unknown-key.toml":    "[columns]\n\"Email\" = \"email\"\n[extra]\nx = 1\n",
		"unknown-header.toml": "[columns]\n\"Emial\" = \"email\"\n",
		"empty.json":          `{}`,
	}
	for name, text := range bad {
		path := filepath.Join(dir, name)
		write(t, path, text)
		m, err := LoadMapping(path)
		if err == nil {
			err = inspect(t, hubspotCSV).ApplyMapping(m)
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestBadValueWritesNothing(t *testing.T) {
	dir := t.TempDir()
	// A copy of the HubSpot export whose "Create Date" is not a date in
	// one row, mapped to dob by a mapping file.
	data, err := os.ReadFile(hubspotCSV)
	if err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(dir, "hubspot.csv")
	write(t, csvPath, strings.Replace(string(data), `"2024-03-15 16:05"`, `"the ides of March"`, 1))
	mapPath := filepath.Join(dir, "map.toml")
	write(t, mapPath, "[columns]\n\"Create Date\" = \"dob\"\n")
	m, err := LoadMapping(mapPath)
	if err != nil {
		t.Fatal(err)
	}
	p := inspect(t, csvPath, mailchimpCSV)
	if err := p.ApplyMapping(m); err != nil {
		t.Fatal(err)
	}
	_, err = p.Resolve(now)
	var badRows *BadRowsError
	if !errors.As(err, &badRows) || len(badRows.Bad) != 1 {
		t.Fatalf("got %v", err)
	}
	if b := badRows.Bad[0]; b.RowRef != (RowRef{"hubspot.csv", 7}) || !strings.Contains(b.Message, `"Create Date"`) || strings.Contains(b.Error(), "ides") {
		t.Errorf("bad value reported as %q", b.Error())
	}
	if _, err := os.Stat(filepath.Join(dir, "p.duckdb")); err == nil {
		t.Error("a database was created")
	}
}

func TestFailureMidImportWritesNothing(t *testing.T) {
	db := filepath.Join(t.TempDir(), "p.duckdb")
	st := openStore(t, db)
	defer st.Close()
	res, err := inspect(t, hubspotCSV, mailchimpCSV).Resolve(now)
	if err != nil {
		t.Fatal(err)
	}

	boom := errors.New("disk full")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, tc := range []struct {
		name string
		hook func() error
		want error
	}{
		{"error", func() error { return boom }, boom},
		{"ctrl-c", func() error { cancel(); return nil }, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res.afterPatients = tc.hook
			defer func() { res.afterPatients = nil }()
			out, err := Write(ctx, st, res, store.AuditEntry{})
			if !errors.Is(err, tc.want) || out.Written {
				t.Fatalf("got %v, written %v", err, out.Written)
			}
			c, err := st.Reader().Counts(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if c.Patients != 0 || c.Interactions != 0 {
				t.Errorf("after a failed migration: %+v", c)
			}
			if tags, _ := st.Reader().ListTags(context.Background()); len(tags) != 0 {
				t.Errorf("tags left behind: %v", tags)
			}
		})
	}
	// The attempts are in the audit log, as failures.
	log, err := st.Reader().AuditLog(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].Outcome != store.OutcomeError || log[1].Outcome != store.OutcomeError {
		t.Errorf("audit log %+v", log)
	}
}

func TestMergeRules(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "contacts.csv")
	// Rows 2 and 3: same gmail address, dots differ: not the same key.
	// Rows 4 and 5: same phone, different dates of birth: not merged.
	// Rows 6 and 7: the same MRN, one patient, and the same note kept once.
	write(t, path, "MRN,First Name,Last Name,Email,Phone,DOB,Notes\n"+
		",Ann,Lee,ann.lee@gmail.com,,,\n"+
		",Ann,Lee,annlee@gmail.com,,,\n"+
		",Bo,Kim,,555-010-4001,1980-01-01,first\n"+
		",Bo,Kim,,555-010-4001,1981-01-01,\n"+
		"P7,Cy,Doe,,,,same\n"+
		"p7,Cy,Doe,,,,same\n")
	res, err := inspect(t, path).Resolve(now)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Patients) != 5 || len(res.Merges) != 1 || res.Merges[0].Key != KeyMRN || res.Merges[0].Row.Row != 7 {
		t.Errorf("patients %d, merges %+v", len(res.Patients), res.Merges)
	}
	if res.Notes != 2 || res.RepeatedNotes != 1 {
		t.Errorf("notes %d, repeated %d", res.Notes, res.RepeatedNotes)
	}

	write(t, path, "First Name,Last Name,Email\n,,\n,,x@example.com\n")
	if _, err := inspect(t, path).Resolve(now); err != nil {
		t.Errorf("a row with only an email: %v", err)
	}
	write(t, path, "First Name,Last Name,Email,City\nAnn,,,\n,,,Springfield\n")
	_, err = inspect(t, path).Resolve(now)
	var bad *BadRowsError
	if !errors.As(err, &bad) || len(bad.Bad) != 1 || bad.Bad[0].Row != 3 {
		t.Errorf("a row with nothing to identify it: %v", err)
	}
}

// TestSameEmailDifferentDOB: families share an email address, so rows with
// the same email but different dates of birth stay separate patients and
// are listed; no merge, direct or through other rows, puts two different
// dates of birth into one patient.
func TestSameEmailDifferentDOB(t *testing.T) {
	const direct = "same email, different dates of birth"
	const through = "same email, but rows merged with them have different dates of birth"
	ref := func(row int) RowRef { return RowRef{"contacts.csv", row} }
	for _, tc := range []struct {
		name   string
		csv    string
		groups [][]int // each patient's rows
		merges []Merge
		apart  []NotMerged
		// mixed: a record id already joins two dates of birth.
		mixed bool
	}{
		{
			name: "different dates of birth: two patients, listed",
			csv: "First Name,Email,Phone,DOB\n" +
				"Pat,fam@example.com,,1980-01-01\n" +
				"Kit, FAM@Example.com ,,2015-05-05\n",
			groups: [][]int{{2}, {3}},
			apart:  []NotMerged{{Rows: []RowRef{ref(2), ref(3)}, Key: KeyEmail, Reason: direct}},
		},
		{
			name: "one date of birth missing: merged",
			csv: "First Name,Email,Phone,DOB\n" +
				"Pat,fam@example.com,,1980-01-01\n" +
				"Pat,fam@example.com,,\n",
			groups: [][]int{{2, 3}},
			merges: []Merge{{Row: ref(3), With: ref(2), Into: ref(2), Key: KeyEmail}},
		},
		{
			name: "both dates of birth missing: merged",
			csv: "First Name,Email,Phone,DOB\n" +
				"Pat,fam@example.com,,\n" +
				"Pat,fam@example.com,,\n",
			groups: [][]int{{2, 3}},
			merges: []Merge{{Row: ref(3), With: ref(2), Into: ref(2), Key: KeyEmail}},
		},
		{
			name: "same date of birth: merged",
			csv: "First Name,Email,Phone,DOB\n" +
				"Pat,fam@example.com,,1980-01-01\n" +
				"Pat,fam@example.com,,01/01/1980\n",
			groups: [][]int{{2, 3}},
			merges: []Merge{{Row: ref(3), With: ref(2), Into: ref(2), Key: KeyEmail}},
		},
		{
			name: "a parent and two children: three patients",
			csv: "First Name,Email,Phone,DOB\n" +
				"Pat,fam@example.com,,1980-01-01\n" +
				"Kit,fam@example.com,,2015-05-05\n" +
				"Pat,fam@example.com,,\n" +
				"Lou,fam@example.com,,2017-07-07\n" +
				"Kit,fam@example.com,,2015-05-05\n",
			groups: [][]int{{2, 4}, {3, 6}, {5}},
			merges: []Merge{
				{Row: ref(4), With: ref(2), Into: ref(2), Key: KeyEmail},
				{Row: ref(6), With: ref(3), Into: ref(3), Key: KeyEmail},
			},
			apart: []NotMerged{
				{Rows: []RowRef{ref(2), ref(3)}, Key: KeyEmail, Reason: direct},
				{Rows: []RowRef{ref(2), ref(5)}, Key: KeyEmail, Reason: direct},
			},
		},
		{
			// A and B share the email, B and C the phone and date of birth.
			name: "transitive: email, then phone and date of birth",
			csv: "First Name,Email,Phone,DOB\n" +
				"Pat,fam@example.com,,1980-01-01\n" +
				"Kit,fam@example.com,555-010-5001,2015-05-05\n" +
				"Kit,kit@example.com,555-010-5001,2015-05-05\n",
			groups: [][]int{{2}, {3, 4}},
			merges: []Merge{{Row: ref(4), With: ref(3), Into: ref(3), Key: KeyPhoneDOB}},
			apart:  []NotMerged{{Rows: []RowRef{ref(2), ref(3)}, Key: KeyEmail, Reason: direct}},
		},
		{
			// The phone+dob group comes first; a row with no date of birth
			// joins the parent, never both.
			name: "transitive: phone and date of birth first, a row without one",
			csv: "First Name,Email,Phone,DOB\n" +
				"Kit,kit@example.com,555-010-5001,2015-05-05\n" +
				"Pat,fam@example.com,,\n" +
				"Pat,fam@example.com,,1980-01-01\n" +
				"Kit,fam@example.com,555-010-5001,2015-05-05\n",
			groups: [][]int{{2, 5}, {3, 4}},
			merges: []Merge{
				{Row: ref(4), With: ref(3), Into: ref(3), Key: KeyEmail},
				{Row: ref(5), With: ref(2), Into: ref(2), Key: KeyPhoneDOB},
			},
			apart: []NotMerged{{Rows: []RowRef{ref(4), ref(5)}, Key: KeyEmail, Reason: direct}},
		},
		{
			// B has no date of birth, but its record id joins it to C's.
			name: "transitive: through a record id",
			csv: "Record ID,First Name,Email,Phone,DOB\n" +
				"1,Pat,fam@example.com,,1980-01-01\n" +
				"2,Kit,fam@example.com,,\n" +
				"2,Kit,,,2015-05-05\n",
			groups: [][]int{{2}, {3, 4}},
			merges: []Merge{{Row: ref(4), With: ref(3), Into: ref(3), Key: KeyRecordID}},
			apart:  []NotMerged{{Rows: []RowRef{ref(2), ref(3)}, Key: KeyEmail, Reason: through}},
		},
		{
			// Record id 9 is one patient with two dates of birth (listed
			// as a disagreement, as before); it takes no one else.
			name: "transitive: a record id with two dates of birth",
			csv: "Record ID,First Name,Email,Phone,DOB\n" +
				",Pat,fam@example.com,,\n" +
				"9,Pat,fam@example.com,,1980-01-01\n" +
				"9,Pat,,,1990-01-01\n" +
				",Pat,fam@example.com,,1980-01-01\n",
			groups: [][]int{{2, 3, 4}, {5}},
			merges: []Merge{
				{Row: ref(3), With: ref(2), Into: ref(2), Key: KeyEmail},
				{Row: ref(4), With: ref(3), Into: ref(2), Key: KeyRecordID},
			},
			apart: []NotMerged{{Rows: []RowRef{ref(3), ref(5)}, Key: KeyEmail, Reason: through}},
			mixed: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "contacts.csv")
			write(t, path, tc.csv)
			res, err := inspect(t, path).Resolve(now)
			if err != nil {
				t.Fatal(err)
			}
			var groups [][]int
			for _, p := range res.Patients {
				var g []int
				for _, r := range p.Rows {
					g = append(g, r.Row)
				}
				groups = append(groups, g)
			}
			if !slices.EqualFunc(groups, tc.groups, slices.Equal) {
				t.Errorf("patients %v, want %v", groups, tc.groups)
			}
			if !slices.Equal(res.Merges, tc.merges) {
				t.Errorf("merges\n got %+v\nwant %+v", res.Merges, tc.merges)
			}
			if !slices.EqualFunc(res.NotMerged, tc.apart, func(a, b NotMerged) bool {
				return slices.Equal(a.Rows, b.Rows) && a.Key == b.Key && a.Reason == b.Reason
			}) {
				t.Errorf("not merged\n got %+v\nwant %+v", res.NotMerged, tc.apart)
			}
			if res.Merged() != len(res.Merges) {
				t.Errorf("%d rows merged, %d merges listed", res.Merged(), len(res.Merges))
			}
			// No two patients share an MRN, and none has rows with two
			// dates of birth unless a record id joined them.
			mrns := map[string]bool{}
			for _, p := range res.Patients {
				if mrns[strings.ToUpper(p.MRN)] {
					t.Errorf("two patients have the MRN %s", p.MRN)
				}
				mrns[strings.ToUpper(p.MRN)] = true
			}
			if !tc.mixed {
				for _, c := range res.Conflicts {
					if c.Field == FieldDOB {
						t.Errorf("a patient has two dates of birth: %+v", c)
					}
				}
			}
			// The summary says which rows and why, never who.
			out := res.summary()
			b, _ := json.Marshal(out.NotMerged)
			for _, secret := range []string{"fam", "example", "1980", "2015", "Pat", "Kit"} {
				if strings.Contains(string(b), secret) {
					t.Errorf("not_merged mentions %q: %s", secret, b)
				}
			}
			if len(tc.apart) == 0 && (out.NotMerged == nil || len(out.NotMerged) != 0) {
				t.Errorf("not_merged should be an empty list: %#v", out.NotMerged)
			}
		})
	}

	// A family without MRNs or record ids: each patient's MRN comes from
	// the email and its date of birth, whatever the order of the rows.
	dir := t.TempDir()
	mrnsOf := func(text string) map[string]string {
		path := filepath.Join(dir, "family.csv")
		write(t, path, text)
		res, err := inspect(t, path).Resolve(now)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, p := range res.Patients {
			out[p.FirstName] = p.MRN
		}
		if len(res.IDRules) != 1 || res.IDRules[0].Rule != "email+dob" || res.IDRules[0].Patients != 2 {
			t.Errorf("MRN rules %+v", res.IDRules)
		}
		return out
	}
	a := mrnsOf("First Name,Email,DOB\nPat,fam@example.com,1980-01-01\nKit,fam@example.com,2015-05-05\n")
	b := mrnsOf("First Name,Email,DOB\nKit,fam@example.com,2015-05-05\nPat,fam@example.com,1980-01-01\n")
	if !mapsEqual(a, b) || a["Pat"] == a["Kit"] || a["Pat"] == importer.EmailMRN("fam@example.com") {
		t.Errorf("MRNs %v and %v", a, b)
	}
}

// A migration holds values to the same limits as an import, and reads an
// export's escaped formula cells as import does.
func TestMigrateLimitsAndEscapes(t *testing.T) {
	dir := t.TempDir()
	secret := "SECRET" + strings.Repeat("x", 300)
	path := filepath.Join(dir, "contacts.csv")
	data := "Email,First Name,Last Name,Notes\n" +
		"ann@example.org,Ann," + secret + ",ok\n" +
		"bo@example.org,Bo,Kim," + strings.Repeat("n", store.MaxTextLen+1) + "\n" +
		"cy@example.org,'=Cy,Ray,\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := inspect(t, path).Resolve(now)
	var bad *BadRowsError
	if !errors.As(err, &bad) || len(bad.Bad) != 2 {
		t.Fatalf("err %v, want two bad values", err)
	}
	if got := bad.Bad[0].Error(); !strings.Contains(got, `"Last Name" is longer than 200 characters`) || strings.Contains(got, "SECRET") {
		t.Errorf("first bad value %q", got)
	}
	if got := bad.Bad[1].Error(); !strings.Contains(got, `"Notes" is longer than 20000 characters`) {
		t.Errorf("second bad value %q", got)
	}

	data = "Email,First Name,Last Name\ncy@example.org,'=Cy,'-Ray\n"
	os.WriteFile(path, []byte(data), 0o600)
	res, err := inspect(t, path).Resolve(now)
	if err != nil {
		t.Fatal(err)
	}
	if p := res.Patients[0]; p.FirstName != "=Cy" || p.LastName != "-Ray" {
		t.Errorf("escaped cells read as %q %q", p.FirstName, p.LastName)
	}
}
