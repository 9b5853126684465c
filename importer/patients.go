package importer

import (
	"context"
	"time"

	"github.com/carebook/carebook/store"
)

// patientImport checks patient rows and keeps the good ones.
type patientImport struct {
	cols   *columns
	today  time.Time
	rows   []store.Patient
	seen   map[string]int // MRN to the line that first had it
	notes  []Note
	anyDOB bool // some row has a full date of birth
}

func newPatientImport(cols *columns, now time.Time, size int) *patientImport {
	return &patientImport{
		cols:  cols,
		today: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC),
		rows:  make([]store.Patient, 0, size),
		seen:  make(map[string]int, size),
	}
}

func (p *patientImport) len() int { return len(p.rows) }

func (p *patientImport) check(context.Context, store.Reader) ([]RowError, error) { return nil, nil }

func (p *patientImport) add(r *row) {
	var pt store.Patient
	mrnCol, byEmail := p.identify(r, &pt)

	pt.FirstName, _ = r.get(fieldFirstName)
	pt.LastName, _ = r.get(fieldLastName)
	if pt.FirstName == "" && pt.LastName == "" {
		r.fail(-1, "has no first or last name")
	}
	if v, col := r.get(fieldDOB); v != "" {
		dob, yearless, ok := parseDOB(v)
		switch {
		case !ok:
			r.fail(col, "is not a date (expected MM/DD/YYYY or YYYY-MM-DD)")
		case yearless:
			// A birthday without a year: the date of birth stays unknown.
		default:
			if err := store.CheckBirth(dob, p.today); err != nil {
				r.fail(col, "%v", err)
			} else {
				pt.DOB = dob
			}
		}
	}
	if v, _ := r.get(fieldSex); v != "" {
		pt.Sex = normSex(v)
	}
	if v, col := r.get(fieldEmail); v != "" {
		if e, ok := normEmail(v); ok {
			pt.Email = e
		} else {
			r.fail(col, "is not an email address (expected name@domain)")
		}
	}
	if v, col := r.get(fieldPhone); v != "" {
		if d, ok := normPhone(v); ok {
			pt.Phone = d
		} else {
			r.fail(col, "is not a phone number (expected 7 to 15 digits, like (555) 123-4567)")
		}
	}
	pt.City, _ = r.get(fieldCity)
	if v, _ := r.get(fieldLanguage); v != "" {
		pt.Language = normLanguage(v)
	}
	v, col := r.get(fieldMarketingConsent)
	consent, ok := lookup(consentValues, v)
	if !ok {
		r.fail(col, "is not a yes/no value (expected yes, no, opted in, subscribed, unsubscribed, …)")
	}
	pt.MarketingConsent = consent
	if v, col := r.get(fieldConsentDate); v != "" && p.cols.has(fieldMarketingConsent) {
		// Without it the consent date stays unknown: the import's time is
		// not when the patient decided.
		if t, ok := r.when(v, col); ok && t.After(p.today.AddDate(0, 0, 1)) {
			r.fail(col, "is in the future")
		} else if ok {
			pt.ConsentChangedAt = t
		}
	}
	v, col = r.get(fieldStatus)
	status, ok := lookup(statusValues, v)
	if !ok {
		r.fail(col, "is not a patient status (expected active, inactive or deceased)")
	}
	pt.Status = status
	if v, _ := r.get(fieldTags); v != "" {
		pt.Tags = normTags(v)
	}

	if first, dup := p.seen[pt.MRN]; dup && pt.MRN != "" {
		if byEmail {
			r.fail(mrnCol, "repeats line %d; with no MRN, the email identifies the patient, so two patients cannot share it", first)
		} else {
			r.fail(mrnCol, "repeats line %d", first)
		}
	}
	if !r.ok() {
		return
	}
	p.seen[pt.MRN] = r.line
	p.rows = append(p.rows, pt)
	p.anyDOB = p.anyDOB || !pt.DOB.IsZero()
	if v, _ := r.get(fieldNotes); v != "" {
		p.notes = append(p.notes, Note{Line: r.line, MRN: pt.MRN, Text: v})
	}
}

// identify sets pt.MRN. The file's best identifying column decides, for
// every row alike: the MRN; else a HubSpot record id (MRN HS-<id>); else a
// Mailchimp member id (MC-<id>); else the email address (E-<hash>). A row
// with that cell empty is bad, rather than identified some other way, so
// that one patient cannot end up with two MRNs. identify returns the column
// the MRN came from, and whether that is the email.
func (p *patientImport) identify(r *row, pt *store.Patient) (int, bool) {
	for _, id := range []struct {
		field  field
		prefix string
	}{{fieldMRN, ""}, {fieldHubSpotID, "HS-"}, {fieldMailchimpID, "MC-"}} {
		if !p.cols.has(id.field) {
			continue
		}
		v, col := r.get(id.field)
		if v == "" {
			r.fail(col, "is empty (it identifies the patient)")
		} else {
			pt.MRN = id.prefix + v
		}
		return col, false
	}
	v, col := r.get(fieldEmail)
	if v == "" {
		r.fail(col, "is empty (with no MRN column, the email identifies the patient)")
	} else if e, ok := normEmail(v); ok {
		pt.MRN = derivedID("E-", e)
	} // else the bad email is reported with the other fields
	return col, true
}

// patientFields pairs the columns an import can fill with the store's names.
var patientFields = []struct {
	field field
	store store.PatientField
}{
	{fieldFirstName, store.FieldFirstName},
	{fieldLastName, store.FieldLastName},
	{fieldDOB, store.FieldDOB},
	{fieldSex, store.FieldSex},
	{fieldEmail, store.FieldEmail},
	{fieldPhone, store.FieldPhone},
	{fieldCity, store.FieldCity},
	{fieldLanguage, store.FieldLanguage},
	{fieldMarketingConsent, store.FieldMarketingConsent},
	{fieldStatus, store.FieldStatus},
}

// fields lists what this file may change on existing patients: only what it
// has a column for, so that a Mailchimp file does not erase dates of birth.
// A date-of-birth column counts only if it held a full date somewhere:
// Mailchimp's birthday column (month and day) says nothing about the year.
func (p *patientImport) fields() []store.PatientField {
	out := make([]store.PatientField, 0, len(patientFields))
	for _, f := range patientFields {
		if !p.cols.has(f.field) || (f.field == fieldDOB && !p.anyDOB) {
			continue
		}
		out = append(out, f.store)
	}
	return out
}

func (p *patientImport) write(ctx context.Context, tx *store.Tx) (store.UpsertStats, error) {
	return tx.UpsertPatients(ctx, p.rows, p.fields())
}
