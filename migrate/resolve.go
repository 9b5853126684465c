package migrate

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carebook/carebook/importer"
	"github.com/carebook/carebook/store"
)

// RowRef names one data row: the file and the row as a spreadsheet numbers
// it (the header is row 1).
type RowRef struct {
	File string `json:"file"`
	Row  int    `json:"row"`
}

func (r RowRef) String() string { return fmt.Sprintf("%s row %d", r.File, r.Row) }

// Keys two rows can match on.
const (
	KeyMRN      = "mrn"       // the same MRN
	KeyRecordID = "record_id" // the same CRM record id
	KeyEmail    = "email"     // the same email, ignoring case and spaces
	KeyPhoneDOB = "phone+dob" // the same phone digits and date of birth
)

// Merge says that Row is the same person as With, found by Key, and went
// into the patient first seen at Into.
type Merge struct {
	Row  RowRef `json:"row"`
	With RowRef `json:"with"`
	Into RowRef `json:"into"`
	Key  string `json:"key"`
}

// NotMerged is two rows that matched on Key but were kept as separate
// patients, because merging them would give one patient two different
// dates of birth (as a parent and a child sharing an email address). Rows
// holds the two rows, earlier first; Reason names no value.
type NotMerged struct {
	Rows   []RowRef `json:"rows"`
	Key    string   `json:"key"`
	Reason string   `json:"reason"`
}

// Conflict is a field on which merged rows disagree: the value of Kept was
// kept, the rows in Others had another one.
type Conflict struct {
	Field  string   `json:"field"`
	Kept   RowRef   `json:"kept"`
	Others []RowRef `json:"others"`
}

// RowError is one bad cell or row. Message names the column, never the value.
type RowError struct {
	RowRef
	Message string `json:"message"`
}

func (e RowError) Error() string { return e.RowRef.String() + ": " + e.Message }

// BadRowsError stops a migration: nothing is written until every row reads.
type BadRowsError struct{ Bad []RowError }

func (e *BadRowsError) Error() string {
	return fmt.Sprintf("%s; nothing was imported: fix the file, or map the column to skip with --map", plural(len(e.Bad), "bad value", "bad values"))
}

// IDRule says how many patients got their MRN which way.
type IDRule struct {
	Rule     string `json:"rule"` // mrn, record_id, email, phone, row
	Patients int    `json:"patients"`
	How      string `json:"how"` // for people, as "HS-<Record ID>"
}

// Patient is one patient to write, with the notes to keep.
type Patient struct {
	store.Patient
	Rows  []RowRef
	Notes []Note
	// has lists the fields some row gave a value for.
	has map[string]bool
}

// Note is one note cell, kept as an interaction. Its text is PHI: Note
// prints without it.
type Note struct {
	Row  RowRef
	Text string
}

func (n Note) String() string   { return fmt.Sprintf("note in %s (%d characters)", n.Row, len(n.Text)) }
func (n Note) GoString() string { return n.String() }

// Resolution is the migration worked out and checked, ready to write.
type Resolution struct {
	Files         []string
	FileSummaries []FileSummary
	Rows          int
	Patients      []*Patient
	Merges        []Merge
	NotMerged     []NotMerged
	Conflicts     []Conflict
	IDRules       []IDRule
	Notes         int // notes to keep, after identical notes of one patient are kept once
	// RepeatedNotes counts notes identical to another note of the same
	// patient (merged rows), kept once.
	RepeatedNotes int
	// YearlessBirthdays counts rows with a birthday but no year, which
	// Carebook cannot keep as a date of birth.
	YearlessBirthdays int
	Skipped           []SkippedColumn

	// afterPatients, when set, runs in Write's transaction after the
	// patients are written and before the notes; tests use it to fail half
	// way.
	afterPatients func() error
}

// row is one data row read and checked.
type row struct {
	ref      RowRef
	mrn      string // own MRN, given or derived
	rule     string
	explicit bool // the MRN came from an MRN column
	vals     map[string]string
	dob      time.Time
	consent  bool
	status   store.Status
	tags     []string
	notes    []string
	yearless bool
}

// scalarFields are merged by "first non-empty value wins".
var scalarFields = []string{FieldFirstName, FieldLastName, FieldDOB, FieldSex, FieldEmail, FieldPhone,
	FieldCity, FieldLanguage, FieldMarketingConsent, FieldStatus}

// Resolve reads every row with the plan's mapping, checks each value, and
// merges rows that are the same person. now is today, for dates of birth.
// Bad values make it return a *BadRowsError listing them all.
func (p *Plan) Resolve(now time.Time) (*Resolution, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	res := &Resolution{Skipped: p.Skipped()}
	var rows []*row
	var bad []RowError
	for _, f := range p.Files {
		res.Files = append(res.Files, f.Name)
		res.FileSummaries = append(res.FileSummaries, FileSummary{File: f.Name, Vendor: f.Vendor, Rows: f.Rows})
		res.Rows += f.Rows
		cols := map[string][]int{}
		for _, field := range Fields {
			cols[field] = f.columnsFor(field)
		}
		for i, rec := range f.records {
			r, problems := readRow(f, cols, rec, RowRef{File: f.Name, Row: f.rowNums[i]}, today)
			for _, m := range problems {
				bad = append(bad, RowError{RowRef: r.ref, Message: m})
			}
			if len(problems) == 0 {
				rows = append(rows, r)
			}
		}
	}
	if len(bad) > 0 {
		return res, &BadRowsError{Bad: bad}
	}
	if res.Rows == 0 {
		return res, errors.New("the files hold no data rows; nothing to migrate")
	}
	res.merge(rows)
	return res, nil
}

// check refuses a mapping that cannot identify anyone.
func (p *Plan) check() error {
	for _, f := range p.Files {
		ok := false
		for _, c := range f.Columns {
			switch c.Field {
			case FieldMRN, FieldRecordID, FieldEmail, FieldPhone, FieldFirstName, FieldLastName:
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("%s: no column is mapped to mrn, record_id, email, phone or a name, so nothing identifies a patient", f.Name)
		}
	}
	return nil
}

// readRow checks one record. Problems name the column, never the value.
func readRow(f *File, cols map[string][]int, rec []string, ref RowRef, today time.Time) (*row, []string) {
	r := &row{ref: ref, vals: map[string]string{}}
	var problems []string
	fail := func(col int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%q ", f.Columns[col].Header)+fmt.Sprintf(format, args...))
	}
	// get returns the first non-empty cell of the field's columns.
	get := func(field string) (string, int) {
		for _, i := range cols[field] {
			v := strings.TrimSpace(rec[i])
			if field == FieldCity && importer.HeaderKey(f.Columns[i].Header) == "address" {
				v = cityFromAddress(v)
			}
			if v != "" {
				return v, i
			}
		}
		return "", -1
	}

	for i, c := range f.Columns {
		if c.Field == "" {
			continue
		}
		if err := importer.CheckValue(c.Field, rec[i]); err != nil {
			fail(i, "%v", err)
		}
	}
	if len(problems) > 0 {
		// A value beyond the limits is not parsed further: it may be
		// megabytes long.
		return r, problems
	}

	if v, _ := get(FieldFirstName); v != "" {
		r.vals[FieldFirstName] = v
	}
	if v, _ := get(FieldLastName); v != "" {
		r.vals[FieldLastName] = v
	}
	if v, col := get(FieldDOB); v != "" {
		dob, yearless, ok := importer.ParseDateOfBirth(v)
		switch {
		case !ok:
			fail(col, "is not a date (expected MM/DD/YYYY or YYYY-MM-DD)")
		case yearless:
			r.yearless = true
		default:
			if err := store.CheckBirth(dob, today); err != nil {
				fail(col, "%v", err)
				break
			}
			r.dob = dob
			r.vals[FieldDOB] = dob.Format(time.DateOnly)
		}
	}
	if v, _ := get(FieldSex); v != "" {
		if s := importer.NormalizeSex(v); s != "" {
			r.vals[FieldSex] = s
		}
	}
	if v, col := get(FieldEmail); v != "" {
		if e, ok := importer.NormalizeEmail(strings.TrimSpace(v)); ok {
			r.vals[FieldEmail] = e
		} else {
			fail(col, "is not an email address (expected name@domain)")
		}
	}
	if v, col := get(FieldPhone); v != "" {
		if d, ok := importer.NormalizePhone(v); ok {
			r.vals[FieldPhone] = d
		} else {
			fail(col, "is not a phone number (expected 7 to 15 digits, like (555) 123-4567)")
		}
	}
	if v, _ := get(FieldCity); v != "" {
		r.vals[FieldCity] = v
	}
	if v, _ := get(FieldLanguage); v != "" {
		r.vals[FieldLanguage] = importer.NormalizeLanguage(v)
	}
	if v, col := get(FieldMarketingConsent); v != "" {
		if c, ok := parseConsent(f.Columns[col].Header, v); ok {
			r.consent = c
			r.vals[FieldMarketingConsent] = yesNo(c)
		} else {
			fail(col, "is not a yes/no value (expected yes, no, opted in, subscribed, unsubscribed, a date, …)")
		}
	} else if f.AllOptedIn && len(cols[FieldMarketingConsent]) > 0 {
		r.consent = true
		r.vals[FieldMarketingConsent] = yesNo(true)
	}
	if v, col := get(FieldStatus); v != "" {
		if s, ok := importer.ParseStatus(v); ok {
			r.status = s
			r.vals[FieldStatus] = string(s)
		} else {
			fail(col, "is not a patient status (expected active, inactive, deceased or a lifecycle stage)")
		}
	}
	for _, i := range cols[FieldTags] {
		for _, t := range importer.NormalizeTags(strings.TrimSpace(rec[i])) {
			if !slices.Contains(r.tags, t) {
				r.tags = append(r.tags, t)
			}
		}
	}
	for _, i := range cols[FieldNotes] {
		if v := strings.TrimSpace(rec[i]); v != "" {
			r.notes = append(r.notes, v)
		}
	}

	// The row's own MRN: its MRN; else the CRM's record id; else a hash of
	// the email; else of the phone (and date of birth); else of its place
	// in the file.
	mrn, mrnCol := get(FieldMRN)
	recID, _ := get(FieldRecordID)
	switch {
	case mrn != "":
		r.mrn, r.rule, r.explicit = mrn, "mrn", true
		if strings.ContainsAny(mrn, "\t\n\r") {
			fail(mrnCol, "holds a tab or a line break")
		}
	case recID != "":
		r.mrn, r.rule = f.Vendor.idPrefix()+recID, "record_id:"+string(f.Vendor)
	case r.vals[FieldEmail] != "":
		r.mrn, r.rule = importer.EmailMRN(r.vals[FieldEmail]), "email"
	case r.vals[FieldPhone] != "":
		r.mrn, r.rule = importer.StableID("P-", r.vals[FieldPhone], r.vals[FieldDOB]), "phone"
	case r.vals[FieldFirstName] != "" || r.vals[FieldLastName] != "":
		r.mrn, r.rule = importer.StableID("R-", f.Name, strconv.Itoa(ref.Row)), "row"
	default:
		problems = append(problems, "has no MRN, record id, email, phone or name to identify the patient")
	}
	return r, problems
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// merge groups rows that are the same person and builds one patient each.
//
// It merges in two passes. The first joins rows with the same own MRN: the
// same MRN or record id is one record of the CRM, and must be one patient
// (a derived phone or row MRN implies the same phone and date of birth, or
// the same row). The second joins rows with the same email or the same
// phone and date of birth, but never makes a merge that would put two
// different dates of birth into one patient: families often share an email
// address. Such rows stay apart and are listed in NotMerged.
func (res *Resolution) merge(rows []*row) {
	parent := make([]int, len(rows))
	dobs := make([][]string, len(rows)) // the distinct dates of birth of each root's group
	for i, r := range rows {
		parent[i] = i
		if d := r.vals[FieldDOB]; d != "" {
			dobs[i] = []string{d}
		}
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	// apart reports whether joining the groups of roots a and b would put
	// two different dates of birth into one patient.
	apart := func(a, b int) bool {
		da, db := dobs[a], dobs[b]
		return len(da) > 0 && len(db) > 0 && !(len(da) == 1 && len(db) == 1 && da[0] == db[0])
	}
	type edge struct {
		row, with int
		key       string
	}
	var edges []edge
	// union joins the groups of rows i and j, the earlier root absorbing the
	// later one, unless they are one group already.
	union := func(i, j int, key string) {
		a, b := find(i), find(j)
		if a == b {
			return
		}
		if b < a {
			a, b = b, a
		}
		parent[b] = a
		for _, d := range dobs[b] {
			if !slices.Contains(dobs[a], d) {
				dobs[a] = append(dobs[a], d)
			}
		}
		dobs[b] = nil
		// The later row of the two is the one merged.
		if i < j {
			i, j = j, i
		}
		edges = append(edges, edge{i, j, key})
	}
	holders := map[string][]int{} // key to the rows that have it, in the order seen

	// Pass 1: own MRNs that are an identity.
	for i, r := range rows {
		if r.rule == "email" {
			continue
		}
		k := "mrn:" + strings.ToUpper(r.mrn)
		for _, j := range holders[k] {
			union(i, j, ownKey(r))
		}
		holders[k] = append(holders[k], i)
	}
	// Pass 2: email, and phone with date of birth. Row i joins every group
	// holding the key that it can join without mixing dates of birth.
	var guarded []string // the email and phone+dob keys, in the order seen
	keyName := map[string]string{}
	for i, r := range rows {
		var keys [][2]string
		if r.rule == "email" {
			keys = append(keys, [2]string{KeyEmail, "mrn:" + strings.ToUpper(r.mrn)})
		}
		if e := r.vals[FieldEmail]; e != "" {
			keys = append(keys, [2]string{KeyEmail, "email:" + e})
		}
		if ph, dob := r.vals[FieldPhone], r.vals[FieldDOB]; ph != "" && dob != "" {
			keys = append(keys, [2]string{KeyPhoneDOB, "phone+dob:" + ph + "|" + dob})
		}
		for _, k := range keys {
			for _, j := range holders[k[1]] {
				if a, b := find(i), find(j); a != b && !apart(a, b) {
					union(i, j, k[0])
				}
			}
			if _, ok := keyName[k[1]]; !ok && !strings.HasPrefix(k[1], "mrn:") {
				guarded = append(guarded, k[1])
				keyName[k[1]] = k[0]
			}
			holders[k[1]] = append(holders[k[1]], i)
		}
	}

	groups := map[int][]int{}
	var roots []int
	for i := range rows {
		root := find(i)
		if _, ok := groups[root]; !ok {
			roots = append(roots, root)
		}
		groups[root] = append(groups[root], i)
	}
	for _, e := range edges {
		into := groups[find(e.row)][0]
		res.Merges = append(res.Merges, Merge{Row: rows[e.row].ref, With: rows[e.with].ref, Into: rows[into].ref, Key: e.key})
	}
	slices.SortStableFunc(res.Merges, func(a, b Merge) int { return compareRefs(res.Files, a.Row, b.Row) })

	// A key still held by more than one group was a merge refused. List
	// each later group against the first, by a row of each that has the
	// key, preferring rows that have a date of birth themselves.
	split := map[string]bool{} // emails held by more than one patient
	for _, k := range guarded {
		var order []int
		rep := map[int]int{}
		for _, i := range holders[k] {
			root := find(i)
			j, ok := rep[root]
			if !ok {
				order = append(order, root)
				rep[root] = i
			} else if rows[j].vals[FieldDOB] == "" && rows[i].vals[FieldDOB] != "" {
				rep[root] = i
			}
		}
		if len(order) < 2 {
			continue
		}
		if e, ok := strings.CutPrefix(k, "email:"); ok {
			split[e] = true
		}
		first := rows[rep[order[0]]]
		for _, root := range order[1:] {
			r := rows[rep[root]]
			a, b := first.vals[FieldDOB], r.vals[FieldDOB]
			direct := a != "" && b != "" && a != b
			res.NotMerged = append(res.NotMerged, NotMerged{Rows: []RowRef{first.ref, r.ref}, Key: keyName[k], Reason: notMergedReason(keyName[k], direct)})
		}
	}
	slices.SortStableFunc(res.NotMerged, func(a, b NotMerged) int {
		if c := compareRefs(res.Files, a.Rows[0], b.Rows[0]); c != 0 {
			return c
		}
		return compareRefs(res.Files, a.Rows[1], b.Rows[1])
	})

	rules := map[string]int{}
	var ruleOrder []string
	derived := map[*Patient]bool{}
	for _, root := range roots {
		members := groups[root]
		p, rule := res.build(rows, members)
		// Patients apart on one email would share the MRN derived from it:
		// each derives it from the email and its date of birth instead,
		// whatever the order of the rows.
		if e := rows[members[0]].vals[FieldEmail]; rule == "email" && split[e] && !p.DOB.IsZero() {
			p.MRN, rule = importer.StableID("E-", e, p.DOB.Format(time.DateOnly)), "email+dob"
		}
		derived[p] = rule == "email" || rule == "email+dob" || rule == "phone" || rule == "row"
		res.Patients = append(res.Patients, p)
		if _, ok := rules[rule]; !ok {
			ruleOrder = append(ruleOrder, rule)
		}
		rules[rule]++
	}
	// A last resort: no two patients may share an MRN, as they could when
	// rows whose dates of birth already disagree (one record id) meet
	// another group on the same email. A derived MRN taken already gets
	// the patient's first row hashed in.
	taken := map[string]bool{}
	for _, p := range res.Patients {
		if !derived[p] {
			taken[strings.ToUpper(p.MRN)] = true
		}
	}
	for _, p := range res.Patients {
		if !derived[p] {
			continue
		}
		if taken[strings.ToUpper(p.MRN)] {
			prefix, _, _ := strings.Cut(p.MRN, "-")
			p.MRN = importer.StableID(prefix+"-", p.MRN, p.Rows[0].String())
		}
		taken[strings.ToUpper(p.MRN)] = true
	}
	for _, rule := range ruleOrder {
		res.IDRules = append(res.IDRules, IDRule{Rule: ruleName(rule), Patients: rules[rule], How: ruleHow(rule)})
	}
	for _, r := range rows {
		if r.yearless {
			res.YearlessBirthdays++
		}
	}
}

// notMergedReason says why two rows that matched on key were kept apart.
// direct is when the two rows themselves have different dates of birth;
// otherwise rows already merged with them do.
func notMergedReason(key string, direct bool) string {
	what := key
	if key == KeyPhoneDOB {
		what = "phone and date of birth"
	}
	if direct {
		return "same " + what + ", different dates of birth"
	}
	return "same " + what + ", but rows merged with them have different dates of birth"
}

// ownKey labels a match on two rows' own MRNs by where the MRN came from.
func ownKey(r *row) string {
	switch {
	case r.rule == "mrn":
		return KeyMRN
	case strings.HasPrefix(r.rule, "record_id"):
		return KeyRecordID
	case r.rule == "email":
		return KeyEmail
	case r.rule == "phone":
		return "phone"
	}
	return "row"
}

func compareRefs(files []string, a, b RowRef) int {
	if a.File != b.File {
		return slices.Index(files, a.File) - slices.Index(files, b.File)
	}
	return a.Row - b.Row
}

func ruleName(rule string) string {
	name, _, _ := strings.Cut(rule, ":")
	return name
}

func ruleHow(rule string) string {
	switch rule {
	case "mrn":
		return "the file's MRN"
	case "email":
		return "E-<hash of the email>"
	case "email+dob":
		return "E-<hash of the email and date of birth>"
	case "phone":
		return "P-<hash of the phone and date of birth>"
	case "row":
		return "R-<hash of the file and row>"
	}
	if v, ok := strings.CutPrefix(rule, "record_id:"); ok {
		vendor := Vendor(v)
		return fmt.Sprintf("%s<%s record id>", vendor.idPrefix(), vendor.Name())
	}
	return rule
}

// build makes one patient of rows[members] (in row order): the first
// non-empty value of each field wins, and disagreements are listed.
func (res *Resolution) build(rows []*row, members []int) (*Patient, string) {
	p := &Patient{has: map[string]bool{}}
	lead := rows[members[0]]
	p.MRN, p.Status = lead.mrn, store.StatusActive
	rule := lead.rule
	// A given MRN beats a derived one.
	for _, m := range members {
		if rows[m].explicit {
			p.MRN, rule = rows[m].mrn, rows[m].rule
			break
		}
	}
	// Two different MRNs given for one person is a conflict too.
	var mrnKept *row
	var mrnOthers []RowRef
	for _, m := range members {
		r := rows[m]
		p.Rows = append(p.Rows, r.ref)
		if !r.explicit {
			continue
		}
		if mrnKept == nil {
			mrnKept = r
		} else if !strings.EqualFold(r.mrn, mrnKept.mrn) {
			mrnOthers = append(mrnOthers, r.ref)
		}
	}
	if len(mrnOthers) > 0 {
		res.Conflicts = append(res.Conflicts, Conflict{Field: FieldMRN, Kept: mrnKept.ref, Others: mrnOthers})
	}

	for _, field := range scalarFields {
		var kept *row
		var others []RowRef
		for _, m := range members {
			r := rows[m]
			v := r.vals[field]
			if v == "" {
				continue
			}
			if kept == nil {
				kept = r
				continue
			}
			if !sameValue(field, kept.vals[field], v) {
				others = append(others, r.ref)
			}
		}
		if kept == nil {
			continue
		}
		p.has[field] = true
		if len(others) > 0 {
			res.Conflicts = append(res.Conflicts, Conflict{Field: field, Kept: kept.ref, Others: others})
		}
		v := kept.vals[field]
		switch field {
		case FieldFirstName:
			p.FirstName = v
		case FieldLastName:
			p.LastName = v
		case FieldDOB:
			p.DOB = kept.dob
		case FieldSex:
			p.Sex = v
		case FieldEmail:
			p.Email = v
		case FieldPhone:
			p.Phone = v
		case FieldCity:
			p.City = v
		case FieldLanguage:
			p.Language = v
		case FieldMarketingConsent:
			p.MarketingConsent = kept.consent
		case FieldStatus:
			p.Status = kept.status
		}
	}
	for _, m := range members {
		r := rows[m]
		for _, t := range r.tags {
			if !slices.Contains(p.Tags, t) {
				p.Tags = append(p.Tags, t)
			}
		}
		for _, text := range r.notes {
			if slices.ContainsFunc(p.Notes, func(n Note) bool { return n.Text == text }) {
				res.RepeatedNotes++
				continue
			}
			p.Notes = append(p.Notes, Note{Row: r.ref, Text: text})
			res.Notes++
		}
	}
	return p, rule
}

// sameValue compares two normalised values; names and cities ignore case.
func sameValue(field, a, b string) bool {
	switch field {
	case FieldFirstName, FieldLastName, FieldCity, FieldLanguage:
		return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
	}
	return a == b
}

// Merged is how many rows went into a patient first seen in another row.
func (res *Resolution) Merged() int { return res.Rows - len(res.Patients) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
