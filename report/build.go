// Package report turns a practice's aggregate counts into a report a
// practice manager would rather look at than read: one self-contained HTML
// page of charts (inline SVG drawn here, no script, nothing loaded from
// anywhere), each with its numbers in a table, and the same numbers as JSON.
// Counts under SuppressBelow are suppressed everywhere. The package holds no
// SQL: Gather asks the store, Build suppresses, WriteHTML draws.
package report

import (
	"cmp"
	"slices"
	"time"

	"github.com/carebook/carebook/store"
)

// Report is what a report shows: aggregates only, already suppressed. It is
// also what --json prints.
type Report struct {
	Title           string    `json:"title"`
	Period          Span      `json:"period"`
	Trend           Span      `json:"trend"`
	GeneratedAt     time.Time `json:"generated_at"`
	SuppressedBelow int       `json:"suppressed_below"`
	// Hidden explains the nulls in the tables.
	Hidden  string   `json:"hidden"`
	Summary []Figure `json:"summary"`
	Panels  []Panel  `json:"panels"`
}

// Span is a period as dates, both included, and as people say it.
type Span struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Label string `json:"label"`
}

// Figure is one headline number of the period.
type Figure struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Value Cell   `json:"value"`
}

// Panel is one chart and its table.
type Panel struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Covers says which span the panel counts: the trend, the period, or
	// today.
	Covers    string `json:"covers"`
	Available bool   `json:"available"`
	Note      string `json:"note,omitempty"`
	Table     *Table `json:"table,omitempty"`

	chart chartSpec
}

// Table holds a panel's numbers: one row per month, provider, channel or
// tag, one column per count.
type Table struct {
	RowHeader string   `json:"row_header"`
	Columns   []Column `json:"columns"`
	Rows      []Row    `json:"rows"`
}

// Column is one column of numbers.
type Column struct {
	Key   string `json:"key"`
	Label string `json:"label"`
}

// Row is one row of numbers, in the order of the columns.
type Row struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Cells []Cell `json:"values"`
}

// Panel identifiers, in the order of the page.
const (
	PanelAppointments = "appointments-by-month"
	PanelProviders    = "appointments-by-provider"
	PanelNewPatients  = "new-patients"
	PanelRecallTasks  = "recall-tasks"
	PanelContacts     = "contacts"
	PanelTags         = "active-patients-by-tag"
	PanelConsent      = "marketing-consent"
)

// PanelIDs lists every panel a report has, for the audit row.
func PanelIDs() []string {
	return []string{PanelAppointments, PanelProviders, PanelNewPatients, PanelRecallTasks, PanelContacts, PanelTags, PanelConsent}
}

const hiddenNote = `null is a count from 1 to 4 (shown as "< 5"), a total or rate withheld because it would let such a count be worked out, or a rate with nothing to divide`

// Build suppresses and arranges the counts. Nothing in the result holds a
// count under SuppressBelow.
func Build(in *Inputs) *Report {
	p, trend := in.Period, in.Period.Trend()
	r := &Report{
		Title:           "Practice report",
		Period:          span(p, p.Label()),
		Trend:           span(trend, trendLabel(trend)),
		GeneratedAt:     in.Now,
		SuppressedBelow: SuppressBelow,
		Hidden:          hiddenNote,
	}
	r.Summary = summary(in)
	r.Panels = []Panel{
		appointmentsPanel(in),
		providersPanel(in),
		newPatientsPanel(in),
		recallPanel(in),
		contactsPanel(in),
		tagsPanel(in),
		consentPanel(in),
	}
	return r
}

func span(p Period, label string) Span {
	return Span{From: p.From.Format(time.DateOnly), To: p.Last().Format(time.DateOnly), Label: label}
}

func trendLabel(t Period) string {
	last := t.Last()
	end := last.Format("January 2006")
	if !t.To.Equal(time.Date(last.Year(), last.Month()+1, 1, 0, 0, 0, 0, last.Location())) {
		end = last.Format(dayLabel)
	}
	return t.From.Format("January 2006") + " to " + end
}

func todayLabel(now time.Time) string { return "as of " + now.Format(dayLabel) }

// grid indexes tallies by key and sub-key.
type grid map[string]map[string]int

func index(ts []store.Tally) grid {
	g := grid{}
	for _, t := range ts {
		if g[t.Key] == nil {
			g[t.Key] = map[string]int{}
		}
		g[t.Key][t.Sub] += t.Count
	}
	return g
}

func (g grid) total(key string) int {
	n := 0
	for _, v := range g[key] {
		n += v
	}
	return n
}

func (g grid) sum(sub string) int {
	n := 0
	for _, m := range g {
		n += m[sub]
	}
	return n
}

// months lists the trend's month keys, every month even when it counted
// nothing, so that a quiet month shows as zero rather than vanishing.
func months(t Period) []string {
	var out []string
	for m := t.From; m.Before(t.To); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format(store.MonthKey))
	}
	return out
}

func monthLabel(key string) string {
	m, err := time.Parse(store.MonthKey, key)
	if err != nil {
		return key
	}
	return m.Format("Jan 2006")
}

// Appointment statuses as a manager reads them: what happened, then what
// is still to come.
var apptStatuses = []store.AppointmentStatus{store.AppointmentCompleted, store.AppointmentNoShow, store.AppointmentCancelled, store.AppointmentScheduled}

var apptColumns = []Column{
	{"completed", "Completed"}, {"no-show", "No-show"}, {"cancelled", "Cancelled"}, {"scheduled", "Scheduled"},
	{"total", "Total"}, {"no_show_rate", "No-show rate"},
}

// apptRow is one row of appointment counts by status, with its total and
// no-show rate: no-shows among appointments that were due and not
// cancelled (completed + no-show).
func apptRow(key, label string, counts map[string]int) Row {
	raw := make([]int, len(apptStatuses))
	cells := make([]Cell, 0, len(apptColumns))
	for i, s := range apptStatuses {
		raw[i] = counts[string(s)]
		cells = append(cells, countCell(raw[i]))
	}
	done, missed := counts[string(store.AppointmentCompleted)], counts[string(store.AppointmentNoShow)]
	cells = append(cells, totalCell(raw...), rateCell(missed, done+missed, missed, done))
	return Row{Key: key, Label: label, Cells: cells}
}

func appointmentsPanel(in *Inputs) Panel {
	g := index(in.AppointmentsByMonth)
	t := &Table{RowHeader: "Month", Columns: apptColumns}
	for _, m := range months(in.Period.Trend()) {
		t.Rows = append(t.Rows, apptRow(m, monthLabel(m), g[m]))
	}
	return Panel{
		ID: PanelAppointments, Title: "Appointments by status", Covers: trendLabel(in.Period.Trend()), Available: true,
		Note:  "The line is the no-show rate: no-shows among completed and no-show appointments (cancelled and still scheduled ones left out).",
		Table: t,
		chart: chartSpec{kind: columnChart, series: []int{0, 1, 2, 3}, total: 4, rate: 5},
	}
}

func providersPanel(in *Inputs) Panel {
	g := index(in.AppointmentsByProvider)
	keys := sortedKeys(g)
	t := &Table{RowHeader: "Provider", Columns: apptColumns}
	for _, k := range keys {
		t.Rows = append(t.Rows, apptRow(k, orNone(k), g[k]))
	}
	return Panel{
		ID: PanelProviders, Title: "Appointments by provider", Covers: trendLabel(in.Period.Trend()), Available: true,
		Table: t, chart: chartSpec{kind: barChart, series: []int{0, 1, 2, 3}, total: 4, rate: -1},
	}
}

func newPatientsPanel(in *Inputs) Panel {
	g := index(in.NewPatientsByMonth)
	t := &Table{RowHeader: "Month", Columns: []Column{{"new_patients", "New patients"}}}
	for _, m := range months(in.Period.Trend()) {
		t.Rows = append(t.Rows, Row{Key: m, Label: monthLabel(m), Cells: []Cell{countCell(g.total(m))}})
	}
	return Panel{
		ID: PanelNewPatients, Title: "New patients by month", Covers: trendLabel(in.Period.Trend()), Available: true,
		Note:  "When each patient's record was created in Carebook: patients brought over from another system count in the month of the import.",
		Table: t, chart: chartSpec{kind: columnChart, series: []int{0}, total: -1, rate: -1},
	}
}

// recallPanel is the recall-task panel: due, done and overdue tasks. Tasks
// do not exist yet (another issue adds them); when they do, Gather reads
// them into Inputs.RecallTasks and this one function builds the table and
// the chart, like contactsPanel.
func recallPanel(in *Inputs) Panel {
	return Panel{
		ID: PanelRecallTasks, Title: "Recall tasks: due, done and overdue", Covers: in.Period.Label(), Available: false,
		Note: "Not available yet: Carebook does not keep recall tasks yet. This panel fills in once it does.",
	}
}

func contactsPanel(in *Inputs) Panel {
	g := index(in.Contacts)
	t := &Table{RowHeader: "Channel", Columns: []Column{{"inbound", "Inbound"}, {"outbound", "Outbound"}, {"total", "Total"}}}
	for _, ch := range store.Channels {
		c := g[string(ch)]
		inb, outb := c[string(store.DirectionInbound)], c[string(store.DirectionOutbound)]
		t.Rows = append(t.Rows, Row{Key: string(ch), Label: string(ch),
			Cells: []Cell{countCell(inb), countCell(outb), totalCell(inb, outb)}})
	}
	return Panel{
		ID: PanelContacts, Title: "Contacts by channel and direction", Covers: in.Period.Label(), Available: true,
		Table: t, chart: chartSpec{kind: barChart, series: []int{0, 1}, total: 2, rate: -1},
	}
}

func tagsPanel(in *Inputs) Panel {
	t := &Table{RowHeader: "Tag", Columns: []Column{{"active_patients", "Active patients"}}}
	for _, tag := range in.ActiveTags {
		t.Rows = append(t.Rows, Row{Key: tag.Key, Label: tag.Key, Cells: []Cell{countCell(tag.Count)}})
	}
	return Panel{
		ID: PanelTags, Title: "Active patients by tag (top 15)", Covers: todayLabel(in.Now), Available: true,
		Note:  "Tags keep no history: these are today's counts, whatever the period.",
		Table: t, chart: chartSpec{kind: barChart, series: []int{0}, total: -1, rate: -1},
	}
}

func consentPanel(in *Inputs) Panel {
	g := index(in.ConsentByMonth)
	t := &Table{RowHeader: "Month", Columns: []Column{{"opted_in", "Opted in"}, {"opted_out", "Opted out"}}}
	for _, m := range months(in.Period.Trend()) {
		t.Rows = append(t.Rows, Row{Key: m, Label: monthLabel(m), Cells: []Cell{countCell(g[m]["in"]), countCell(g[m]["out"])}})
	}
	return Panel{
		ID: PanelConsent, Title: "Marketing consent in and out", Covers: trendLabel(in.Period.Trend()), Available: true,
		Note: "Patients whose marketing consent last changed in the month: opted in (above the line) or out (below). " +
			"Carebook keeps each patient's latest change only, so an earlier change of someone who changed twice is not counted.",
		Table: t, chart: chartSpec{kind: divergingChart, series: []int{0, 1}, total: -1, rate: -1},
	}
}

func summary(in *Inputs) []Figure {
	appts := index(in.AppointmentsInPeriod)
	raw := make([]int, len(apptStatuses))
	for i, s := range apptStatuses {
		raw[i] = appts.total(string(s))
	}
	done, missed := appts.total(string(store.AppointmentCompleted)), appts.total(string(store.AppointmentNoShow))
	newPatients := 0
	for _, t := range in.NewPatientsInPeriod {
		newPatients += t.Count
	}
	// The contacts table shows a total per channel: the grand total must
	// not give back what a withheld one hides.
	byChannel := index(in.Contacts)
	var contacts [][]int
	for _, ch := range store.Channels {
		c := byChannel[string(ch)]
		contacts = append(contacts, []int{c[string(store.DirectionInbound)], c[string(store.DirectionOutbound)]})
	}
	consent := index(in.ConsentInPeriod)
	standing := index(in.ConsentStanding)
	yes, no := standing.total("in"), standing.total("out")
	return []Figure{
		{"appointments", "Appointments", totalCell(raw...)},
		{"no_show_rate", "No-show rate", rateCell(missed, done+missed, missed, done)},
		{"new_patients", "New patients", countCell(newPatients)},
		{"contacts", "Contacts", grandTotalCell(contacts...)},
		{"opted_in", "Opted in to marketing", countCell(consent.sum("in"))},
		{"opted_out", "Opted out of marketing", countCell(consent.sum("out"))},
		{"consenting_today", "Active patients who consent to marketing, today", rateCell(yes, yes+no, yes, no)},
	}
}

// sortedKeys orders rows by their total, largest first, then by name.
func sortedKeys(g grid) []string {
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(g.total(b), g.total(a)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return keys
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
