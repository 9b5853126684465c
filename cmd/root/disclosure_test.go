package root

import (
	"encoding/csv"
	"encoding/json"
	"sort"
	"strings"
	"testing"
)

func TestMarketingExportIsMinimumNecessary(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	var all []struct {
		Email            string `json:"email"`
		Status           string `json:"status"`
		MarketingConsent bool   `json:"marketing_consent"`
	}
	json.Unmarshal([]byte(p.mustRun("patients", "--json")), &all)
	var want []string
	for _, pt := range all {
		if pt.Status == "active" && pt.MarketingConsent && pt.Email != "" {
			want = append(want, pt.Email)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(p.mustRun("export", "patients", "--profile", "marketing", "--to", "Mailchimp"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "First Name,Last Name,Email" {
		t.Errorf("marketing columns %v: nothing beyond name and email may leave", rows[0])
	}
	var got []string
	for _, r := range rows[1:] {
		got = append(got, r[2])
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") || len(want) == 0 {
		t.Errorf("marketing list has %d addresses, want %d", len(got), len(want))
	}
	last := p.auditRows()
	if l := last[len(last)-1]; !strings.Contains(l.Message, "to Mailchimp") || !strings.Contains(l.Message, "purpose marketing") || l.Rows != int64(len(want)) {
		t.Errorf("disclosure row %+v", l)
	}
}

func TestRightOfAccessExport(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	var rec struct {
		MRN          string
		Tags         []string
		Appointments []struct{ ID string }
		Interactions []struct{ ID string }
	}
	out := p.mustRun("export", "patient", "P1002", "--to", "the patient")
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.MRN != "P1002" || len(rec.Tags) != 2 || len(rec.Appointments) != 2 || len(rec.Interactions) != 2 {
		t.Errorf("record %+v", rec)
	}
	rows := p.auditRows()
	l := rows[len(rows)-1]
	if l.Channel != "export" || !strings.Contains(l.Message, "right of access") || len(l.PatientIDs) != 1 {
		t.Errorf("disclosure row %+v", l)
	}
	if o := p.run("", false, "export", "patient", "John Smith"); o.code != 1 || !strings.Contains(o.stderr, "P1001") {
		t.Errorf("ambiguous: exit %d %q", o.code, o.stderr)
	}
	if o := p.run("", false, "export", "patients", "--profile", "marketing"); o.code != 2 {
		t.Errorf("marketing without --to: exit %d", o.code)
	}
}
