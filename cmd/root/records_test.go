package root

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // America/New_York on machines without a zone database

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/session"
	"github.com/carebook/carebook/store"
)

// record is what show --json says of a patient, for these tests.
type record struct {
	MRN              string `json:"mrn"`
	Email            string `json:"email"`
	Phone            string `json:"phone"`
	City             string `json:"city"`
	Status           string `json:"status"`
	MarketingConsent bool   `json:"marketing_consent"`
	Tags             []string
	Appointments     []json.RawMessage `json:"appointments"`
	Interactions     []struct {
		Channel string `json:"channel"`
		Summary string `json:"summary"`
	} `json:"interactions"`
	Tasks []struct {
		ID   int64  `json:"id"`
		Text string `json:"text"`
		Due  string `json:"due"`
	} `json:"open_tasks"`
	Consent []struct {
		Marketing bool   `json:"marketing"`
		At        string `json:"at"`
		Source    string `json:"source"`
		Staff     string `json:"staff"`
	} `json:"consent_history"`
}

func (p *practice) record(ref string) record {
	p.t.Helper()
	var r record
	if err := json.Unmarshal([]byte(p.mustRun("show", ref, "--json")), &r); err != nil {
		p.t.Fatal(err)
	}
	return r
}

// lastRow is the newest audit row whose action names tool.
func (p *practice) lastRow(tool string) store.AuditRow {
	p.t.Helper()
	rows := p.auditRows()
	for i := len(rows) - 1; i >= 0; i-- {
		if strings.Contains(rows[i].Action, `"tool":"`+tool+`"`) {
			return rows[i]
		}
	}
	p.t.Fatalf("no audit row for %s", tool)
	return store.AuditRow{}
}

// oneSentence checks a failure's stderr: one line, naming no value typed.
func oneSentence(t *testing.T, o outcome, secrets ...string) {
	t.Helper()
	// A usage error may add the pointer to the command's help.
	msg := strings.TrimSpace(o.stderr)
	if i := strings.LastIndex(msg, "\nRun 'carebook "); i >= 0 && strings.HasSuffix(msg, "--help' for usage.") {
		msg = msg[:i]
	}
	if msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("stderr is not one sentence: %q", o.stderr)
	}
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Errorf("stderr repeats %q: %q", s, msg)
		}
	}
}

func TestPatientEdit(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	before := p.record("P1000")

	// A terminal: the preview shows each field before and after, then asks.
	o := p.run("n\n", true, "patient", "edit", "P1000", "--phone", "555 201 3344", "--email", "ann.new@example.org")
	for _, want := range []string{"Update P1000 John Smith: email, phone", "BEFORE", before.Email, "ann.new@example.org", before.Phone, "(555) 201-3344"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("preview lacks %q:\n%s", want, o.stdout)
		}
	}
	if o.code == 0 || p.record("P1000").Email != before.Email {
		t.Fatalf("answering no changed the patient (exit %d)", o.code)
	}

	// --dry-run previews and changes nothing.
	o = p.run("", false, "patient", "edit", "P1000", "--city", "Fairview", "--dry-run")
	if o.code != 0 || !strings.Contains(o.stdout, "Dry run") || p.record("P1000").City != before.City {
		t.Fatalf("dry run: exit %d, city %q, stdout %q", o.code, p.record("P1000").City, o.stdout)
	}

	// Without a terminal, a write needs --yes.
	if o := p.run("", false, "patient", "edit", "P1000", "--city", "Fairview"); o.code == 0 || p.record("P1000").City != before.City {
		t.Fatalf("a script wrote without --yes: exit %d", o.code)
	}

	// --yes --json: written, and the result says who changed.
	out := p.mustRun("patient", "edit", "P1000", "--phone", "555 201 3344", "--email", "ann.new@example.org", "--status", "inactive", "--yes", "--json")
	var res struct {
		Kind    string   `json:"kind"`
		Changed []string `json:"changed_mrns"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Kind != "write" || !slices.Equal(res.Changed, []string{"P1000"}) {
		t.Fatalf("--json printed %q (%v)", out, err)
	}
	after := p.record("P1000")
	if after.Email != "ann.new@example.org" || after.Phone != "(555) 201-3344" || after.Status != "inactive" || after.City != before.City {
		t.Errorf("after the edit: %+v", after)
	}

	// The audit row holds the old and the new value of each field.
	row := p.lastRow("update_patient")
	var note struct{ Before, After map[string]string }
	if err := json.Unmarshal([]byte(row.Message), &note); err != nil {
		t.Fatalf("audit message %q: %v", row.Message, err)
	}
	if note.Before["email"] != before.Email || note.After["email"] != "ann.new@example.org" ||
		note.Before["phone"] != store.Digits(before.Phone) || note.After["phone"] != "5552013344" ||
		note.Before["status"] != "active" || note.After["status"] != "inactive" {
		t.Errorf("audit note %+v", note)
	}
	if _, ok := note.After["city"]; ok {
		t.Errorf("the audit note lists a field that did not change: %+v", note)
	}
	if !strings.Contains(row.Action, `"match":"P1000"`) || row.Outcome != store.OutcomeOK {
		t.Errorf("audit row %+v", row)
	}

	// An empty value clears a field.
	p.mustRun("patient", "edit", "P1000", "--email", "", "--yes")
	if got := p.record("P1000").Email; got != "" {
		t.Errorf("--email \"\" left %q", got)
	}

	t.Run("bad input", func(t *testing.T) {
		for _, c := range []struct {
			name string
			args []string
			code int
		}{
			{"unknown field", []string{"patient", "edit", "P1000", "--fax", "5551234567", "--yes"}, 2},
			{"no field", []string{"patient", "edit", "P1000", "--yes"}, 2},
			{"not an email", []string{"patient", "edit", "P1000", "--email", "ann.at.example.org", "--yes"}, 1},
			{"not a phone", []string{"patient", "edit", "P1000", "--phone", "call me maybe", "--yes"}, 1},
			{"bad status", []string{"patient", "edit", "P1000", "--status", "moved", "--yes"}, 2},
			{"unknown patient", []string{"patient", "edit", "P9999", "--city", "Fairview", "--yes"}, 1},
			{"namesakes", []string{"patient", "edit", "John Smith", "--city", "Fairview", "--yes"}, 1},
		} {
			t.Run(c.name, func(t *testing.T) {
				was := p.record("P1000")
				o := p.run("", false, c.args...)
				if o.code != c.code {
					t.Errorf("exit %d, want %d (stderr %q)", o.code, c.code, o.stderr)
				}
				if c.name != "namesakes" {
					oneSentence(t, o, "ann.at.example.org", "call me maybe")
				}
				if now := p.record("P1000"); now.City != was.City || now.Email != was.Email || now.Phone != was.Phone || now.Status != was.Status {
					t.Errorf("a refused edit changed the patient: %+v", now)
				}
			})
		}
	})
}

func TestPatientAdd(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	count := func() int {
		var all []json.RawMessage
		json.Unmarshal([]byte(p.mustRun("patients", "--json")), &all)
		return len(all)
	}
	n := count()

	o := p.run("", false, "patient", "add", "Ann", "Lee", "--dob", "04/02/1980", "--phone", "(555) 777-1234", "--email", "Ann.Lee@Example.org", "--dry-run")
	if o.code != 0 || !strings.Contains(o.stdout, "Add patient Ann Lee, born 1980-04-02") || !strings.Contains(o.stdout, "ann.lee@example.org") || count() != n {
		t.Fatalf("dry run: exit %d, %d patients, stdout %q", o.code, count(), o.stdout)
	}
	out := p.mustRun("patient", "add", "Ann", "Lee", "--dob", "04/02/1980", "--phone", "(555) 777-1234", "--email", "Ann.Lee@Example.org",
		"--city", "Fairview", "--language", "es", "--sex", "female", "--yes", "--json")
	var res struct {
		Changed []string `json:"changed_mrns"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Changed) != 1 || !strings.HasPrefix(res.Changed[0], store.GeneratedMRNPrefix) {
		t.Fatalf("add --json printed %q", out)
	}
	mrn := res.Changed[0]
	rec := p.record(mrn)
	if rec.Email != "ann.lee@example.org" || rec.Phone != "(555) 777-1234" || rec.City != "Fairview" || rec.Status != "active" || count() != n+1 {
		t.Errorf("added %+v", rec)
	}
	row := p.lastRow("add_patient")
	var note struct{ After map[string]string }
	if err := json.Unmarshal([]byte(row.Message), &note); err != nil || note.After["mrn"] != mrn || note.After["dob"] != "1980-04-02" ||
		note.After["language"] != "Spanish" || note.After["phone"] != "5557771234" {
		t.Errorf("audit note %q", row.Message)
	}

	// The same person again, by any key the migration merges on, is
	// refused with the existing record listed, and nothing is written.
	for name, args := range map[string][]string{
		"name and date of birth": {"patient", "add", "ANN", "lee", "--dob", "1980-04-02", "--yes"},
		"email":                  {"patient", "add", "Annie", "Lee-Park", "--email", "ann.lee@example.org", "--yes"},
		"phone":                  {"patient", "add", "A.", "Lee", "--phone", "555.777.1234", "--yes"},
	} {
		t.Run("duplicate "+name, func(t *testing.T) {
			o := p.run("", false, args...)
			if o.code != 1 || !strings.Contains(o.stderr, mrn) || !strings.Contains(o.stderr, "--allow-duplicate") || !strings.Contains(o.stderr, "same "+name) {
				t.Errorf("exit %d, stderr %q", o.code, o.stderr)
			}
			if count() != n+1 {
				t.Errorf("a duplicate was added")
			}
		})
	}
	// The refusal's audit row lists the record shown by id, not by name.
	last := p.lastRow("add_patient")
	if last.Outcome != store.OutcomePreviewed || len(last.PatientIDs) != 1 || strings.Contains(last.Message, "Lee") {
		t.Errorf("duplicate refusal audited as %+v", last)
	}
	// On a terminal with --allow-duplicate, the preview warns and lists
	// the match first.
	o = p.run("y\n", true, "patient", "add", "Ann", "Lee", "--dob", "1980-04-02", "--allow-duplicate")
	if o.code != 0 || !strings.Contains(o.stdout, "Warning: 1 patient already on record") || strings.Index(o.stdout, mrn) > strings.Index(o.stdout, "Add patient") {
		t.Errorf("exit %d, stdout %q", o.code, o.stdout)
	}
	if count() != n+2 {
		t.Errorf("--allow-duplicate did not add the patient")
	}

	t.Run("bad input", func(t *testing.T) {
		for _, c := range []struct {
			name string
			args []string
			code int
		}{
			{"impossible date", []string{"patient", "add", "Bo", "Diaz", "--dob", "2026-02-30", "--yes"}, 1},
			{"born in the future", []string{"patient", "add", "Bo", "Diaz", "--dob", "2030-01-01", "--yes"}, 1},
			{"not an email", []string{"patient", "add", "Bo", "Diaz", "--email", "bo.diaz", "--yes"}, 1},
			{"unknown field", []string{"patient", "add", "Bo", "Diaz", "--nickname", "B", "--yes"}, 2},
			{"no last name", []string{"patient", "add", "Bo", "--yes"}, 2},
			{"MRN taken", []string{"patient", "add", "Bo", "Diaz", "--mrn", "p1000", "--yes"}, 1},
		} {
			t.Run(c.name, func(t *testing.T) {
				o := p.run("", false, c.args...)
				if o.code != c.code {
					t.Errorf("exit %d, want %d (stderr %q)", o.code, c.code, o.stderr)
				}
				oneSentence(t, o, "bo.diaz", "2026-02-30")
				if count() != n+2 {
					t.Errorf("bad input added a patient")
				}
			})
		}
	})
}

func TestPatientMerge(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	keep := p.record("P1002")
	// P1002's second record: the same person entered again, with a task.
	out := p.mustRun("patient", "add", "Jonathan", "Smyth", "--dob", "1975-07-09", "--city", "Lakeside", "--yes", "--json")
	var res struct {
		Changed []string `json:"changed_mrns"`
	}
	json.Unmarshal([]byte(out), &res)
	other := res.Changed[0]
	p.mustRun("tag", "add", "diabetes", other, "--yes")
	p.mustRun("log", other, "--channel", "call", "--summary", "asked about insulin", "--yes")
	p.mustRun("task", "add", other, "send the insulin leaflet", "--yes")

	o := p.run("", false, "patient", "merge", "P1002", other, "--dry-run")
	if o.code != 0 || !strings.Contains(o.stdout, "moves 1 tag, 0 appointments, 1 interaction and 1 task; "+other+" is removed") {
		t.Fatalf("dry run: exit %d, %q", o.code, o.stdout)
	}
	if o := p.run("", false, "patient", "merge", "P1002", other); o.code == 0 {
		t.Fatalf("a merge without --yes and no terminal went ahead")
	}
	out = p.mustRun("patient", "merge", "P1002", other, "--yes", "--json")
	if !strings.Contains(out, `"changed_mrns": [`) || !strings.Contains(out, `"P1002"`) {
		t.Errorf("merge --json printed %q", out)
	}
	merged := p.record("P1002")
	if !slices.Contains(merged.Tags, "diabetes") || len(merged.Interactions) != len(keep.Interactions)+1 ||
		len(merged.Tasks) != 1 || len(merged.Appointments) != len(keep.Appointments) {
		t.Errorf("after the merge: %+v", merged)
	}
	if o := p.run("", false, "show", other); o.code == 0 {
		t.Errorf("the merged record is still there")
	}
	row := p.lastRow("merge_patients")
	if !strings.Contains(row.Message, `"merged":"`+other+`"`) || len(row.PatientIDs) != 2 {
		t.Errorf("merge audited as %+v", row)
	}
	if o := p.run("", false, "patient", "merge", "P1000", "P1001", "--yes"); o.code != 1 || !strings.Contains(o.stderr, "different dates of birth") {
		t.Errorf("two people merged: exit %d, %q", o.code, o.stderr)
	}
}

func TestConsentAndMarketingExport(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	marketing := func() []string {
		path := filepath.Join(t.TempDir(), "list.csv")
		p.mustRun("export", "patients", "--profile", "marketing", "--to", "Mailchimp", "-o", path)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		var emails []string
		for _, r := range recs[1:] {
			emails = append(emails, r[2])
		}
		return emails
	}
	// P1005 (An Nguyen) opted in on the import.
	rec := p.record("P1005")
	if !rec.MarketingConsent || !slices.Contains(marketing(), rec.Email) {
		t.Fatalf("P1005 is not on the marketing list before the opt-out")
	}
	// The import left one row of history, with no date: the file gave none.
	if len(rec.Consent) != 1 || rec.Consent[0].Source != "import" || rec.Consent[0].At != "" || !rec.Consent[0].Marketing {
		t.Errorf("consent history after the import: %+v", rec.Consent)
	}

	o := p.run("", false, "consent", "P1005", "marketing", "off", "--source", "phone", "--dry-run")
	if o.code != 0 || !strings.Contains(o.stdout, "opting out of marketing (by phone, 2026-06-15)") || !p.record("P1005").MarketingConsent {
		t.Fatalf("dry run: exit %d, %q", o.code, o.stdout)
	}
	p.mustRun("consent", "P1005", "marketing", "off", "--source", "phone", "--at", "yesterday", "--yes")
	if slices.Contains(marketing(), rec.Email) {
		t.Errorf("the marketing export still lists a patient who opted out")
	}
	rec = p.record("P1005")
	if rec.MarketingConsent || len(rec.Consent) != 2 {
		t.Fatalf("after the opt-out: %+v", rec)
	}
	last := rec.Consent[1]
	if last.Marketing || last.Source != "phone" || !strings.HasPrefix(last.At, "2026-06-14") || last.Staff == "" {
		t.Errorf("the opt-out is recorded as %+v", last)
	}
	row := p.lastRow("set_consent")
	if !strings.Contains(row.Message, `"before":{"marketing_consent":true}`) || !strings.Contains(row.Message, `"after":{"marketing_consent":false}`) {
		t.Errorf("audit message %q", row.Message)
	}
	// Opting in again puts them back on the list at once.
	out := p.mustRun("consent", "P1005", "marketing", "on", "--source", "form", "--yes", "--json")
	var res struct {
		Tool    string   `json:"tool"`
		Changed []string `json:"changed_mrns"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Tool != "set_consent" || !slices.Equal(res.Changed, []string{"P1005"}) {
		t.Errorf("consent --json printed %q", out)
	}
	if !slices.Contains(marketing(), rec.Email) {
		t.Errorf("an opt-in is not honoured by the export")
	}

	for _, args := range [][]string{
		{"consent", "P1005", "marketing", "maybe", "--source", "phone"},
		{"consent", "P1005", "marketing", "off", "--source", "fax"},
		{"consent", "P1005", "sms", "off", "--source", "phone"},
	} {
		if o := p.run("", false, args...); o.code != 2 {
			t.Errorf("%v: exit %d, want 2 (%q)", args, o.code, o.stderr)
		}
	}
	if o := p.run("", false, "consent", "P1005", "marketing", "off", "--source", "email", "--at", "tomorrow", "--yes"); o.code != 1 {
		t.Errorf("a decision in the future: exit %d", o.code)
	}
}

// An import that carries a consent date keeps it in the history; one that
// carries an opt-out keeps the opt-out; one without a date invents none.
func TestConsentHistoryAfterImport(t *testing.T) {
	p := newPractice(t)
	p.mustRun("init")
	path := filepath.Join(t.TempDir(), "patients.csv")
	os.WriteFile(path, []byte("Patient ID (MRN),First Name,Last Name,Email,Marketing Opt-In,Consent Date\n"+
		"P1,Ann,Lee,ann@example.org,Yes,2026-03-01\n"+
		"P2,Bo,Diaz,bo@example.org,No,\n"+
		"P3,Cy,Ng,cy@example.org,Yes,\n"), 0o600)
	p.mustRun("import", "patients", path)
	for mrn, want := range map[string]struct {
		marketing bool
		at        string
	}{"P1": {true, "2026-03-01"}, "P2": {false, ""}, "P3": {true, ""}} {
		rec := p.record(mrn)
		if len(rec.Consent) != 1 || rec.Consent[0].Marketing != want.marketing || !strings.HasPrefix(rec.Consent[0].At, want.at) ||
			(want.at == "" && rec.Consent[0].At != "") || rec.Consent[0].Source != "import" {
			t.Errorf("%s: history %+v, want %+v", mrn, rec.Consent, want)
		}
	}
	// Importing the same file again changes nothing, and records nothing.
	p.mustRun("import", "patients", path)
	if n := len(p.record("P1").Consent); n != 1 {
		t.Errorf("a re-import added history: %d rows", n)
	}
	// A later file that withdraws consent is a change, kept with its date.
	os.WriteFile(path, []byte("Patient ID (MRN),First Name,Last Name,Marketing Opt-In,Consent Date\nP1,Ann,Lee,No,2026-05-02\n"), 0o600)
	p.mustRun("import", "patients", path)
	rec := p.record("P1")
	if rec.MarketingConsent || len(rec.Consent) != 2 || rec.Consent[1].Marketing || !strings.HasPrefix(rec.Consent[1].At, "2026-05-02") {
		t.Errorf("after the opt-out import: %+v", rec)
	}
}

func TestTasks(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	me := cmdutil.Actor()

	o := p.run("", false, "task", "add", "P1002", "call back about lab results", "--due", "next tuesday", "--dry-run")
	if o.code != 0 || !strings.Contains(o.stdout, `"call back about lab results", due Tue 2026-06-23, assigned to `+me) {
		t.Fatalf("dry run: exit %d, %q", o.code, o.stdout)
	}
	if len(p.record("P1002").Tasks) != 0 {
		t.Fatal("a dry run added a task")
	}
	p.mustRun("task", "add", "P1002", "call back about lab results", "--due", "next tuesday", "--yes")
	p.mustRun("task", "add", "P1003", "confirm the ultrasound", "--due", "today", "--assign", "Carla", "--yes")
	p.mustRun("task", "add", "P1154", "refill check", "--due", "2026-06-10", "--yes")

	list := func(args ...string) []string {
		var ts []struct {
			MRN string `json:"mrn"`
		}
		if err := json.Unmarshal([]byte(p.mustRun(append([]string{"task", "list", "--json"}, args...)...)), &ts); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range ts {
			out = append(out, x.MRN)
		}
		return out
	}
	for name, c := range map[string]struct {
		args []string
		want []string
	}{
		"all open":  {nil, []string{"P1154", "P1003", "P1002"}},
		"today":     {[]string{"--due", "today"}, []string{"P1003"}},
		"overdue":   {[]string{"--due", "overdue"}, []string{"P1154"}},
		"this week": {[]string{"--due", "this week"}, []string{"P1003"}},
		"mine":      {[]string{"--mine"}, []string{"P1154", "P1002"}},
		"assigned":  {[]string{"--assigned", "carla"}, []string{"P1003"}},
		"patient":   {[]string{"P1002"}, []string{"P1002"}},
	} {
		if got := list(c.args...); !slices.Equal(got, c.want) {
			t.Errorf("task list %s: %v, want %v", name, got, c.want)
		}
	}
	rec := p.record("P1002")
	if len(rec.Tasks) != 1 || rec.Tasks[0].Due != "2026-06-23" {
		t.Fatalf("show lists %+v", rec.Tasks)
	}
	id := rec.Tasks[0].ID
	// Done, with the call that did it logged in the same step.
	p.mustRun("task", "done", jsonID(id), "--log", "call", "left a voicemail", "--yes")
	rec = p.record("P1002")
	if len(rec.Tasks) != 0 || rec.Interactions[0].Summary != "left a voicemail" || rec.Interactions[0].Channel != "call" {
		t.Errorf("after done: %+v", rec)
	}
	row := p.lastRow("complete_task")
	if !strings.Contains(row.Message, `"before":"open"`) || !strings.Contains(row.Message, `"after":"done"`) {
		t.Errorf("audit message %q", row.Message)
	}
	if got := list("--done"); !slices.Equal(got, []string{"P1002"}) {
		t.Errorf("done tasks: %v", got)
	}
	if o := p.run("", false, "task", "done", jsonID(id), "--yes"); o.code != 0 || !strings.Contains(o.stdout, "done already; nothing to do") {
		t.Errorf("done twice: exit %d, %q %q", o.code, o.stdout, o.stderr)
	}
	// Done twice with a contact to log is an error: "nothing to do" would
	// drop the contact.
	if o := p.run("", false, "task", "done", jsonID(id), "--log", "call", "left a voicemail", "--yes"); o.code != 1 || !strings.Contains(o.stderr, "done already") {
		t.Errorf("done twice, with a contact: exit %d, %q", o.code, o.stderr)
	}
	if o := p.run("", false, "task", "reopen", jsonID(id), "--dry-run"); o.code != 0 || len(p.record("P1002").Tasks) != 0 {
		t.Errorf("reopen --dry-run: exit %d", o.code)
	}
	out := p.mustRun("task", "reopen", jsonID(id), "--yes", "--json")
	if !strings.Contains(out, `"tool": "reopen_task"`) {
		t.Errorf("reopen --json printed %q", out)
	}
	if len(p.record("P1002").Tasks) != 1 {
		t.Errorf("reopen did not open the task")
	}

	// A recall: every patient the filter selects, due in two weeks.
	out = p.mustRun("task", "add", "--where", `{"tags":["diabetes"],"last_visit_before":"6 months ago"}`, "diabetes recall", "--due", "in 2 weeks", "--yes", "--json")
	var res struct {
		Count int `json:"count"`
	}
	json.Unmarshal([]byte(out), &res)
	if res.Count != 18 {
		t.Errorf("recall for %d patients, want 18: %s", res.Count, out)
	}
	if row := p.lastRow("add_task"); len(row.PatientIDs) != 18 || !strings.Contains(row.Action, `"due":"2026-06-29"`) {
		t.Errorf("recall audited as %+v", row)
	}

	t.Run("bad input", func(t *testing.T) {
		for _, c := range []struct {
			name string
			args []string
			code int
		}{
			{"impossible date", []string{"task", "add", "P1002", "x", "--due", "2026-02-30", "--yes"}, 2},
			{"unreadable date", []string{"task", "add", "P1002", "x", "--due", "whenever", "--yes"}, 2},
			{"recall without due", []string{"task", "add", "--where", `{"tags":["diabetes"]}`, "recall", "--yes"}, 2},
			{"misspelt filter", []string{"task", "add", "--where", `{"tag":["diabetes"]}`, "recall", "--due", "friday", "--yes"}, 2},
			{"empty filter", []string{"task", "add", "--where", `{}`, "recall", "--due", "friday", "--yes"}, 1},
			{"unknown task", []string{"task", "done", "9999", "--yes"}, 1},
			{"not a number", []string{"task", "done", "lab", "--yes"}, 2},
			{"log without summary", []string{"task", "done", jsonID(id), "--log", "call", "--yes"}, 2},
			{"unknown flag", []string{"task", "list", "--overdue"}, 2},
		} {
			t.Run(c.name, func(t *testing.T) {
				o := p.run("", false, c.args...)
				if o.code != c.code {
					t.Errorf("exit %d, want %d (stderr %q)", o.code, c.code, o.stderr)
				}
				oneSentence(t, o)
			})
		}
	})
}

func jsonID(id int64) string { b, _ := json.Marshal(id); return string(b) }

// "Due today" and "overdue" turn at the practice's midnight, whatever the
// clock's zone offset does around it: the DST changes of 2026 in New York
// (March 8, 2:00 → 3:00; November 1, 2:00 → 1:00).
func TestTasksDueAroundMidnightAndDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	saved := time.Local
	time.Local = ny // as TZ=America/New_York would
	t.Cleanup(func() { time.Local = saved })

	p := newPractice(t)
	p.importFixture()
	p.env["CAREBOOK_NOW"] = "2026-03-07T15:00:00Z"
	p.mustRun("task", "add", "P1002", "saturday task", "--due", "2026-03-07", "--yes")
	p.mustRun("task", "add", "P1003", "sunday task", "--due", "tomorrow", "--yes")
	p.mustRun("task", "add", "P1154", "monday task", "--due", "2026-03-09", "--yes")
	p.mustRun("task", "add", "P1005", "autumn sunday task", "--due", "2026-11-01", "--yes")
	p.mustRun("task", "add", "P1020", "autumn monday task", "--due", "2026-11-02", "--yes")

	texts := func(due string) []string {
		var ts []struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal([]byte(p.mustRun("task", "list", "--due", due, "--json")), &ts); err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, x := range ts {
			out = append(out, x.Text)
		}
		return out
	}
	for _, c := range []struct {
		now            string // UTC
		today, overdue []string
	}{
		// 23:30 EST on Saturday March 7.
		{"2026-03-08T04:30:00Z", []string{"saturday task"}, []string{}},
		// 00:30 EST on Sunday March 8, before the clocks go forward.
		{"2026-03-08T05:30:00Z", []string{"sunday task"}, []string{"saturday task"}},
		// 03:30 EDT on Sunday March 8, after.
		{"2026-03-08T07:30:00Z", []string{"sunday task"}, []string{"saturday task"}},
		// 23:59 EDT on Sunday March 8 (a 23-hour day).
		{"2026-03-09T03:59:00Z", []string{"sunday task"}, []string{"saturday task"}},
		// 00:00 EDT on Monday March 9.
		{"2026-03-09T04:00:00Z", []string{"monday task"}, []string{"saturday task", "sunday task"}},
		// 00:30 EDT on Sunday November 1, before the clocks go back.
		{"2026-11-01T04:30:00Z", []string{"autumn sunday task"}, []string{"saturday task", "sunday task", "monday task"}},
		// 23:30 EST on Sunday November 1 (a 25-hour day): still Sunday.
		{"2026-11-02T04:30:00Z", []string{"autumn sunday task"}, []string{"saturday task", "sunday task", "monday task"}},
		// 00:00 EST on Monday November 2.
		{"2026-11-02T05:00:00Z", []string{"autumn monday task"}, []string{"saturday task", "sunday task", "monday task", "autumn sunday task"}},
	} {
		p.env["CAREBOOK_NOW"] = c.now
		if got := texts("today"); !slices.Equal(got, c.today) {
			t.Errorf("at %s: due today %v, want %v", c.now, got, c.today)
		}
		if got := texts("overdue"); !slices.Equal(got, c.overdue) {
			t.Errorf("at %s: overdue %v, want %v", c.now, got, c.overdue)
		}
		// The REPL's greeting counts the same tasks (all are the
		// test account's).
		f := &cmdutil.Factory{IOStreams: cmdutil.System(), Getenv: func(k string) string { return p.env[k] }, DBFlag: p.db}
		b, err := f.ExistingBackend(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		tc, err := b.MyTasks(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if tc.DueToday != len(c.today) || tc.Overdue != len(c.overdue) {
			t.Errorf("at %s: greeting counts %+v", c.now, tc)
		}
		if line := session.TaskGreetingLine(tc); !strings.Contains(line, "due today") {
			t.Errorf("greeting %q", line)
		}
	}
	// "tomorrow" said at 23:30 on the eve of the change is the Sunday.
	p.env["CAREBOOK_NOW"] = "2026-03-08T04:30:00Z"
	o := p.run("", false, "task", "add", "P1002", "x", "--due", "tomorrow", "--dry-run")
	if !strings.Contains(o.stdout, "due Sun 2026-03-08") {
		t.Errorf("tomorrow at 23:30 on March 7: %q", o.stdout)
	}
	p.env["CAREBOOK_NOW"] = "2026-11-01T04:30:00Z"
	o = p.run("", false, "task", "add", "P1002", "x", "--due", "in 1 week", "--dry-run")
	if !strings.Contains(o.stdout, "due Sun 2026-11-08") {
		t.Errorf("in 1 week at 00:30 on November 1: %q", o.stdout)
	}
}
