package importer

// Exported wrappers for `carebook migrate` (package migrate), so that a
// migration recognises the same headers and reads values exactly as
// `carebook import` does, and derives the same MRNs. They add no behaviour.

import (
	"time"

	"github.com/carebook/carebook/store"
)

// HeaderKey is how headers are compared: lower case, letters and digits
// only, so "Patient ID (MRN)" and "patient_id_mrn" agree.
func HeaderKey(header string) string { return headerKey(header) }

// PatientFieldForHeader returns the patient field `carebook import` fills
// from a column with this header ("mrn", "hubspot_id", "mailchimp_id",
// "first_name", …, "notes"), and the header's rank among that field's
// aliases (lower is preferred when several columns fill one field). ok is
// false when the header is not recognised.
func PatientFieldForHeader(header string) (field string, rank int, ok bool) {
	a, ok := aliasIndex[KindPatients][headerKey(header)]
	if !ok {
		return "", 0, false
	}
	return string(a.field), a.rank, true
}

// CheckValue checks a cell of a column that fills field f ("first_name",
// "notes", …; any other name is checked as a label) against the store's
// limits, as import checks it. The error never holds the value.
func CheckValue(f, v string) error { return checkCell(field(f), v) }

// NormalizeEmail lower-cases and checks an email address.
func NormalizeEmail(s string) (string, bool) { return normEmail(s) }

// NormalizePhone keeps the digits of a phone number (without a leading US
// country code or an extension), or reports that s is not one.
func NormalizePhone(s string) (string, bool) { return normPhone(s) }

// ParseDateOfBirth reads a date of birth as midnight UTC. A month and day
// with no year (Mailchimp's birthday) is valid but yearless, with a zero
// time. It does not check the date's range.
func ParseDateOfBirth(s string) (dob time.Time, yearless, ok bool) { return parseDOB(s) }

// ParseConsent reads a marketing opt-in cell ("yes", "opted in",
// "subscribed", "Marketing contact", "unsubscribed", …). An empty cell is no.
func ParseConsent(s string) (consent, ok bool) { return lookup(consentValues, s) }

// ParseStatus reads a patient status, HubSpot lifecycle stages included. An
// empty cell is active.
func ParseStatus(s string) (store.Status, bool) { return lookup(statusValues, s) }

// NormalizeTags splits a tag cell on ';' and ',' into lowercase-kebab tags.
func NormalizeTags(s string) []string { return normTags(s) }

// NormalizeSex keeps the usual spellings of sex together.
func NormalizeSex(s string) string { return normSex(s) }

// NormalizeLanguage spells a language the same whether given as a code or a
// name.
func NormalizeLanguage(s string) string { return normLanguage(s) }

// EmailMRN is the MRN `carebook import` gives a patient identified only by
// an email address (already normalised): E- and a hash of the address.
func EmailMRN(email string) string { return derivedID("E-", email) }

// StableID is prefix followed by a short hash of parts, as import derives
// ids: the same parts always give the same id.
func StableID(prefix string, parts ...string) string { return derivedID(prefix, parts...) }
