// Package phiscan finds protected health information (PHI) in CSV exports
// from cloud CRMs (HubSpot, Mailchimp, Keap, or any spreadsheet) and says
// what to do about it: move the file to Carebook, strip columns from the
// cloud CRM, or split it into what the practice needs and what a marketing
// tool may keep.
//
// A report names columns and counts rows; it never holds a cell's value nor
// the clinical word that matched, unless Options.ShowExamples asks for a few
// example values.
package phiscan

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/carebook/carebook/internal/charset"
)

// DefaultSampleRows is how many rows classify columns by value when
// Options.SampleRows is not set.
const DefaultSampleRows = 2000

// MaxMentionRows caps ColumnReport.MentionRows.
const MaxMentionRows = 20

// maxExamples caps ColumnReport.Examples.
const maxExamples = 3

// Options tune a scan.
type Options struct {
	// SampleRows is how many rows, from the top, classify columns by their
	// values; 0 means DefaultSampleRows. Lexicon mentions are counted in
	// every row regardless.
	SampleRows int
	// ShowExamples puts up to three values of each column in the report.
	// They are patient data: only for a person at a terminal.
	ShowExamples bool
	// Encoding is the file's encoding when it has no byte order mark;
	// charset.Auto means UTF-8, checked, as `carebook import` reads it.
	Encoding charset.Encoding
}

// Category is what a column holds.
type Category string

// Categories of column.
const (
	CategoryIdentifier Category = "identifier"
	CategoryClinical   Category = "clinical"
	CategoryFinancial  Category = "financial"
	CategoryFreeText   Category = "free_text"
	CategoryTags       Category = "tags"
	CategoryNone       Category = "none"
)

// Kinds refine a category.
const (
	// Identifiers.
	KindName              = "name"
	KindEmail             = "email"
	KindPhone             = "phone"
	KindAddress           = "address"
	KindDateOfBirth       = "date_of_birth"
	KindMRN               = "mrn"
	KindInsuranceMemberID = "insurance_member_id"
	// Clinical.
	KindDiagnosis       = "diagnosis"
	KindMedication      = "medication"
	KindAllergy         = "allergy"
	KindTreatment       = "treatment"
	KindAppointmentType = "appointment_type"
	KindAppointmentDate = "appointment_date"
	// Financial.
	KindInsurance = "insurance"
	KindCopay     = "copay"
	KindBalance   = "balance"
	// Not PHI.
	KindMarketing  = "marketing"  // opt-in, consent, engagement: a marketing tool may keep it
	KindCRM        = "crm"        // the CRM's own bookkeeping: record IDs, owners, stages
	KindLocation   = "location"   // a city, state or country alone
	KindPreference = "preference" // a language or contact preference
)

// Recommendation is what to do with a file.
type Recommendation string

// Recommendations.
const (
	// RecommendMigrate: clinical data, or notes that mention it, are in the
	// cloud CRM; move everything to Carebook.
	RecommendMigrate Recommendation = "migrate"
	// RecommendStrip: identifiers with a little clinical colour (a few
	// clinical tags, billing columns, empty-looking notes); strip the PHI
	// columns from the cloud CRM.
	RecommendStrip Recommendation = "strip"
	// RecommendSplit: identifiers only; keep the contact details the practice
	// runs on in Carebook and give the marketing tool name and email.
	RecommendSplit Recommendation = "split"
	// RecommendKeep: nothing beyond what a marketing tool may keep.
	RecommendKeep Recommendation = "keep"
)

// FileReport is the result of scanning one CSV file.
type FileReport struct {
	File        string         `json:"file"`
	Rows        int            `json:"rows"`
	SampledRows int            `json:"sampled_rows"`
	Columns     []ColumnReport `json:"columns"`
	HoldsPHI    bool           `json:"holds_phi"`
	// Recommendation is migrate, strip, split or keep.
	Recommendation Recommendation `json:"recommendation"`
	// MarketingMayKeep lists the headers a marketing tool may keep: names,
	// email and consent columns. Never clinical data, tags, notes, dates of
	// birth or phone numbers.
	MarketingMayKeep []string `json:"marketing_may_keep"`
	// Advice explains the recommendation in plain sentences.
	Advice []string `json:"advice"`
}

// ColumnReport is what one column holds and why the scanner thinks so.
type ColumnReport struct {
	Header string `json:"header"`
	// Index is the column's position in the header, from 0.
	Index    int      `json:"index"`
	Category Category `json:"category"`
	Kind     string   `json:"kind,omitempty"`
	// Reason says why: "header", "values: 98% emails", or a note.
	Reason string `json:"reason"`
	// Filled counts the rows where the column is not empty.
	Filled int `json:"filled"`
	// Mentions counts, for free-text, tag and clinical columns, the rows
	// that mention each lexicon group (condition, medication, allergy,
	// visit_type). Rows, not words, and never which word.
	Mentions map[string]int `json:"mentions,omitempty"`
	// MentionRows are the first data rows (from 1) with any mention.
	MentionRows []int `json:"mention_rows,omitempty"`
	// Examples holds up to three values, only with Options.ShowExamples.
	Examples []string `json:"examples,omitempty"`
}

// Flagged reports whether the column holds PHI or health information.
func (c ColumnReport) Flagged() bool { return c.Category != CategoryNone }

// ScanFile scans the CSV file at path.
func ScanFile(ctx context.Context, path string, opts Options) (*FileReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", path, err)
	}
	defer f.Close()
	return Scan(ctx, path, f, opts)
}

// Scan reads a CSV from r; name labels the report and errors.
func Scan(ctx context.Context, name string, r io.Reader, opts Options) (*FileReport, error) {
	sampleN := opts.SampleRows
	if sampleN <= 0 {
		sampleN = DefaultSampleRows
	}
	cr := csv.NewReader(charset.NewReader(r, opts.Encoding))
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("scan %s: the file is empty; expected a header row", name)
	}
	if err != nil {
		return nil, readError(name, err, 0)
	}
	width := len(header)
	read := func() ([]string, error) {
		rec, err := cr.Read()
		if err != nil {
			return nil, readError(name, err, width)
		}
		return rec, nil
	}

	var sample [][]string
	for len(sample) < sampleN {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		sample = append(sample, rec)
	}

	rep := &FileReport{File: name, SampledRows: len(sample), Columns: make([]ColumnReport, width)}
	for i, h := range header {
		values := make([]string, 0, len(sample))
		for _, rec := range sample {
			if v := strings.TrimSpace(rec[i]); v != "" {
				values = append(values, v)
			}
		}
		rep.Columns[i] = classify(strings.TrimSpace(h), i, values)
		if opts.ShowExamples {
			rep.Columns[i].Examples = examples(values)
		}
	}

	counters := make([]*mentionCounter, width)
	for i, c := range rep.Columns {
		if scansText(c.Category) {
			counters[i] = &mentionCounter{}
		}
	}
	process := func(rec []string) {
		rep.Rows++
		for i, v := range rec {
			if strings.TrimSpace(v) == "" {
				continue
			}
			rep.Columns[i].Filled++
			if counters[i] != nil {
				counters[i].add(rep.Rows, v)
			}
		}
	}
	for _, rec := range sample {
		process(rec)
	}
	sample = nil
	cr.ReuseRecord = true
	for {
		if rep.Rows%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rec, err := read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		process(rec)
	}
	for i, mc := range counters {
		if mc != nil {
			rep.Columns[i].Mentions = mc.counts
			rep.Columns[i].MentionRows = mc.rows
		}
	}
	decide(rep)
	return rep, nil
}

// readError names the line of a malformed row. It never quotes the row.
func readError(name string, err error, width int) error {
	if errors.Is(err, io.EOF) {
		return err
	}
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		// A *charset.Error names its line, and what to do, itself.
		return fmt.Errorf("scan %s: %w", name, err)
	}
	if errors.Is(pe.Err, csv.ErrFieldCount) {
		return fmt.Errorf("scan %s: line %d: %w (the header has %d columns)", name, pe.StartLine, pe.Err, width)
	}
	return fmt.Errorf("scan %s: line %d: %w", name, pe.Line, pe.Err)
}

func scansText(c Category) bool {
	return c == CategoryFreeText || c == CategoryTags || c == CategoryClinical
}

func examples(values []string) []string {
	var out []string
	for _, v := range values {
		if !slices.Contains(out, v) {
			out = append(out, v)
			if len(out) == maxExamples {
				break
			}
		}
	}
	return out
}

// mentionCounter counts the rows of one column that mention each group.
type mentionCounter struct {
	counts map[string]int
	rows   []int
}

func (m *mentionCounter) add(row int, text string) {
	if m.counts == nil {
		m.counts = make(map[string]int, len(Groups))
		for _, g := range Groups {
			m.counts[g] = 0
		}
	}
	found := matchGroups(text)
	if found == 0 {
		return
	}
	for gi, g := range Groups {
		if found&(1<<gi) != 0 {
			m.counts[g]++
		}
	}
	if len(m.rows) < MaxMentionRows {
		m.rows = append(m.rows, row)
	}
}

// --- lexicon matching -------------------------------------------------------

type phrase struct {
	words []string
	group int // index in Groups
}

// phrasesByFirstWord indexes the lexicon for matching.
var phrasesByFirstWord = func() map[string][]phrase {
	idx := make(map[string][]phrase)
	for gi, g := range Groups {
		for _, term := range lexicon[g] {
			words := words(term)
			if len(words) == 0 {
				continue
			}
			idx[words[0]] = append(idx[words[0]], phrase{words: words, group: gi})
		}
	}
	return idx
}()

// segmentSeparators split a cell into tags, clauses or sentences; a phrase
// never spans two segments, so "new;patient" is not "new patient".
const segmentSeparators = ";,|.:!?\n\r()[]{}\"/\\"

// words lowercases s and splits it into runs of letters and digits, so that
// "Refill-Overdue" is ["refill" "overdue"] and "Crohn's" is ["crohn" "s"].
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// matchGroups returns a bit per group (1<<index in Groups) that the text
// mentions, matching whole words and phrases.
func matchGroups(text string) uint8 {
	var found uint8
	segments := strings.FieldsFunc(text, func(r rune) bool { return strings.ContainsRune(segmentSeparators, r) })
	for _, seg := range segments {
		ws := words(seg)
		for i, w := range ws {
			for _, p := range phrasesByFirstWord[w] {
				if len(p.words) <= len(ws)-i && slices.Equal(p.words, ws[i:i+len(p.words)]) {
					found |= 1 << p.group
				}
			}
		}
	}
	return found
}

// --- value detectors --------------------------------------------------------

var (
	emailRe = regexp.MustCompile(`(?i)^[a-z0-9._%+'\-]+@[a-z0-9.\-]+\.[a-z]{2,}$`)
	phoneRe = regexp.MustCompile(`(?i)^\+?[0-9 ()./\-]+(\s*(x|ext\.?|extension)\s*[0-9]+)?$`)
)

func isEmail(v string) bool { return emailRe.MatchString(v) }

func isPhone(v string) bool {
	if !phoneRe.MatchString(v) {
		return false
	}
	main := v
	if i := strings.IndexAny(strings.ToLower(v), "xe"); i >= 0 {
		main = v[:i]
	}
	digits := 0
	for _, r := range main {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	return digits >= 10 && digits <= 15
}

// dateLayouts are the date shapes CRMs and spreadsheets write.
var dateLayouts = []string{
	"1/2/2006", "1/2/06", "2006-01-02", "2006/01/02", "02.01.2006", "2-Jan-2006", "2 Jan 2006",
	"Jan 2, 2006", "January 2, 2006", "Jan 2 2006",
	"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05",
	"2006-01-02T15:04:05.000Z07:00", "1/2/2006 15:04", "1/2/2006 3:04 PM", "1/2/2006 15:04:05",
	"1/2", // Mailchimp birthdays are MM/DD
}

// parseDate reports whether v is a date, and its year (0 when it has none).
func parseDate(v string) (year int, ok bool) {
	if len(v) < 3 || len(v) > 32 {
		return 0, false
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.Year(), true
		}
	}
	return 0, false
}

// valueStats summarise a column's sampled, non-empty values.
type valueStats struct {
	n, emails, phones, dates, texty, lexical int
	minYear, maxYear                         int
	totalLen                                 int
	groupHits                                [4]int
}

func statsOf(values []string) valueStats {
	s := valueStats{n: len(values)}
	for _, v := range values {
		s.totalLen += len([]rune(v))
		switch {
		case isEmail(v):
			s.emails++
		case isPhone(v):
			s.phones++
		default:
			if y, ok := parseDate(v); ok {
				s.dates++
				if y > 0 {
					if s.minYear == 0 || y < s.minYear {
						s.minYear = y
					}
					s.maxYear = max(s.maxYear, y)
				}
			}
		}
		if strings.ContainsAny(v, " \t") {
			s.texty++
		}
		if g := matchGroups(v); g != 0 {
			s.lexical++
			for gi := range Groups {
				if g&(1<<gi) != 0 {
					s.groupHits[gi]++
				}
			}
		}
	}
	return s
}

func (s valueStats) share(k int) float64 {
	if s.n == 0 {
		return 0
	}
	return float64(k) / float64(s.n)
}

func pct(f float64) string { return fmt.Sprintf("%d%%", int(f*100+0.5)) }

func (s valueStats) avgLen() float64 {
	if s.n == 0 {
		return 0
	}
	return float64(s.totalLen) / float64(s.n)
}

// isFreeText is long text with spaces: notes, not codes or names.
func (s valueStats) isFreeText() bool {
	return s.n > 0 && s.avgLen() > 25 && s.share(s.texty) >= 0.5
}

// --- classification ---------------------------------------------------------

// normalizeHeader lowercases h and drops everything but letters and digits:
// "State/Region" is "stateregion", "Patient ID (MRN)" is "patientidmrn".
func normalizeHeader(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// headerClass is what a header alone says. undecided means the values must
// choose (an "Appointment" column may hold dates or types).
type headerClass struct {
	cat       Category
	kind      string
	note      string // replaces "header" as the reason
	undecided bool
}

// classifyHeader maps a normalised header to a category. The order of the
// rules matters: "Email Opt-In" is consent, not an email address; "Patient
// ID" is an MRN even though "ID" alone is CRM bookkeeping.
func classifyHeader(n string) (headerClass, bool) {
	id := func(kind string) (headerClass, bool) { return headerClass{cat: CategoryIdentifier, kind: kind}, true }
	clin := func(kind string) (headerClass, bool) { return headerClass{cat: CategoryClinical, kind: kind}, true }
	fin := func(kind string) (headerClass, bool) { return headerClass{cat: CategoryFinancial, kind: kind}, true }
	none := func(kind, note string) (headerClass, bool) {
		return headerClass{cat: CategoryNone, kind: kind, note: note}, true
	}
	web := containsAny(n, "website", "webpage", "pageview", "session", "numberof", "page")

	switch {
	case n == "":
		return headerClass{}, false

	// Identifiers a header names beyond doubt.
	case containsAny(n, "mrn", "medicalrecord", "patientid", "patientnumber", "patientno", "chartnumber", "chartno", "chartid"):
		return id(KindMRN)
	case containsAny(n, "memberid", "subscriberid", "policynumber", "policyno", "policyid", "insuranceid", "insurancenumber",
		"medicaidid", "medicaidnumber", "medicareid", "medicarenumber", "beneficiaryid", "healthplanid"):
		return id(KindInsuranceMemberID)
	case containsAny(n, "birth") || n == "dob" || n == "bday" || strings.HasPrefix(n, "dob"):
		return id(KindDateOfBirth)

	// Clinical.
	case !web && containsAny(n, "appointment", "appt", "visit", "encounter"):
		switch {
		case strings.HasSuffix(n, "id"):
			return none(KindCRM, "header: a record ID, not PHI by itself")
		case containsAny(n, "type", "reason", "kind", "service", "category", "status", "purpose"):
			return clin(KindAppointmentType)
		case containsAny(n, "date", "time", "when", "next", "last", "start", "scheduled", "day"):
			return clin(KindAppointmentDate)
		}
		return headerClass{cat: CategoryClinical, kind: KindAppointmentType, undecided: true}, true
	case containsAny(n, "allerg"):
		return clin(KindAllergy)
	case containsAny(n, "diagnos", "icd", "problemlist", "chiefcomplaint", "medicalhistory", "healthhistory", "medicalcondition", "healthcondition") ||
		(containsAny(n, "condition") && !containsAny(n, "term")) || n == "dx" || n == "problems":
		return clin(KindDiagnosis)
	case containsAny(n, "medication", "medicine", "prescription", "drug") || n == "rx" || n == "meds" || strings.HasSuffix(n, "meds"):
		return clin(KindMedication)
	case containsAny(n, "treatment", "procedure", "therapy", "cpt", "surgery", "careplan"):
		return clin(KindTreatment)

	// Financial.
	case containsAny(n, "copay", "coinsurance", "deductible"):
		return fin(KindCopay)
	case containsAny(n, "balance", "amountdue", "amountowed", "outstanding", "pastdue", "owed"):
		return fin(KindBalance)
	case containsAny(n, "insurance", "insurer", "payer", "payor", "healthplan", "medicaid", "medicare"):
		return fin(KindInsurance)

	// Not PHI: consent and engagement a marketing tool keeps anyway.
	case containsAny(n, "optin", "optout", "consent", "subscri", "permission", "gdpr", "marketing", "newsletter",
		"emailtype", "emailformat", "rating", "confirmtime", "confirmip", "leid", "euid", "donotemail", "donotcontact"):
		return none(KindMarketing, "header: consent or engagement, not PHI")
	// Not PHI: the CRM's own bookkeeping.
	case web || containsAny(n, "recordid", "contactid", "owner", "hubspot", "lifecycle", "leadstatus", "leadsource",
		"source", "createdate", "createdon", "datecreated", "lastmodified", "modified", "updated", "lastactivity",
		"lastcontacted", "lastchanged", "timezone", "domain", "status", "company", "jobtitle", "industry", "persona", "campaign") ||
		n == "id" || n == "uuid":
		return none(KindCRM, "header: CRM bookkeeping, not PHI")
	case containsAny(n, "language"):
		return none(KindPreference, "header: a preference, not PHI")
	case slices.Contains([]string{"state", "stateregion", "province", "region", "stateprovince", "country", "countryregion"}, n):
		return none(KindLocation, "header: a state or country is not an identifier")
	case containsAny(n, "latitude", "longitude") || n == "lat" || n == "lng" || n == "lon":
		return none(KindLocation, "header: coordinates are not flagged, but marketing leaves them out")
	case containsAny(n, "city", "town") && !containsAny(n, "street", "address"):
		return none(KindLocation, "header: a city alone is not flagged (Safe Harbor counts it as an identifier, so marketing leaves it out)")
	case strings.HasSuffix(n, "type") && containsAny(n, "phone", "email", "address"):
		return none(KindCRM, "header: the kind of a contact detail, not PHI")

	// Identifiers.
	case containsAny(n, "email"):
		return id(KindEmail)
	case containsAny(n, "phone", "mobile", "cell", "fax", "telephone") || n == "tel" || n == "sms":
		return id(KindPhone)
	case containsAny(n, "address", "street", "zip", "postal", "postcode", "mailing", "city"):
		return id(KindAddress)
	case isNameHeader(n):
		return id(KindName)

	// Tags and notes.
	case slices.Contains([]string{"tags", "tag", "labels", "label", "segments", "segment", "tagnames", "taglist"}, n) ||
		strings.HasSuffix(n, "tags"):
		return headerClass{cat: CategoryTags}, true
	case containsAny(n, "note", "comment", "memo", "remark", "description", "message", "summary", "details",
		"additionalinfo", "instructions", "history"):
		return headerClass{cat: CategoryFreeText}, true
	}
	return headerClass{}, false
}

var exactNameHeaders = []string{
	"name", "fname", "lname", "first", "last", "firstname", "lastname", "fullname", "middlename", "middleinitial",
	"givenname", "familyname", "surname", "patientname", "contactname", "preferredname", "nickname", "maidenname",
}

func isNameHeader(n string) bool {
	return slices.Contains(exactNameHeaders, n) || isRelativeName(n) ||
		containsAny(n, "firstname", "lastname", "fullname", "middlename", "patientname")
}

// isRelativeName is a relative's or contact's name: an identifier, but not
// one a marketing tool needs.
func isRelativeName(n string) bool {
	return containsAny(n, "guardian", "spouse", "emergencycontact", "parentname", "mothername", "fathername", "nextofkin")
}

// classify decides a column's category from its header and sampled values.
func classify(header string, index int, values []string) ColumnReport {
	c := ColumnReport{Header: header, Index: index, Category: CategoryNone}
	n := normalizeHeader(header)
	s := statsOf(values)
	hc, ok := classifyHeader(n)

	if ok {
		c.Category, c.Kind = hc.cat, hc.kind
		c.Reason = "header"
		if hc.note != "" {
			c.Reason = hc.note
		}
		switch {
		case hc.undecided && s.share(s.dates) >= 0.5:
			c.Kind = KindAppointmentDate
			c.Reason = "header, values: " + pct(s.share(s.dates)) + " dates"
		case (hc.cat == CategoryFreeText || hc.cat == CategoryTags) && s.n > 0 && s.share(s.dates) >= 0.8:
			// HubSpot's "Notes last updated" is a date, not a note.
			c.Category, c.Kind = CategoryNone, KindCRM
			c.Reason = "header names notes or tags, but values are " + pct(s.share(s.dates)) + " dates"
		case hc.kind == KindEmail && s.n > 0:
			c.Reason = "header, values: " + pct(s.share(s.emails)) + " emails"
		case hc.kind == KindPhone && s.n > 0:
			c.Reason = "header, values: " + pct(s.share(s.phones)) + " phone numbers"
		case hc.kind == KindDateOfBirth && s.n > 0:
			c.Reason = "header, values: " + pct(s.share(s.dates)) + " dates"
		case hc.cat == CategoryFreeText && s.isFreeText():
			c.Reason = fmt.Sprintf("header, values: free text, %.0f characters on average", s.avgLen())
		}
		if s.n == 0 && c.Category != CategoryNone {
			c.Reason += "; the column is empty"
		}
		return c
	}

	// The header says nothing we know: the values decide.
	switch {
	case s.n == 0:
		c.Reason = "no PHI in header; the column is empty"
	case s.share(s.emails) >= 0.8:
		c.Category, c.Kind = CategoryIdentifier, KindEmail
		c.Reason = "values: " + pct(s.share(s.emails)) + " emails"
	case s.share(s.phones) >= 0.8:
		c.Category, c.Kind = CategoryIdentifier, KindPhone
		c.Reason = "values: " + pct(s.share(s.phones)) + " phone numbers"
	case s.share(s.dates) >= 0.8 && s.minYear > 0 && s.maxYear-s.minYear >= 20:
		c.Category, c.Kind = CategoryIdentifier, KindDateOfBirth
		c.Reason = fmt.Sprintf("values: %s dates spanning %d years, like dates of birth", pct(s.share(s.dates)), s.maxYear-s.minYear)
	case s.share(s.dates) >= 0.8:
		c.Reason = "values: " + pct(s.share(s.dates)) + " dates, not spread like dates of birth; check what they are"
	case s.isFreeText():
		c.Category = CategoryFreeText
		c.Reason = fmt.Sprintf("values: free text, %.0f characters on average", s.avgLen())
	case s.share(s.lexical) >= 0.3:
		c.Category = CategoryClinical
		best := 0
		for gi := range Groups {
			if s.groupHits[gi] > s.groupHits[best] {
				best = gi
			}
		}
		c.Kind = []string{KindDiagnosis, KindMedication, KindAllergy, KindAppointmentType}[best]
		c.Reason = "values: " + pct(s.share(s.lexical)) + " clinical terms"
	default:
		c.Reason = "no PHI in header or values"
	}
	return c
}

// Describe says what a recommendation means, in a few words.
func (r Recommendation) Describe() string {
	switch r {
	case RecommendMigrate:
		return "move it all to Carebook"
	case RecommendStrip:
		return "strip the PHI columns from the cloud CRM"
	case RecommendSplit:
		return "split contact details from the marketing list"
	case RecommendKeep:
		return "nothing to move"
	}
	return ""
}

// --- the verdict ------------------------------------------------------------

// tagsHeavyShare is the share of rows above which clinical tags are more
// than "a small amount".
const tagsHeavyShare = 0.10

func clinicalRows(c ColumnReport) int {
	n := 0
	for _, g := range []string{GroupCondition, GroupMedication, GroupAllergy} {
		n = max(n, c.Mentions[g])
	}
	return n
}

func anyMentions(c ColumnReport) bool {
	for _, v := range c.Mentions {
		if v > 0 {
			return true
		}
	}
	return false
}

// decide fills HoldsPHI, Recommendation, MarketingMayKeep and Advice.
func decide(rep *FileReport) {
	var ids, others, clinical, financial, notesMention, notesQuiet, tagsMention, tagsHeavy []string
	var hasConsent bool
	rep.MarketingMayKeep = []string{}
	for _, c := range rep.Columns {
		if c.Category == CategoryNone && c.Kind == KindMarketing {
			hasConsent = true
			rep.MarketingMayKeep = append(rep.MarketingMayKeep, c.Header)
		}
		if c.Filled == 0 {
			continue
		}
		switch c.Category {
		case CategoryIdentifier:
			ids = append(ids, c.Header)
			if (c.Kind == KindName && !isRelativeName(normalizeHeader(c.Header))) || c.Kind == KindEmail {
				rep.MarketingMayKeep = append(rep.MarketingMayKeep, c.Header)
			} else {
				others = append(others, c.Header)
			}
		case CategoryClinical:
			clinical = append(clinical, c.Header)
		case CategoryFinancial:
			financial = append(financial, c.Header)
		case CategoryFreeText:
			if anyMentions(c) {
				notesMention = append(notesMention, c.Header)
			} else {
				notesQuiet = append(notesQuiet, c.Header)
			}
		case CategoryTags:
			if anyMentions(c) {
				tagsMention = append(tagsMention, c.Header)
			}
			if rep.Rows > 0 && float64(clinicalRows(c)) > tagsHeavyShare*float64(rep.Rows) {
				tagsHeavy = append(tagsHeavy, c.Header)
			}
		}
	}
	// Keep the header order for the marketing list.
	slices.SortStableFunc(rep.MarketingMayKeep, func(a, b string) int {
		return indexOf(rep.Columns, a) - indexOf(rep.Columns, b)
	})

	health := len(clinical)+len(financial)+len(notesMention)+len(tagsMention) > 0
	rep.HoldsPHI = len(ids) > 0 || health
	switch {
	case len(clinical) > 0 || len(notesMention) > 0 || len(tagsHeavy) > 0:
		rep.Recommendation = RecommendMigrate
	case len(ids) > 0 && (len(tagsMention) > 0 || len(financial) > 0 || len(notesQuiet) > 0):
		rep.Recommendation = RecommendStrip
	case len(others) > 0:
		rep.Recommendation = RecommendSplit
	default:
		rep.Recommendation = RecommendKeep
	}

	var advice []string
	say := func(format string, args ...any) { advice = append(advice, fmt.Sprintf(format, args...)) }
	if len(ids) > 0 {
		say("It identifies patients by %s.", join(ids))
	} else {
		say("No column identifies a patient.")
	}
	for _, c := range rep.Columns {
		if !scansText(c.Category) || c.Filled == 0 {
			continue
		}
		what := map[Category]string{CategoryFreeText: "is free text", CategoryTags: "holds tags", CategoryClinical: "is clinical data"}[c.Category]
		if m := mentionsSentence(c.Mentions); m != "" {
			say("%s %s, and mentions %s.", c.Header, what, m)
		} else if c.Category == CategoryClinical {
			say("%s %s (%s).", c.Header, what, strings.ReplaceAll(c.Kind, "_", " "))
		} else {
			say("%s %s; no clinical words were found, but staff may add some at any time.", c.Header, what)
		}
	}
	if len(financial) > 0 {
		say("%s %s billing or insurance details, which are PHI next to a name.", join(financial), verb(len(financial), "is", "are"))
	}
	switch rep.Recommendation {
	case RecommendMigrate:
		say("Identifiers together with health information are PHI, and a cloud CRM or marketing tool may hold them only under a business associate agreement (BAA) with the practice.")
		say("Move it all to Carebook: bring it over with carebook migrate (it keeps the notes and lists every merged duplicate), then delete these records from the cloud CRM.")
	case RecommendStrip:
		var strip []string
		for _, list := range [][]string{others, tagsMention, financial, notesQuiet} {
			strip = append(strip, list...)
		}
		say("Keep these patients in Carebook and delete %s from the cloud CRM.", join(strip))
	case RecommendSplit:
		say("A practice's list of its patients is PHI even without clinical data: %s serve appointments and care, not marketing.", join(others))
		say("Keep the full contact details in Carebook and give the marketing tool only the columns it may keep.")
	case RecommendKeep:
		say("Nothing here goes beyond what a marketing tool may hold.")
	}
	if len(rep.MarketingMayKeep) > 0 && rep.HoldsPHI {
		say("A marketing tool may keep %s: carebook export patients --profile marketing writes that list for patients who opted in.", join(rep.MarketingMayKeep))
	}
	if !hasConsent && len(ids) > 0 {
		say("No opt-in column was found: send marketing only to patients who agreed to it.")
	}
	if rep.Rows > rep.SampledRows {
		say("Columns were classified from the first %d rows; mentions were counted in all %d.", rep.SampledRows, rep.Rows)
	}
	rep.Advice = advice
}

func indexOf(cols []ColumnReport, header string) int {
	for i, c := range cols {
		if c.Header == header {
			return i
		}
	}
	return len(cols)
}

// MentionsText renders mention counts as "medication 37 rows, allergy 12
// rows", in lexicon group order, leaving out zeros.
func MentionsText(m map[string]int) string {
	var parts []string
	for _, g := range Groups {
		switch n := m[g]; n {
		case 0:
		case 1:
			parts = append(parts, strings.ReplaceAll(g, "_", " ")+" 1 row")
		default:
			parts = append(parts, fmt.Sprintf("%s %d rows", strings.ReplaceAll(g, "_", " "), n))
		}
	}
	return strings.Join(parts, ", ")
}

// groupPlurals name the groups in sentences.
var groupPlurals = map[string]string{
	GroupCondition:  "conditions",
	GroupMedication: "medications",
	GroupAllergy:    "allergies",
	GroupVisitType:  "visit types",
}

// mentionsSentence renders mention counts as "medications in 37 rows and
// allergies in 12 rows".
func mentionsSentence(m map[string]int) string {
	var parts []string
	for _, g := range Groups {
		if n := m[g]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s in %s", groupPlurals[g], plural(n, "row", "rows")))
		}
	}
	return join(parts)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func join(headers []string) string {
	switch len(headers) {
	case 0:
		return ""
	case 1:
		return headers[0]
	}
	return strings.Join(headers[:len(headers)-1], ", ") + " and " + headers[len(headers)-1]
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
