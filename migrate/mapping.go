package migrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/carebook/carebook/importer"
)

// Target fields a column can fill. Skip drops a column.
const (
	FieldMRN              = "mrn"
	FieldRecordID         = "record_id" // the CRM's own id: the MRN <PREFIX>-<id> when a row has no MRN
	FieldFirstName        = "first_name"
	FieldLastName         = "last_name"
	FieldDOB              = "dob"
	FieldSex              = "sex"
	FieldEmail            = "email"
	FieldPhone            = "phone"
	FieldCity             = "city"
	FieldLanguage         = "language"
	FieldMarketingConsent = "marketing_consent"
	FieldStatus           = "status"
	FieldTags             = "tags"
	FieldNotes            = "notes"

	Skip = "skip"
)

// Fields lists every field a column can be mapped to, in display order.
// "skip" is accepted too.
var Fields = []string{
	FieldMRN, FieldRecordID, FieldFirstName, FieldLastName, FieldDOB, FieldSex, FieldEmail, FieldPhone,
	FieldCity, FieldLanguage, FieldMarketingConsent, FieldStatus, FieldTags, FieldNotes,
}

// ValidField reports whether f is a field or "skip".
func ValidField(f string) bool { return f == Skip || slices.Contains(Fields, f) }

// Vendor is the cloud CRM a file came from, told from its headers.
type Vendor string

const (
	VendorHubSpot   Vendor = "hubspot"
	VendorMailchimp Vendor = "mailchimp"
	VendorKeap      Vendor = "keap"
	VendorGeneric   Vendor = "generic"
)

// Name is the vendor as people write it.
func (v Vendor) Name() string {
	switch v {
	case VendorHubSpot:
		return "HubSpot"
	case VendorMailchimp:
		return "Mailchimp"
	case VendorKeap:
		return "Keap"
	}
	return "generic CSV"
}

// idPrefix is put before a vendor's record id to make an MRN. HubSpot's and
// Mailchimp's agree with `carebook import`, so that either command finds
// the same patient again.
func (v Vendor) idPrefix() string {
	switch v {
	case VendorHubSpot:
		return "HS-"
	case VendorMailchimp:
		return "MC-"
	case VendorKeap:
		return "KP-"
	}
	return "ID-"
}

// detectVendor tells the CRM from header keys (see importer.HeaderKey).
func detectVendor(keys []string) Vendor {
	has := func(k ...string) bool {
		for _, x := range k {
			if slices.Contains(keys, x) {
				return true
			}
		}
		return false
	}
	switch {
	case has("recordid", "hubspotid", "hsobjectid", "lifecyclestage", "marketingcontactstatus"):
		return VendorHubSpot
	case has("emailaddress") && has("leid", "euid", "optintime", "confirmtime", "memberrating", "unsubtime", "cleantime"):
		return VendorMailchimp
	case has("id") && has("phone1", "personnotes", "emailstatus", "phone1type"):
		return VendorKeap
	}
	return VendorGeneric
}

// extraAlias is a header the importer does not know, from Keap and
// Mailchimp exports. rank orders columns filling the same field (lower
// first); vendor, when set, limits the alias to that vendor's files.
type extraAlias struct {
	field  string
	rank   int
	vendor Vendor
}

var extraAliases = map[string]extraAlias{
	// Keap.
	"id":          {FieldRecordID, 0, ""},
	"phone1":      {FieldPhone, -2, ""},
	"phone2":      {FieldPhone, 50, ""},
	"phone3":      {FieldPhone, 51, ""},
	"personnotes": {FieldNotes, 0, ""},
	"emailstatus": {FieldMarketingConsent, 20, VendorKeap},
	// Mailchimp. An unsubscribe or clean time beats an opt-in time.
	"unsubtime":   {FieldMarketingConsent, -3, ""},
	"cleantime":   {FieldMarketingConsent, -2, ""},
	"optintime":   {FieldMarketingConsent, 30, ""},
	"confirmtime": {FieldMarketingConsent, 31, ""},
	"address":     {FieldCity, 40, VendorMailchimp},
}

// recognise proposes a field for a header: the importer's aliases first,
// then the vendor extras. It returns "" when nothing fits.
func recognise(header string, vendor Vendor) (field string, rank int) {
	if f, r, ok := importer.PatientFieldForHeader(header); ok {
		switch f {
		case "hubspot_id", "mailchimp_id":
			f = FieldRecordID
		}
		if ValidField(f) {
			return f, r
		}
	}
	if a, ok := extraAliases[importer.HeaderKey(header)]; ok && (a.vendor == "" || a.vendor == vendor) {
		return a.field, a.rank
	}
	return "", 0
}

// Mapping is a mapping file: column header to field (or "skip"). Headers
// match ignoring case, spaces and punctuation, in every file that has them;
// columns it does not name keep the proposed field.
type Mapping map[string]string

// mappingFile is the shape of a --map file:
//
//	[columns]
//	"Record ID" = "record_id"
//	"Notes" = "skip"
//
// or in JSON {"columns": {"Record ID": "record_id"}}.
type mappingFile struct {
	Columns map[string]string `toml:"columns" json:"columns"`
}

// LoadMapping reads a mapping file: TOML, or JSON when the name ends in
// .json. Unknown keys and unknown fields are errors.
func LoadMapping(path string) (Mapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mapping file: %w", err)
	}
	var mf mappingFile
	if strings.EqualFold(filepath.Ext(path), ".json") {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&mf); err != nil {
			return nil, fmt.Errorf("mapping file %s: %w", filepath.Base(path), err)
		}
	} else {
		md, err := toml.Decode(string(data), &mf)
		if err != nil {
			return nil, fmt.Errorf("mapping file %s: %w", filepath.Base(path), err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			keys := make([]string, len(und))
			for i, k := range und {
				keys[i] = k.String()
			}
			return nil, fmt.Errorf("mapping file %s: unknown key %s (expected a [columns] table of \"Header\" = \"field\")", filepath.Base(path), strings.Join(keys, ", "))
		}
	}
	if len(mf.Columns) == 0 {
		return nil, fmt.Errorf("mapping file %s has no columns (expected a [columns] table of \"Header\" = \"field\")", filepath.Base(path))
	}
	m := make(Mapping, len(mf.Columns))
	for h, f := range mf.Columns {
		f = strings.ToLower(strings.TrimSpace(f))
		if !ValidField(f) {
			return nil, fmt.Errorf("mapping file %s: column %q: %q is not a field; use one of %s, or skip", filepath.Base(path), h, f, strings.Join(Fields, ", "))
		}
		m[h] = f
	}
	return m, nil
}

// TOML renders the plan's mapping as a --map file, so that a mapping
// confirmed at a terminal can be repeated in a script.
func (p *Plan) TOML() string {
	seen := map[string]bool{}
	var b strings.Builder
	b.WriteString("# carebook migrate --map: column header = field, or \"skip\"\n[columns]\n")
	for _, f := range p.Files {
		for _, c := range f.Columns {
			if seen[c.Header] {
				continue
			}
			seen[c.Header] = true
			field := c.Field
			if field == "" {
				field = Skip
			}
			fmt.Fprintf(&b, "%q = %q\n", c.Header, field)
		}
	}
	return b.String()
}

// ApplyMapping sets the columns m names, in every file. A header that no
// file has is an error, so that a typo does not silently do nothing.
func (p *Plan) ApplyMapping(m Mapping) error {
	headers := make([]string, 0, len(m))
	for h := range m {
		headers = append(headers, h)
	}
	sort.Strings(headers)
	var missing []string
	for _, h := range headers {
		found := false
		for fi, f := range p.Files {
			for _, ci := range matchHeader(f.Columns, h) {
				found = true
				if err := p.Set(fi, ci, m[h], SourceMapFile); err != nil {
					return err
				}
			}
		}
		if !found {
			missing = append(missing, fmt.Sprintf("%q", h))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the mapping names %s, which no file has", strings.Join(missing, ", "))
	}
	return nil
}

// matchHeader finds the columns a mapping header names: the same text
// ignoring case, else the same letters and digits.
func matchHeader(cols []Column, want string) []int {
	want = strings.TrimSpace(want)
	var out []int
	for i, c := range cols {
		if strings.EqualFold(c.Header, want) {
			out = append(out, i)
		}
	}
	if len(out) > 0 {
		return out
	}
	key := importer.HeaderKey(want)
	if key == "" {
		return nil
	}
	for i, c := range cols {
		if importer.HeaderKey(c.Header) == key {
			out = append(out, i)
		}
	}
	return out
}

// Set maps column ci of file fi to field ("skip" or "" drops it).
func (p *Plan) Set(fi, ci int, field, source string) error {
	if fi < 0 || fi >= len(p.Files) || ci < 0 || ci >= len(p.Files[fi].Columns) {
		return errors.New("no such column")
	}
	field = strings.ToLower(strings.TrimSpace(field))
	if !ValidField(field) && field != "" {
		return fmt.Errorf("%q is not a field; use one of %s, or skip", field, strings.Join(Fields, ", "))
	}
	if field == Skip {
		field = ""
	}
	c := &p.Files[fi].Columns[ci]
	if c.Field != field {
		c.Field = field
		c.Source = source
		c.Why = ""
	}
	return nil
}

// mailchimpAddress splits Mailchimp's one-cell address ("addr1  addr2  city
// state  zip  country", parts separated by two spaces) and returns the city.
var addressParts = regexp.MustCompile(`\s{2,}`)

func cityFromAddress(v string) string {
	parts := addressParts.Split(strings.TrimSpace(v), -1)
	if len(parts) < 4 {
		return ""
	}
	return strings.TrimSpace(parts[len(parts)-4])
}

// keapConsent reads Keap's "Email Status".
var keapConsent = map[string]bool{
	"singleoptin": true, "doubleoptin": true, "confirmed": true, "marketable": true, "unengagedmarketable": true,
	"optedout": false, "nonmarketable": false, "unengagednonmarketable": false, "unconfirmed": false,
	"hardbounce": false, "bounced": false, "lockdown": false, "spamcomplaint": false, "unsubscribed": false,
}

// parseConsent reads a consent cell: the importer's values, Keap's email
// statuses, or a date (Mailchimp's OPTIN_TIME: opted in then; UNSUB_TIME or
// CLEAN_TIME: no longer).
func parseConsent(header, v string) (bool, bool) {
	if c, ok := importer.ParseConsent(v); ok {
		return c, true
	}
	if c, ok := keapConsent[importer.HeaderKey(v)]; ok {
		return c, true
	}
	if _, _, ok := importer.ParseDateOfBirth(v); ok {
		k := importer.HeaderKey(header)
		return !strings.Contains(k, "unsub") && !strings.Contains(k, "clean"), true
	}
	return false, false
}
