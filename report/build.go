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

const hiddenNote = `null is a count from 1 to 4 (shown as "< 5"); a count, total or rate withheld because, with the numbers beside it, it would give such a count away; or a rate with nothing to divide`

// Build suppresses and arranges the counts. Nothing in the result holds a
// count under SuppressBelow, nor one that the numbers beside it would give
// back (see sheet).
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
	s := &sheet{}
	appts := appointmentsPanel(s, in)
	providers := providersPanel(s, in)
	// The same appointments counted twice: each column of the months adds
	// up to the same column of the providers.
	for c := range len(apptStatuses) + 1 {
		s.equal(appts.column(c), providers.column(c))
	}
	newPatients := newPatientsPanel(s, in)
	recalls := recallPanel(s, in)
	contacts, contactsTotal := contactsPanel(s, in)
	tags := tagsPanel(s, in)
	consent := consentPanel(s, in)
	figures := summary(s, in, appts, newPatients, consent, contactsTotal)
	s.protect()

	r.Panels = []Panel{appts.finish(s), providers.finish(s), newPatients.finish(s), recalls.finish(s),
		contacts.finish(s), tags.finish(s), consent.finish(s)}
	for _, f := range figures {
		r.Summary = append(r.Summary, Figure{Key: f.key, Label: f.label, Value: f.slot.cell(s)})
	}
	return r
}

// slot is a cell of a table before suppression: a count's id in the sheet,
// or a rate of counts.
type slot struct {
	id  int // -1 for a rate
	num int
	den []int
}

func countSlot(id int) slot { return slot{id: id} }

func rateSlot(num int, den ...int) slot { return slot{id: -1, num: num, den: den} }

func (sl slot) cell(s *sheet) Cell {
	if sl.id < 0 {
		return s.rate(sl.num, sl.den...)
	}
	return s.cell(sl.id)
}

// draft is a panel whose cells are still ids in the sheet.
type draft struct {
	panel Panel
	slots [][]slot
}

func (d *draft) row(key, label string, slots ...slot) {
	d.panel.Table.Rows = append(d.panel.Table.Rows, Row{Key: key, Label: label})
	d.slots = append(d.slots, slots)
}

// column is the ids of one column of counts.
func (d *draft) column(c int) []int {
	var ids []int
	for _, r := range d.slots {
		ids = append(ids, r[c].id)
	}
	return ids
}

func (d *draft) finish(s *sheet) Panel {
	for i, slots := range d.slots {
		cells := make([]Cell, len(slots))
		for j, sl := range slots {
			cells[j] = sl.cell(s)
		}
		d.panel.Table.Rows[i].Cells = cells
	}
	return d.panel
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
func apptRow(s *sheet, counts map[string]int) []slot {
	ids := make([]int, len(apptStatuses))
	slots := make([]slot, 0, len(apptColumns))
	for i, st := range apptStatuses {
		ids[i] = s.count(counts[string(st)])
		slots = append(slots, countSlot(ids[i]))
	}
	done, missed := ids[0], ids[1] // completed, no-show
	return append(slots, countSlot(s.total(ids...)), rateSlot(missed, done, missed))
}

func appointmentsPanel(s *sheet, in *Inputs) *draft {
	g := index(in.AppointmentsByMonth)
	d := &draft{panel: Panel{
		ID: PanelAppointments, Title: "Appointments by status", Covers: trendLabel(in.Period.Trend()), Available: true,
		Note:  "The line is the no-show rate: no-shows among completed and no-show appointments (cancelled and still scheduled ones left out).",
		Table: &Table{RowHeader: "Month", Columns: apptColumns},
		chart: chartSpec{kind: columnChart, series: []int{0, 1, 2, 3}, total: 4, rate: 5},
	}}
	for _, m := range months(in.Period.Trend()) {
		d.row(m, monthLabel(m), apptRow(s, g[m])...)
	}
	return d
}

func providersPanel(s *sheet, in *Inputs) *draft {
	g := index(in.AppointmentsByProvider)
	d := &draft{panel: Panel{
		ID: PanelProviders, Title: "Appointments by provider", Covers: trendLabel(in.Period.Trend()), Available: true,
		Table: &Table{RowHeader: "Provider", Columns: apptColumns},
		chart: chartSpec{kind: barChart, series: []int{0, 1, 2, 3}, total: 4, rate: -1},
	}}
	for _, k := range sortedKeys(g) {
		d.row(k, orNone(k), apptRow(s, g[k])...)
	}
	return d
}

func newPatientsPanel(s *sheet, in *Inputs) *draft {
	g := index(in.NewPatientsByMonth)
	d := &draft{panel: Panel{
		ID: PanelNewPatients, Title: "New patients by month", Covers: trendLabel(in.Period.Trend()), Available: true,
		Note:  "When each patient's record was created in Carebook: patients brought over from another system count in the month of the import.",
		Table: &Table{RowHeader: "Month", Columns: []Column{{"new_patients", "New patients"}}},
		chart: chartSpec{kind: columnChart, series: []int{0}, total: -1, rate: -1},
	}}
	for _, m := range months(in.Period.Trend()) {
		d.row(m, monthLabel(m), countSlot(s.count(g.total(m))))
	}
	return d
}

// TopRecalls is how many recalls the recall panel names, those with the
// most tasks first; the others share one row.
const TopRecalls = 15

// RecallOthers is the key of the recall panel's row for the recalls past
// TopRecalls.
const RecallOthers = "other-recalls"

var recallColumns = []Column{
	{"done", "Done"}, {"overdue", "Overdue"}, {"due", "Due"}, {"earlier_overdue", "Due earlier, still overdue"},
}

// recallPanel is the recall tasks of the period, as they stood at its end:
// one row per recall (its reason, as staff wrote it), the tasks due in the
// period split into done and overdue (the two add up to the due, the row's
// total), and the older ones still overdue. There is no row of all recalls:
// its sums would withhold, around any recall of one to four tasks, the
// numbers of the others.
func recallPanel(s *sheet, in *Inputs) *draft {
	g := index(in.RecallTasks)
	note := "Recall tasks due in the period, as they stood at its end: done, or still open and so overdue. " +
		"The last column counts recall tasks due before the period and still open at its end. " +
		"Each row is one recall, named by the reason staff gave it; a task reopened counts as open."
	if len(g) == 0 {
		note = "No recall task was due in the period, nor overdue at its end. " + note
	}
	d := &draft{panel: Panel{
		ID: PanelRecallTasks, Title: "Recall tasks: due, done and overdue", Covers: in.Period.Label(), Available: true,
		Note:  note,
		Table: &Table{RowHeader: "Recall", Columns: recallColumns},
		chart: chartSpec{kind: barChart, series: []int{0, 1}, total: 2, rate: -1},
	}}
	add := func(key, label string, c map[string]int) {
		done, overdue := s.count(c[store.RecallDone]), s.count(c[store.RecallOverdue])
		d.row(key, label, countSlot(done), countSlot(overdue), countSlot(s.total(done, overdue)), countSlot(s.count(c[store.RecallEarlier])))
	}
	others := map[string]int{}
	keys := sortedKeys(g)
	for i, k := range keys {
		if i < TopRecalls {
			add(k, orNone(k), g[k])
			continue
		}
		for sub, n := range g[k] {
			others[sub] += n
		}
	}
	if len(keys) > TopRecalls {
		add(RecallOthers, "Other recalls", others)
	}
	return d
}

// contactsPanel returns the panel and the id of the grand total, which the
// summary shows.
func contactsPanel(s *sheet, in *Inputs) (*draft, int) {
	g := index(in.Contacts)
	d := &draft{panel: Panel{
		ID: PanelContacts, Title: "Contacts by channel and direction", Covers: in.Period.Label(), Available: true,
		Table: &Table{RowHeader: "Channel", Columns: []Column{{"inbound", "Inbound"}, {"outbound", "Outbound"}, {"total", "Total"}}},
		chart: chartSpec{kind: barChart, series: []int{0, 1}, total: 2, rate: -1},
	}}
	var totals []int
	for _, ch := range store.Channels {
		c := g[string(ch)]
		inb, outb := s.count(c[string(store.DirectionInbound)]), s.count(c[string(store.DirectionOutbound)])
		total := s.total(inb, outb)
		totals = append(totals, total)
		d.row(string(ch), string(ch), countSlot(inb), countSlot(outb), countSlot(total))
	}
	return d, s.total(totals...)
}

func tagsPanel(s *sheet, in *Inputs) *draft {
	d := &draft{panel: Panel{
		ID: PanelTags, Title: "Active patients by tag (top 15)", Covers: todayLabel(in.Now), Available: true,
		Note:  "Tags keep no history: these are today's counts, whatever the period.",
		Table: &Table{RowHeader: "Tag", Columns: []Column{{"active_patients", "Active patients"}}},
		chart: chartSpec{kind: barChart, series: []int{0}, total: -1, rate: -1},
	}}
	for _, tag := range in.ActiveTags {
		d.row(tag.Key, tag.Key, countSlot(s.count(tag.Count)))
	}
	return d
}

func consentPanel(s *sheet, in *Inputs) *draft {
	g := index(in.ConsentByMonth)
	d := &draft{panel: Panel{
		ID: PanelConsent, Title: "Marketing consent in and out", Covers: trendLabel(in.Period.Trend()), Available: true,
		Note: "Patients whose marketing consent last changed in the month: opted in (above the line) or out (below). " +
			"Carebook keeps each patient's latest change only, so an earlier change of someone who changed twice is not counted.",
		Table: &Table{RowHeader: "Month", Columns: []Column{{"opted_in", "Opted in"}, {"opted_out", "Opted out"}}},
		chart: chartSpec{kind: divergingChart, series: []int{0, 1}, total: -1, rate: -1},
	}}
	for _, m := range months(in.Period.Trend()) {
		d.row(m, monthLabel(m), countSlot(s.count(g[m]["in"])), countSlot(s.count(g[m]["out"])))
	}
	return d
}

type figure struct {
	key, label string
	slot       slot
}

// summary is the period's headline numbers. For a calendar month they are
// the last row of the trend tables, the same cells (so they are hidden or
// shown together); for other periods they are counted on their own.
func summary(s *sheet, in *Inputs, appts, newPatients, consent *draft, contacts int) []figure {
	standing := index(in.ConsentStanding)
	// These two are not shown; they only make the rate.
	yes, no := s.count(standing.total("in")), s.count(standing.total("out"))
	today := figure{"consenting_today", "Active patients who consent to marketing, today", rateSlot(yes, yes, no)}
	contactsFig := figure{"contacts", "Contacts", countSlot(contacts)}

	if in.Period.IsMonth() {
		last := len(appts.slots) - 1
		return []figure{
			{"appointments", "Appointments", appts.slots[last][4]},
			{"no_show_rate", "No-show rate", appts.slots[last][5]},
			{"new_patients", "New patients", newPatients.slots[last][0]},
			contactsFig,
			{"opted_in", "Opted in to marketing", consent.slots[last][0]},
			{"opted_out", "Opted out of marketing", consent.slots[last][1]},
			today,
		}
	}
	period := index(in.AppointmentsInPeriod)
	total := 0
	for _, st := range apptStatuses {
		total += period.total(string(st))
	}
	done := s.count(period.total(string(store.AppointmentCompleted)))
	missed := s.count(period.total(string(store.AppointmentNoShow)))
	newPatientsN := 0
	for _, t := range in.NewPatientsInPeriod {
		newPatientsN += t.Count
	}
	changes := index(in.ConsentInPeriod)
	return []figure{
		{"appointments", "Appointments", countSlot(s.count(total))},
		{"no_show_rate", "No-show rate", rateSlot(missed, done, missed)},
		{"new_patients", "New patients", countSlot(s.count(newPatientsN))},
		contactsFig,
		{"opted_in", "Opted in to marketing", countSlot(s.count(changes.sum("in")))},
		{"opted_out", "Opted out of marketing", countSlot(s.count(changes.sum("out")))},
		today,
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
