package report_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/carebook/carebook/demo"
	"github.com/carebook/carebook/importer"
	"github.com/carebook/carebook/report"
	"github.com/carebook/carebook/store"
)

const fixtureDir = "../eval/testdata/clinic"

var (
	// reportNow is when the reports are made; the period is May 2026.
	reportNow = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	// importNow is when the fixture is imported: inside the period, so
	// that new patients and consent changes count something.
	importNow = time.Date(2026, 5, 10, 9, 0, 0, 0, time.UTC)
	may2026   = report.Period{From: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
)

// practiceDB is a practice in a file, opened through the store for the
// report and, on a copy, through the bare driver for the test's own SQL
// (DuckDB lets one process open a file once).
type practiceDB struct {
	st  *store.Store
	raw *sql.DB
}

// openPractice fills a new database with fill, then opens it twice. The
// store's clock reads importNow unless fill sets it.
func openPractice(t *testing.T, fill func(ctx context.Context, st *store.Store, setClock func(time.Time)) error) practiceDB {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "practice.duckdb")
	clock := importNow
	st, err := store.Open(ctx, path, store.Options{Now: func() time.Time { return clock }, Actor: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	if err := fill(ctx, st, func(t time.Time) { clock = t }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "raw.duckdb"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	clock = reportNow
	st, err = store.Open(ctx, path, store.Options{Now: func() time.Time { return clock }, Actor: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	raw, err := sql.Open("duckdb", filepath.Join(dir, "raw.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return practiceDB{st: st, raw: raw}
}

func fixturePractice(t *testing.T) practiceDB {
	t.Helper()
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skip("shared fixtures not found")
	}
	return openPractice(t, func(ctx context.Context, st *store.Store, _ func(time.Time)) error {
		return importFixture(ctx, st)
	})
}

func importFixture(ctx context.Context, st *store.Store) error {
	for _, k := range importer.Kinds {
		path := filepath.Join(fixtureDir, string(k)+".csv")
		if _, err := importer.Import(ctx, st, path, nil, importer.Options{Kind: k}); err != nil {
			return fmt.Errorf("import %s: %w", k, err)
		}
	}
	return nil
}

func demoPractice(t *testing.T, patients int) practiceDB {
	t.Helper()
	return openPractice(t, func(ctx context.Context, st *store.Store, _ func(time.Time)) error {
		_, err := demo.Generate(ctx, st, demo.Options{Patients: patients, Seed: 3, Now: reportNow})
		return err
	})
}

func makeReport(t *testing.T, p practiceDB, period report.Period) (*report.Report, string) {
	t.Helper()
	in, err := report.Gather(context.Background(), p.st.Reader(), period, reportNow)
	if err != nil {
		t.Fatal(err)
	}
	rep := report.Build(in)
	var b bytes.Buffer
	if err := report.WriteHTML(&b, rep); err != nil {
		t.Fatal(err)
	}
	return rep, b.String()
}

// expected holds what the test's own SQL counts: panel, row, column.
type expected map[string]map[string]map[string]float64

// want runs q, whose rows are (row key, column key, value), into panel.
func (e expected) want(t *testing.T, db *sql.DB, panel, q string, args ...any) {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", panel, err)
	}
	defer rows.Close()
	if e[panel] == nil {
		e[panel] = map[string]map[string]float64{}
	}
	for rows.Next() {
		var r, c string
		var v sql.NullFloat64
		if err := rows.Scan(&r, &c, &v); err != nil {
			t.Fatal(err)
		}
		if !v.Valid {
			continue
		}
		if e[panel][r] == nil {
			e[panel][r] = map[string]float64{}
		}
		e[panel][r][c] = v.Float64
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// independentCounts counts every panel of the May 2026 report with SQL
// written here, grouping by formatted months (the store joins month
// bounds) and by columns named in the schema, not through the store.
func independentCounts(t *testing.T, db *sql.DB) expected {
	e := expected{}
	from, to := "2026-05-01", "2026-06-01"
	trendFrom := "2025-06-01"
	appts := func(key string) string {
		return `SELECT ` + key + ` AS r, status, count(*) FROM appointments WHERE starts_at >= $1::TIMESTAMP AND starts_at < $2::TIMESTAMP GROUP BY ALL
		UNION ALL SELECT ` + key + `, 'total', count(*) FROM appointments WHERE starts_at >= $1::TIMESTAMP AND starts_at < $2::TIMESTAMP GROUP BY 1
		UNION ALL SELECT ` + key + `, 'no_show_rate', (count(*) FILTER (WHERE status = 'no-show'))::DOUBLE /
			nullif(count(*) FILTER (WHERE status IN ('completed', 'no-show')), 0)
			FROM appointments WHERE starts_at >= $1::TIMESTAMP AND starts_at < $2::TIMESTAMP GROUP BY 1`
	}
	e.want(t, db, report.PanelAppointments, appts("strftime(starts_at, '%Y-%m')"), trendFrom, to)
	e.want(t, db, report.PanelProviders, appts("provider"), trendFrom, to)
	e.want(t, db, report.PanelNewPatients, `SELECT strftime(created_at, '%Y-%m'), 'new_patients', count(*) FROM patients
		WHERE created_at >= $1::TIMESTAMP AND created_at < $2::TIMESTAMP GROUP BY ALL`, trendFrom, to)
	e.want(t, db, report.PanelContacts, `SELECT channel, direction, count(*) FROM interactions
		WHERE occurred_at >= $1::TIMESTAMP AND occurred_at < $2::TIMESTAMP GROUP BY ALL
		UNION ALL SELECT channel, 'total', count(*) FROM interactions WHERE occurred_at >= $1::TIMESTAMP AND occurred_at < $2::TIMESTAMP GROUP BY ALL`, from, to)
	e.want(t, db, report.PanelTags, `SELECT t.name, 'active_patients', count(DISTINCT p.id) FROM tags t, patient_tags pt, patients p
		WHERE pt.tag_id = t.id AND p.id = pt.patient_id AND p.status = 'active' GROUP BY ALL`)
	e.want(t, db, report.PanelConsent, `SELECT strftime(consent_changed_at, '%Y-%m'), if(marketing_consent, 'opted_in', 'opted_out'), count(*)
		FROM patients WHERE consent_changed_at >= $1::TIMESTAMP AND consent_changed_at < $2::TIMESTAMP GROUP BY ALL`, trendFrom, to)
	// Recall tasks that stood at the period's end (made before it), due in
	// the period (done by its end, or not) or before it and not done by then.
	e.want(t, db, report.PanelRecallTasks, `WITH t AS (
			SELECT text, due >= $1::DATE AND due < $2::DATE AS in_period, due < $1::DATE AS before,
				coalesce(done_at < $2::TIMESTAMP, false) AS closed
			FROM tasks WHERE kind = 'recall' AND created_at < $2::TIMESTAMP),
		c AS (SELECT text, count(*) FILTER (WHERE in_period AND closed) AS done, count(*) FILTER (WHERE in_period AND NOT closed) AS overdue,
				count(*) FILTER (WHERE in_period) AS due, count(*) FILTER (WHERE before AND NOT closed) AS earlier_overdue
			FROM t GROUP BY text HAVING due + earlier_overdue > 0),
		cells AS (UNPIVOT c ON done, overdue, due, earlier_overdue INTO NAME col VALUE n)
		SELECT text, col, n FROM cells`, from, to)
	e.want(t, db, "summary", `SELECT 'period', 'appointments', count(*) FROM appointments WHERE starts_at >= $1::TIMESTAMP AND starts_at < $2::TIMESTAMP
		UNION ALL SELECT 'period', 'no_show_rate', (count(*) FILTER (WHERE status = 'no-show'))::DOUBLE / nullif(count(*) FILTER (WHERE status IN ('completed', 'no-show')), 0)
			FROM appointments WHERE starts_at >= $1::TIMESTAMP AND starts_at < $2::TIMESTAMP
		UNION ALL SELECT 'period', 'new_patients', count(*) FROM patients WHERE created_at >= $1::TIMESTAMP AND created_at < $2::TIMESTAMP
		UNION ALL SELECT 'period', 'contacts', count(*) FROM interactions WHERE occurred_at >= $1::TIMESTAMP AND occurred_at < $2::TIMESTAMP
		UNION ALL SELECT 'period', 'opted_in', count(*) FILTER (WHERE marketing_consent) FROM patients WHERE consent_changed_at >= $1::TIMESTAMP AND consent_changed_at < $2::TIMESTAMP
		UNION ALL SELECT 'period', 'opted_out', count(*) FILTER (WHERE NOT marketing_consent) FROM patients WHERE consent_changed_at >= $1::TIMESTAMP AND consent_changed_at < $2::TIMESTAMP
		UNION ALL SELECT 'period', 'consenting_today', avg(marketing_consent::INTEGER) FROM patients WHERE status = 'active'`, from, to)
	return e
}

// checkCell compares one cell with the independent count: a count of 1 to
// 4 must be suppressed, anything else shown and equal, unless the report
// withheld it to protect a small count (sumPins checks that it needed to
// hide something there).
func checkCell(t *testing.T, where string, c report.Cell, want float64, isRate bool) {
	t.Helper()
	if v, ok := c.Rate(); ok {
		if math.Abs(v-want) > 1e-9 {
			t.Errorf("%s: rate %v, SQL %v", where, v, want)
		}
		return
	}
	if n, ok := c.Count(); ok {
		if float64(n) != want {
			t.Errorf("%s: %d, SQL %v", where, n, want)
		}
		if n > 0 && n < report.SuppressBelow {
			t.Errorf("%s: a count of %d is shown", where, n)
		}
		return
	}
	switch {
	case c.Small():
		if want < 1 || want >= report.SuppressBelow {
			t.Errorf("%s: suppressed as < 5, SQL %v", where, want)
		}
	case c.Text() == "n/a":
		if want != 0 {
			t.Errorf("%s: n/a, SQL %v", where, want)
		}
	case !isRate && want > 0 && want < report.SuppressBelow:
		t.Errorf("%s: withheld, but SQL counts %v: a small count reads < 5", where, want)
	case !isRate && want == 0:
		t.Errorf("%s: a zero is withheld", where)
	}
}

// checkReport compares every cell of every panel with the independent
// counts, and every row the SQL found with the rows the report shows.
func checkReport(t *testing.T, rep *report.Report, want expected) {
	t.Helper()
	for _, p := range rep.Panels {
		if p.Table == nil {
			continue
		}
		seen := map[string]bool{}
		for _, r := range p.Table.Rows {
			seen[r.Key] = true
			for i, c := range r.Cells {
				col := p.Table.Columns[i].Key
				checkCell(t, fmt.Sprintf("%s %s %s", p.ID, r.Key, col), c, want[p.ID][r.Key][col], strings.HasSuffix(col, "rate"))
			}
		}
		for key := range want[p.ID] {
			if !seen[key] && p.ID != report.PanelTags {
				t.Errorf("%s: SQL counts row %q, the report does not show it", p.ID, key)
			}
		}
	}
	for _, f := range rep.Summary {
		checkCell(t, "summary "+f.Key, f.Value, want["summary"]["period"][f.Key], f.Key == "no_show_rate" || f.Key == "consenting_today")
	}
	if got := len(rep.Panels); got != len(report.PanelIDs()) {
		t.Errorf("%d panels, want %d", got, len(report.PanelIDs()))
	}
}

// topTags is the SQL's top 15 tags, by count then name.
func topTags(want expected) []string {
	var tags []string
	for k := range want[report.PanelTags] {
		tags = append(tags, k)
	}
	slices.SortFunc(tags, func(a, b string) int {
		na, nb := want[report.PanelTags][a]["active_patients"], want[report.PanelTags][b]["active_patients"]
		if na != nb {
			if na > nb {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return tags[:min(len(tags), report.TopTags)]
}

func checkTags(t *testing.T, rep *report.Report, want expected) {
	t.Helper()
	for _, p := range rep.Panels {
		if p.ID != report.PanelTags {
			continue
		}
		var got []string
		for _, r := range p.Table.Rows {
			got = append(got, r.Key)
		}
		if w := topTags(want); !slices.Equal(got, w) {
			t.Errorf("top tags %v, SQL %v", got, w)
		}
	}
}

// checkPage checks what the page must and must not hold: the CSP, no
// script, no URL, every panel, and nothing that names a patient.
func checkPage(t *testing.T, st *store.Store, rep *report.Report, page string) {
	t.Helper()
	if !strings.Contains(page, `<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;; img-src data:">`) {
		t.Error("the page has no Content-Security-Policy forbidding every load")
	}
	lower := strings.ToLower(page)
	for _, bad := range []string{"<script", "http://", "https://", "@import", "@font-face", "url(", "<link", "<img", "<iframe", "<object", "<embed", "src="} {
		if strings.Contains(lower, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	for _, p := range rep.Panels {
		if !strings.Contains(page, ">"+html.EscapeString(p.Title)+"</h2>") {
			t.Errorf("the page lacks the panel %q", p.Title)
		}
	}
	// The report's own dates come from the flags and the clock, not from
	// the data: a patient born on one of them is no leak.
	own := map[string]bool{rep.Period.From: true, rep.Period.To: true, rep.Trend.From: true, rep.Trend.To: true,
		rep.GeneratedAt.Format(time.DateOnly): true}
	patients, err := st.Reader().FindPatients(context.Background(), store.PatientFilter{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(patients) == 0 {
		t.Fatal("no patients to look for")
	}
	for _, p := range patients {
		needles := []string{p.MRN, p.FullName(), p.LastName + ", " + p.FirstName}
		if p.Email != "" {
			needles = append(needles, p.Email)
		}
		if p.Phone != "" {
			needles = append(needles, p.Phone, store.FormatPhone(p.Phone))
		}
		if !p.DOB.IsZero() && !own[p.DOB.Format(time.DateOnly)] {
			needles = append(needles, p.DOB.Format(time.DateOnly), p.DOB.Format("01/02/2006"), p.DOB.Format("2 January 2006"), p.DOB.Format("January 2, 2006"))
		}
		for _, n := range needles {
			if strings.Contains(page, n) || strings.Contains(page, html.EscapeString(n)) {
				t.Errorf("the page holds patient %d's %q", p.ID, n)
			}
		}
	}
}

func TestReportFixtureMay2026(t *testing.T) {
	p := fixturePractice(t)
	rep, page := makeReport(t, p, may2026)
	want := independentCounts(t, p.raw)
	if len(want[report.PanelAppointments]) == 0 || len(want[report.PanelContacts]) == 0 || want["summary"]["period"]["new_patients"] == 0 {
		t.Fatalf("the fixture counts nothing to compare: %v", want["summary"])
	}
	checkReport(t, rep, want)
	checkTags(t, rep, want)
	checkPage(t, p.st, rep, page)
	if msg := sumPins(rep, want); msg != "" {
		t.Error(msg)
	}
	// The fixture is small: some cells must be suppressed, or this test
	// proves nothing about suppression.
	if !strings.Contains(page, "<td>&lt; 5</td>") {
		t.Error("no cell of the fixture's report is suppressed")
	}
}

func TestReportDemoPractice(t *testing.T) {
	p := demoPractice(t, 5000)
	rep, page := makeReport(t, p, may2026)
	want := independentCounts(t, p.raw)
	checkReport(t, rep, want)
	checkTags(t, rep, want)
	checkPage(t, p.st, rep, page)
	if msg := sumPins(rep, want); msg != "" {
		t.Error(msg)
	}
}

// contactsOf builds a report whose only numbers are one channel's contacts.
func contactsOf(inbound, outbound int) *report.Report {
	return report.Build(&report.Inputs{Period: may2026, Now: reportNow, Contacts: []store.Tally{
		{Key: "portal", Sub: "inbound", Count: inbound}, {Key: "portal", Sub: "outbound", Count: outbound},
	}})
}

func render(t *testing.T, rep *report.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteHTML(&b, rep); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestReportSuppressesSmallCells(t *testing.T) {
	page := render(t, contactsOf(3, 40))
	// The cell of 3 reads "< 5" in the table and in the chart's label, and
	// the total beside it, which would give it away, is withheld.
	for _, want := range []string{"<td>&lt; 5</td>", "<title>portal, Inbound: &lt; 5</title>", "<td>withheld</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	row := regexp.MustCompile(`<tr><th scope="row">portal</th>.*?</tr>`).FindString(page)
	if row == "" || strings.Contains(row, "3") {
		t.Errorf("the portal row is %q", row)
	}
	for _, title := range regexp.MustCompile(`<title>portal[^<]*</title>`).FindAllString(page, -1) {
		if strings.Contains(title, "3") {
			t.Errorf("the chart's label shows the small count: %s", title)
		}
	}
	// Not even the drawing knows the count: 1 and 4 give the same page.
	if render(t, contactsOf(1, 40)) != render(t, contactsOf(4, 40)) {
		t.Error("the page differs between a count of 1 and of 4: the drawing gives the suppressed count away")
	}
	// Nor does the JSON.
	js, err := json.Marshal(contactsOf(3, 40))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `{"key":"portal","label":"portal","values":[null,40,null]}`) {
		t.Errorf("the JSON's portal row is not [null,40,null]: %s", js)
	}
	// A count of 5 is shown as it is.
	if page := render(t, contactsOf(5, 40)); !strings.Contains(page, "<td>5</td>") || !strings.Contains(page, "<td>45</td>") {
		t.Error("a count of 5 and its total are not shown")
	}
}

func TestReportWithholdsWhatWouldGiveASmallCountAway(t *testing.T) {
	cases := []struct {
		name    string
		in, out int
		total   string
	}{
		{"one small: the total less the other gives it", 2, 30, "withheld"},
		{"two small, both 4: the total pins both", 4, 4, "withheld"},
		{"two small, both 1: the total is small itself", 1, 1, "< 5"},
		{"two small, 2 and 3: the total pins neither", 2, 3, "5"},
		{"none small", 10, 30, "40"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := contactsOf(c.in, c.out)
			p := panel(t, rep, report.PanelContacts)
			for _, r := range p.Table.Rows {
				if r.Key == "portal" && r.Cells[2].Text() != c.total {
					t.Errorf("total of %d and %d reads %q, want %q", c.in, c.out, r.Cells[2].Text(), c.total)
				}
			}
		})
	}
}

func panel(t *testing.T, rep *report.Report, id string) report.Panel {
	t.Helper()
	for _, p := range rep.Panels {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("no panel %s", id)
	return report.Panel{}
}

// The contacts grand total, less the channel totals shown, would give
// back a channel total withheld beside a small count: something more is
// withheld, whatever it is, so that no sum pins the small count.
func TestReportGrandTotalKeepsWithheldTotalsHidden(t *testing.T) {
	for _, other := range [][2]int{{10, 20}, {2, 9}, {0, 0}, {4, 4}} {
		tallies := []store.Tally{
			{Key: "call", Sub: "inbound", Count: 3}, {Key: "call", Sub: "outbound", Count: 8},
			{Key: "email", Sub: "inbound", Count: other[0]}, {Key: "email", Sub: "outbound", Count: other[1]},
		}
		rep := report.Build(&report.Inputs{Period: may2026, Now: reportNow, Contacts: tallies})
		want := expected{report.PanelContacts: {
			"call":  {"inbound": 3, "outbound": 8, "total": 11},
			"email": {"inbound": float64(other[0]), "outbound": float64(other[1]), "total": float64(other[0] + other[1])},
		}, "summary": {"period": {"contacts": float64(11 + other[0] + other[1])}}}
		if msg := sumPins(rep, want); msg != "" {
			t.Errorf("email %v: %s", other, msg)
		}
	}
}

// sumPins says which sum of the report, read with the SQL's counts, leaves
// a hidden cell one possible value, or "". A hidden cell is 1 to 4 when it
// reads "< 5" and at least 5 when withheld. It is the test's own reading of
// the page: row totals, the contacts grand total, and the appointment
// columns, which months and providers count alike.
func sumPins(rep *report.Report, want expected) string {
	type term struct {
		where string
		sign  int
		cell  report.Cell
		value float64
	}
	var sums [][]term
	tables := map[string]*report.Table{}
	for _, p := range rep.Panels {
		tables[p.ID] = p.Table
	}
	rowSums := map[string]int{report.PanelAppointments: 4, report.PanelProviders: 4, report.PanelContacts: 2, report.PanelRecallTasks: 2}
	for id, totalCol := range rowSums {
		t := tables[id]
		for _, r := range t.Rows {
			sum := []term{{id + " " + r.Key + " total", 1, r.Cells[totalCol], want[id][r.Key][t.Columns[totalCol].Key]}}
			for c := range totalCol {
				sum = append(sum, term{id + " " + r.Key + " " + t.Columns[c].Key, -1, r.Cells[c], want[id][r.Key][t.Columns[c].Key]})
			}
			sums = append(sums, sum)
		}
	}
	for c := 0; c <= 4; c++ {
		var sum []term
		for i, id := range []string{report.PanelAppointments, report.PanelProviders} {
			t := tables[id]
			for _, r := range t.Rows {
				sum = append(sum, term{id + " " + r.Key + " " + t.Columns[c].Key, 1 - 2*i, r.Cells[c], want[id][r.Key][t.Columns[c].Key]})
			}
		}
		sums = append(sums, sum)
	}
	var grand []term
	for _, f := range rep.Summary {
		if f.Key == "contacts" {
			grand = append(grand, term{"summary contacts", 1, f.Value, want["summary"]["period"]["contacts"]})
		}
	}
	for _, r := range tables[report.PanelContacts].Rows {
		grand = append(grand, term{"contacts " + r.Key + " total", -1, r.Cells[2], want[report.PanelContacts][r.Key]["total"]})
	}
	sums = append(sums, grand)

	const inf = 1e12
	bounds := func(c report.Cell) (float64, float64) {
		if c.Small() {
			return 1, report.SuppressBelow - 1
		}
		return report.SuppressBelow, inf
	}
	for _, sum := range sums {
		known := 0.0
		var hidden []term
		for _, t := range sum {
			if _, shown := t.cell.Count(); !shown {
				hidden = append(hidden, t)
				known += float64(t.sign) * t.value
			}
		}
		for i, t := range hidden {
			lo, hi := 0.0, 0.0
			for j, u := range hidden {
				if j != i {
					ulo, uhi := bounds(u.cell)
					if u.sign > 0 {
						lo, hi = lo+ulo, hi+uhi
					} else {
						lo, hi = lo-uhi, hi-ulo
					}
				}
			}
			vlo, vhi := known-hi, known-lo
			if t.sign < 0 {
				vlo, vhi = lo-known, hi-known
			}
			tlo, thi := bounds(t.cell)
			if math.Min(thi, vhi) == math.Max(tlo, vlo) {
				return fmt.Sprintf("%s reads %q, but the sum it is in makes it %v", t.where, t.cell.Text(), math.Max(tlo, vlo))
			}
		}
	}
	return ""
}

func TestReportPeriods(t *testing.T) {
	if got := may2026.Trend(); !got.From.Equal(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)) || !got.To.Equal(may2026.To) {
		t.Errorf("trend of May 2026 is %v to %v", got.From, got.To)
	}
	p, err := report.Days(time.Date(2026, 5, 3, 15, 0, 0, 0, time.UTC), time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if p.Label() != "3 May 2026 to 20 May 2026" || !p.To.Equal(time.Date(2026, 5, 21, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("3 to 20 May: %q, to %v", p.Label(), p.To)
	}
	if _, err := report.Days(p.To, p.From); err == nil {
		t.Error("a period that ends before it starts was accepted")
	}
	if got := report.LastMonth(reportNow); got != may2026 {
		t.Errorf("last month of 15 June 2026 is %v", got)
	}
	if _, err := report.Month("May", time.UTC); err == nil {
		t.Error(`"May" read as a month`)
	}
}

// recallPractice is the fixture practice with recalls made and done at
// various times around May 2026, and a plain task to leave out.
func recallPractice(t *testing.T) practiceDB {
	t.Helper()
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skip("shared fixtures not found")
	}
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	return openPractice(t, func(ctx context.Context, st *store.Store, setClock func(time.Time)) error {
		if err := importFixture(ctx, st); err != nil {
			return err
		}
		patients, err := st.Reader().FindPatients(ctx, store.PatientFilter{}, 0)
		if err != nil {
			return err
		}
		if len(patients) < 40 {
			return fmt.Errorf("the fixture has %d patients, the test needs 40", len(patients))
		}
		var ids []int64
		for _, p := range patients {
			ids = append(ids, p.ID)
		}
		slices.Sort(ids)
		write := func(fn func(tx *store.Tx) error) error {
			return st.Write(ctx, store.AuditEntry{Channel: "test"}, fn)
		}
		tasks := map[string][]int64{}
		add := func(kind store.TaskKind, text string, due time.Time, who []int64) error {
			return write(func(tx *store.Tx) error {
				got, err := tx.AddTasks(ctx, store.NewTask{Kind: kind, Text: text, Due: due}, who)
				tasks[text] = append(tasks[text], got...)
				return err
			})
		}
		done := func(text string, from, to int) error {
			return write(func(tx *store.Tx) error {
				for _, id := range tasks[text][from:to] {
					if _, err := tx.SetTaskDone(ctx, id, true); err != nil {
						return err
					}
				}
				return nil
			})
		}
		for _, step := range []func() error{
			// Made on 10 May: due in May, 12 done then, 3 done in June
			// (overdue at the end of May), 5 never.
			func() error { return add(store.KindRecall, "Diabetes recall", day(5, 20), ids[0:20]) },
			func() error { return done("Diabetes recall", 0, 12) },
			// Due in April: 2 done in May (not counted), the other 7 open
			// at the end of May, 2 of them done in June.
			func() error { return add(store.KindRecall, "Flu shot recall", day(4, 15), ids[20:29]) },
			func() error { return done("Flu shot recall", 0, 2) },
			// Three due in May, none done: a small count.
			func() error { return add(store.KindRecall, "Mammogram recall", day(5, 28), ids[29:32]) },
			// Due in June: not the period's.
			func() error { return add(store.KindRecall, "Eye exam recall", day(6, 10), ids[32:38]) },
			// A plain task is no recall, whatever its text.
			func() error { return add(store.KindTask, "Diabetes recall", day(5, 20), ids[0:6]) },
			func() error { setClock(time.Date(2026, 6, 2, 9, 0, 0, 0, time.UTC)); return nil },
			func() error { return done("Diabetes recall", 12, 15) },
			func() error { return done("Flu shot recall", 2, 4) },
			// Made in June with a May due day: it did not stand at the end
			// of May.
			func() error { return add(store.KindRecall, "Late recall", day(5, 15), ids[32:38]) },
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
}

// The recall panel counts recall tasks as they stood at the end of the
// period, each cell equal to the test's own SQL (or suppressed), and no sum
// of it gives a suppressed count away.
func TestReportRecallTasks(t *testing.T) {
	p := recallPractice(t)
	rep, page := makeReport(t, p, may2026)
	want := independentCounts(t, p.raw)
	rows := want[report.PanelRecallTasks]
	if len(rows) != 3 || rows["Diabetes recall"]["done"] != 12 || rows["Diabetes recall"]["overdue"] != 8 ||
		rows["Flu shot recall"]["earlier_overdue"] != 7 || rows["Mammogram recall"]["due"] != 3 {
		t.Fatalf("the test's SQL counts %v: not the recalls the test made", rows)
	}
	checkReport(t, rep, want)
	checkPage(t, p.st, rep, page)
	if msg := sumPins(rep, want); msg != "" {
		t.Error(msg)
	}
	panel := panel(t, rep, report.PanelRecallTasks)
	var keys []string
	for _, r := range panel.Table.Rows {
		keys = append(keys, r.Key)
	}
	if w := []string{"Diabetes recall", "Flu shot recall", "Mammogram recall"}; !panel.Available || !slices.Equal(keys, w) {
		t.Errorf("recall rows %v (available %t), want %v", keys, panel.Available, w)
	}
	section := regexp.MustCompile(`(?s)<section class="panel" id="recall-tasks".*?</section>`).FindString(page)
	for _, w := range []string{"<svg", `<tr><th scope="row">Diabetes recall</th><td>12</td><td>8</td><td>20</td><td>0</td></tr>`,
		`<tr><th scope="row">Mammogram recall</th><td>0</td><td>&lt; 5</td><td>&lt; 5</td><td>0</td></tr>`} {
		if !strings.Contains(section, w) {
			t.Errorf("the recall panel lacks %q:\n%s", w, section)
		}
	}
	if strings.Contains(section, "Not available") {
		t.Error("the recall panel still says it is not available")
	}
}

// Past TopRecalls recalls, the rest share a row; none at all says so.
func TestReportRecallRows(t *testing.T) {
	var tallies []store.Tally
	for i := range report.TopRecalls + 2 {
		tallies = append(tallies, store.Tally{Key: fmt.Sprintf("recall %02d", i), Sub: store.RecallDone, Count: 100 - i})
	}
	rep := report.Build(&report.Inputs{Period: may2026, Now: reportNow, RecallTasks: tallies})
	rows := panel(t, rep, report.PanelRecallTasks).Table.Rows
	if len(rows) != report.TopRecalls+1 || rows[report.TopRecalls].Key != report.RecallOthers {
		t.Fatalf("%d rows, want %d recalls and the others", len(rows), report.TopRecalls)
	}
	if n, _ := rows[report.TopRecalls].Cells[0].Count(); n != 85+84 {
		t.Errorf("the other recalls' done reads %d, want %d", n, 85+84)
	}
	if n, _ := rows[report.TopRecalls].Cells[2].Count(); n != 85+84 {
		t.Errorf("the other recalls' due reads %d, want %d", n, 85+84)
	}
	empty := panel(t, report.Build(&report.Inputs{Period: may2026, Now: reportNow}), report.PanelRecallTasks)
	if !empty.Available || len(empty.Table.Rows) != 0 || !strings.HasPrefix(empty.Note, "No recall task was due in the period") {
		t.Errorf("no recalls: %+v", empty)
	}
}
