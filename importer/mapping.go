package importer

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"
)

// field is a target an import column can fill.
type field string

const (
	fieldIgnore field = "ignore"

	// Patients.
	fieldMRN              field = "mrn"
	fieldHubSpotID        field = "hubspot_id"   // becomes the MRN HS-<id> when there is no MRN
	fieldMailchimpID      field = "mailchimp_id" // becomes the MRN MC-<id> when there is no MRN
	fieldFirstName        field = "first_name"
	fieldLastName         field = "last_name"
	fieldDOB              field = "dob"
	fieldSex              field = "sex"
	fieldEmail            field = "email"
	fieldPhone            field = "phone"
	fieldCity             field = "city"
	fieldLanguage         field = "language"
	fieldMarketingConsent field = "marketing_consent"
	fieldConsentDate      field = "consent_date" // when the consent was given or withdrawn
	fieldStatus           field = "status"
	fieldTags             field = "tags"
	fieldNotes            field = "notes"

	// Appointments and interactions.
	fieldExternalID field = "external_id"
	fieldStartsAt   field = "starts_at"
	fieldType       field = "type"
	fieldProvider   field = "provider"
	fieldAt         field = "at"
	fieldChannel    field = "channel"
	fieldDirection  field = "direction"
	fieldStaff      field = "staff"
	fieldSummary    field = "summary"
)

// fieldSpec is one target field and the headers that fill it automatically,
// as headerKey spells them. When several columns fill one field, the one
// whose alias comes first wins, row by row, unless its cell is empty: so a
// HubSpot "Phone Number" beats "Mobile Phone Number" but does not blank it.
type fieldSpec struct {
	field   field
	aliases []string
}

var mrnAliases = []string{"patientidmrn", "mrn", "patientmrn", "medicalrecordnumber", "medicalrecordno", "patientid", "chartnumber", "chartno"}

var specs = map[Kind][]fieldSpec{
	KindPatients: {
		{fieldMRN, mrnAliases},
		{fieldHubSpotID, []string{"recordid", "contactid", "hubspotid", "hsobjectid"}},
		{fieldMailchimpID, []string{"leid", "euid"}},
		{fieldFirstName, []string{"firstname", "first", "givenname", "fname"}},
		{fieldLastName, []string{"lastname", "last", "surname", "familyname", "lname"}},
		{fieldDOB, []string{"dateofbirth", "dob", "birthdate", "birthday"}},
		{fieldSex, []string{"sex", "gender", "sexatbirth"}},
		{fieldEmail, []string{"email", "emailaddress", "emailaddr", "primaryemail"}},
		{fieldPhone, []string{"phonenumber", "phone", "primaryphone", "mobilephonenumber", "mobilephone", "mobile", "cellphone", "cell", "homephone", "telephone"}},
		{fieldCity, []string{"city", "town"}},
		{fieldLanguage, []string{"preferredlanguage", "language", "primarylanguage", "lang"}},
		{fieldMarketingConsent, []string{"marketingoptin", "marketingconsent", "marketingcontactstatus", "emailoptin", "optin", "consent"}},
		{fieldConsentDate, []string{"consentdate", "marketingconsentdate", "marketingoptindate", "optindate", "consentchangedat", "consentchanged"}},
		{fieldStatus, []string{"status", "patientstatus", "lifecyclestage"}},
		{fieldTags, []string{"tags", "tag", "labels"}},
		{fieldNotes, []string{"notes", "note", "comments"}},
	},
	KindAppointments: {
		{fieldExternalID, []string{"appointmentid", "externalid", "bookingid", "id"}},
		{fieldMRN, mrnAliases},
		{fieldStartsAt, []string{"start", "startsat", "starttime", "startdatetime", "appointmenttime", "appointmentdatetime", "appointmentdate", "datetime", "when", "date"}},
		{fieldType, []string{"type", "appointmenttype", "visittype", "service"}},
		{fieldProvider, []string{"provider", "providername", "doctor", "clinician", "practitioner"}},
		{fieldStatus, []string{"status", "appointmentstatus"}},
	},
	KindInteractions: {
		{fieldExternalID, []string{"interactionid", "externalid", "activityid", "engagementid", "id"}},
		{fieldMRN, mrnAliases},
		{fieldAt, []string{"when", "at", "datetime", "timestamp", "occurredat", "activitydate", "date"}},
		{fieldChannel, []string{"channel", "medium", "activitytype", "type"}},
		{fieldDirection, []string{"direction", "inout"}},
		{fieldStaff, []string{"staff", "staffmember", "loggedby", "user", "owner"}},
		{fieldSummary, []string{"summary", "description", "subject", "details", "body"}},
	},
}

// required lists, per kind, the groups of fields a file must have a column
// for: at least one field of each group.
var required = map[Kind][][]field{
	KindPatients: {
		{fieldMRN, fieldHubSpotID, fieldMailchimpID, fieldEmail},
		{fieldFirstName, fieldLastName},
	},
	KindAppointments: {{fieldMRN}, {fieldStartsAt}},
	KindInteractions: {{fieldMRN}, {fieldAt}, {fieldChannel}, {fieldDirection}},
}

// exampleHeader is what to tell people to look for when a column is missing.
var exampleHeader = map[field]string{
	fieldMRN:         `"Patient ID (MRN)"`,
	fieldHubSpotID:   `"Record ID"`,
	fieldMailchimpID: `"LEID"`,
	fieldEmail:       `"Email"`,
	fieldFirstName:   `"First Name"`,
	fieldLastName:    `"Last Name"`,
	fieldStartsAt:    `"Start"`,
	fieldAt:          `"When"`,
	fieldChannel:     `"Channel"`,
	fieldDirection:   `"Direction"`,
}

type alias struct {
	field field
	rank  int
}

// aliasIndex maps a header key to its field, per kind.
var aliasIndex = func() map[Kind]map[string]alias {
	out := make(map[Kind]map[string]alias, len(specs))
	for k, fs := range specs {
		m := make(map[string]alias)
		for _, s := range fs {
			for rank, a := range s.aliases {
				if _, dup := m[a]; dup {
					panic("importer: header alias " + a + " is listed twice for " + string(k))
				}
				m[a] = alias{s.field, rank}
			}
		}
		out[k] = m
	}
	return out
}()

// Fields lists the target fields of kind, in display order, as --map accepts
// them. "ignore" is accepted too.
func Fields(kind Kind) []string {
	out := make([]string, 0, len(specs[kind]))
	for _, s := range specs[kind] {
		out = append(out, string(s.field))
	}
	return out
}

func validField(kind Kind, f field) bool {
	if f == fieldIgnore {
		return true
	}
	for _, s := range specs[kind] {
		if s.field == f {
			return true
		}
	}
	return false
}

// ColumnMapping says which field one column of the file fills.
type ColumnMapping struct {
	Header  string // as the file spells it, trimmed
	Field   string // "" when the column is ignored
	FromMap bool   // set by Options.Map rather than recognised
}

// columns is the mapping in the form rows are read with.
type columns struct {
	headers []string
	byField map[field][]int // column indexes, best first
	fieldOf []field         // per column; "" when it is ignored
}

func (c *columns) has(f field) bool { return len(c.byField[f]) > 0 }

// header names the column that fills f, for messages.
func (c *columns) header(f field) string {
	if idx := c.byField[f]; len(idx) > 0 {
		return c.headers[idx[0]]
	}
	return string(f)
}

// cleanHeader trims spaces and a byte order mark.
func cleanHeader(h string) string {
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(h), "\ufeff"))
}

// headerKey is how headers are compared: lower case, letters and digits
// only, so "Patient ID (MRN)", "patient_id_mrn" and "PATIENT-ID-MRN" agree.
func headerKey(h string) string {
	var b strings.Builder
	b.Grow(len(h))
	for _, r := range cleanHeader(h) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// mapColumns decides which field each header fills: Options.Map first, then
// the known aliases. It fails on a --map entry that names an unknown field or
// a header the file does not have, and on a file that lacks a required column.
func mapColumns(kind Kind, headers []string, overrides map[string]string) (*columns, []ColumnMapping, error) {
	cols := &columns{headers: make([]string, len(headers)), byField: make(map[field][]int), fieldOf: make([]field, len(headers))}
	for i, h := range headers {
		cols.headers[i] = cleanHeader(h)
	}
	forced, err := applyOverrides(kind, cols.headers, overrides)
	if err != nil {
		return nil, nil, err
	}

	type pick struct{ col, rank int }
	picks := make(map[field][]pick)
	mapping := make([]ColumnMapping, len(headers))
	for i, h := range cols.headers {
		mapping[i] = ColumnMapping{Header: h}
		f, rank := fieldIgnore, 0
		if o, ok := forced[i]; ok {
			f, rank = o, -1
			mapping[i].FromMap = true
		} else if a, ok := aliasIndex[kind][headerKey(h)]; ok {
			f, rank = a.field, a.rank
		}
		if f == fieldIgnore {
			continue
		}
		mapping[i].Field = string(f)
		cols.fieldOf[i] = f
		picks[f] = append(picks[f], pick{i, rank})
	}
	for f, ps := range picks {
		sort.SliceStable(ps, func(a, b int) bool { return ps[a].rank < ps[b].rank })
		idx := make([]int, len(ps))
		for j, p := range ps {
			idx[j] = p.col
		}
		cols.byField[f] = idx
	}
	if err := checkRequired(kind, cols); err != nil {
		return nil, mapping, err
	}
	return cols, mapping, nil
}

// applyOverrides resolves Options.Map to column indexes.
func applyOverrides(kind Kind, headers []string, overrides map[string]string) (map[int]field, error) {
	keys := make([]string, 0, len(overrides))
	for h := range overrides {
		keys = append(keys, h)
	}
	sort.Strings(keys)
	forced := make(map[int]field, len(overrides))
	for _, h := range keys {
		f := field(strings.ToLower(strings.TrimSpace(overrides[h])))
		if !validField(kind, f) {
			return nil, fmt.Errorf("--map %s=%s: %q is not a %s field; valid fields are %s, ignore",
				h, overrides[h], overrides[h], kind, strings.Join(Fields(kind), ", "))
		}
		matched := matchHeader(headers, h)
		if len(matched) == 0 {
			return nil, fmt.Errorf("--map %s=%s: the file has no column %q; its columns are %s",
				h, overrides[h], cleanHeader(h), quoteAll(headers))
		}
		for _, i := range matched {
			if prev, ok := forced[i]; ok && prev != f {
				return nil, fmt.Errorf("--map maps column %q to both %s and %s", headers[i], prev, f)
			}
			forced[i] = f
		}
	}
	return forced, nil
}

// matchHeader finds the columns a --map header names: the same text ignoring
// case, else the same letters and digits.
func matchHeader(headers []string, want string) []int {
	want = cleanHeader(want)
	var out []int
	for i, h := range headers {
		if strings.EqualFold(h, want) {
			out = append(out, i)
		}
	}
	if len(out) > 0 {
		return out
	}
	key := headerKey(want)
	if key == "" {
		return nil
	}
	for i, h := range headers {
		if headerKey(h) == key {
			out = append(out, i)
		}
	}
	return out
}

func checkRequired(kind Kind, cols *columns) error {
	for _, group := range required[kind] {
		if slices.ContainsFunc(group, cols.has) {
			continue
		}
		names := make([]string, len(group))
		examples := make([]string, 0, len(group))
		for i, f := range group {
			names[i] = string(f)
			if ex, ok := exampleHeader[f]; ok {
				examples = append(examples, ex)
			}
		}
		return fmt.Errorf("the %s file has no column for %s (a header like %s); name one with --map HEADER=%s",
			kind, strings.Join(names, " or "), strings.Join(examples, " or "), group[0])
	}
	return nil
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
