package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// redactAudit removes the free text of every earlier row that names the
// patient (by id, or by name, email, phone or MRN in its text), keeping the
// commitments, so that the chain still verifies and nothing identifies them.
func (tx *Tx) redactAudit(ctx context.Context, p Patient) (int, error) {
	rows, err := tx.conn.QueryContext(ctx, `SELECT seq, patient_ids, coalesce(request, ''), coalesce(action, ''), coalesce(message, '')
		FROM audit_log WHERE redacted_at IS NULL`)
	if err != nil {
		return 0, fmt.Errorf("redact audit log: %w", err)
	}
	needles := identifyingText(p)
	var names []string
	for _, n := range []string{p.FirstName, p.LastName} {
		if n = Fold(strings.TrimSpace(n)); len(n) >= 2 {
			names = append(names, n)
		}
	}
	var seqs []int64
	for rows.Next() {
		var seq int64
		var idText, request, action, message string
		if err := rows.Scan(&seq, &idText, &request, &action, &message); err != nil {
			rows.Close()
			return 0, fmt.Errorf("redact audit log: %w", err)
		}
		ids, err := parseIDs(idText)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("redact audit log: row %d: %w", seq, err)
		}
		touched, among := slices.Contains(ids, p.ID), len(ids)
		if strings.Contains(action, `"tool":"forget"`) {
			// A forget's row names nobody (an MRN hash, row numbers), and
			// the rows it lists must stay listed.
			continue
		}
		// A row that addressed a few patients, the forgotten one among them,
		// may name them in ways no pattern catches ("the Garcia boy"); one
		// over a whole cohort or an import does not, and keeps its text
		// unless that names them.
		individual := touched && (among <= 5 || mentions(names, request, action, message))
		if individual || mentions(needles, request, action, message) || namesBoth(p, request, action, message) {
			seqs = append(seqs, seq)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("redact audit log: %w", err)
	}
	if len(seqs) == 0 {
		return 0, nil
	}
	_, err = tx.conn.ExecContext(ctx, `UPDATE audit_log SET request = NULL, action = NULL, message = NULL, salt = NULL, redacted_at = ?
		WHERE seq IN (SELECT unnest(?::BIGINT[]))`, tx.Now().UTC(), seqs)
	if err != nil {
		return 0, fmt.Errorf("redact audit log: %w", err)
	}
	tx.redacted = append(tx.redacted, seqs...)
	return len(seqs), nil
}

// NamedIn reports whether text names the patient: their full name, email,
// phone (in any punctuation), MRN, or last name, ignoring case and accents,
// or their first and last names as words anywhere in it, as patient search
// would have found them ("maria garcia" for Maria José García). Forget
// scrubs REPL history lines this matches; a line about a namesake goes too,
// which is the safe side.
func (p Patient) NamedIn(text string) bool {
	needles := identifyingText(p)
	if last := Fold(strings.TrimSpace(p.LastName)); len(last) >= 3 {
		needles = append(needles, last)
	}
	return mentions(needles, text) || namesBoth(p, text)
}

// identifyingText is what in a free-text field would name the patient,
// folded (see Fold).
func identifyingText(p Patient) []string {
	var out []string
	add := func(s string) {
		if s = Fold(strings.TrimSpace(s)); len(s) >= 3 {
			out = append(out, s)
		}
	}
	add(p.FirstName + " " + p.LastName)
	add(p.LastName + ", " + p.FirstName)
	add(p.LastName + " " + p.FirstName)
	add(p.Email)
	add(p.MRN)
	add(p.Phone)
	if d := Digits(p.Phone); len(d) >= 7 {
		out = append(out, "#"+d) // matched against the digits of the text
	}
	return out
}

// namesBoth reports whether a text holds every word of the patient's first
// and last names as words: how a partial mention that patient search
// matches ("Maria Garcia", "garcia, maria jose") is caught.
func namesBoth(p Patient, texts ...string) bool {
	want := strings.Fields(Fold(p.FirstName + " " + p.LastName))
	if len(want) < 2 {
		return false
	}
	for _, t := range texts {
		words := map[string]bool{}
		for _, w := range strings.FieldsFunc(Fold(t), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '-' }) {
			words[w] = true
		}
		// The first word of the first name and the whole last name.
		first := want[0]
		last := strings.Fields(Fold(p.LastName))
		ok := words[first] && len(last) > 0
		for _, l := range last {
			ok = ok && words[l]
		}
		if ok {
			return true
		}
	}
	return false
}

func mentions(needles []string, texts ...string) bool {
	for _, t := range texts {
		lt := Fold(t)
		dt := Digits(t)
		for _, n := range needles {
			if d, ok := strings.CutPrefix(n, "#"); ok {
				if strings.Contains(dt, d) {
					return true
				}
			} else if strings.Contains(lt, n) {
				return true
			}
		}
	}
	return false
}

// Fold lowercases s and strips its accents, as patient search compares
// names (DuckDB's strip_accents and lower): "José" and "JOSE" fold alike.
func Fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}
