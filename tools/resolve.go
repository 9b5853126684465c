package tools

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/carebook/carebook/store"
)

// Env is what resolving an action depends on besides the database.
type Env struct {
	// Now anchors relative dates, in the practice's local zone.
	Now time.Time
	// Staff is who is logging interactions, when the action does not say.
	Staff string
}

// AmbiguousError says a reference matches more than one patient. Carebook
// never guesses: the REPL offers a choice, ask and run fail with the list.
type AmbiguousError struct {
	Ref        string
	Candidates []store.Patient
}

func (e *AmbiguousError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d patients match %q; say which one (by MRN, or with their date of birth):", len(e.Candidates), e.Ref)
	for _, p := range e.Candidates {
		fmt.Fprintf(&b, "\n  %s  %s  born %s", p.MRN, p.FullName(), dateOrUnknown(p.DOB))
	}
	return b.String()
}

// NotFoundError says a reference matches no patient.
type NotFoundError struct{ Ref string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no patient matches %q (try an MRN, an exact email, or first and last name)", e.Ref)
}

func dateOrUnknown(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.Format(time.DateOnly)
}

// ResolvePatient finds the one patient ref names.
func ResolvePatient(ctx context.Context, r store.Reader, ref PatientRef) (store.Patient, error) {
	match := strings.TrimSpace(ref.Match)
	// A match of punctuation alone (",") has no word to look for, and the
	// name search would then select every patient.
	if !strings.ContainsFunc(match, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
		return store.Patient{}, invalidf(`a patient reference needs "match": an MRN, an email or a name`)
	}
	// No patient's MRN, email or name is longer, or holds a control
	// character; the value is not repeated, it may be anything.
	if err := store.CheckLine(match, store.MaxMatchLen); err != nil {
		return store.Patient{}, invalidf("patient.match %v", err)
	}
	candidates, _, err := r.MatchPatients(ctx, match)
	if err != nil {
		return store.Patient{}, err
	}
	if ref.Born != "" {
		born, err := bornFilter(ref.Born)
		if err != nil {
			return store.Patient{}, err
		}
		candidates = slices.DeleteFunc(candidates, func(p store.Patient) bool { return !born(p.DOB) })
	}
	switch len(candidates) {
	case 0:
		return store.Patient{}, &NotFoundError{Ref: describeRef(ref)}
	case 1:
		return candidates[0], nil
	}
	return store.Patient{}, &AmbiguousError{Ref: describeRef(ref), Candidates: candidates}
}

func describeRef(ref PatientRef) string {
	if ref.Born == "" {
		return ref.Match
	}
	return ref.Match + " born " + ref.Born
}

// bornFilter accepts a year or a full date of birth, written as staff write
// it: 1990-11-20, 11/20/1990, 3/2/1958, November 20, 1990 (the day formats
// of dates and of the importer).
func bornFilter(s string) (func(time.Time) bool, error) {
	s = strings.TrimSpace(s)
	if year, err := strconv.Atoi(s); err == nil && len(s) == 4 {
		return func(dob time.Time) bool { return !dob.IsZero() && dob.Year() == year }, nil
	}
	if d, ok := parseDay(s, time.UTC); ok {
		return func(dob time.Time) bool { return dob.Equal(d) }, nil
	}
	return nil, invalidf(`"born" must be a year (1990) or a date (1990-11-20 or 11/20/1990), not %q`, s)
}

// resolveWhere turns a PatientWhere into an absolute store filter and checks
// it against what the practice's data contains.
func resolveWhere(ctx context.Context, r store.Reader, w *PatientWhere, env Env, vocab store.Vocabulary) (store.PatientFilter, error) {
	var f store.PatientFilter
	if w == nil {
		return f, nil
	}
	f.MRNs = w.MRNs
	f.NameContains = strings.TrimSpace(w.Name)
	f.EmailContains = strings.TrimSpace(w.Email)
	f.PhoneContains = store.Digits(w.PhoneContains)
	f.PhoneEndsWith = store.Digits(w.PhoneEndsWith)
	if w.PhoneContains != "" && f.PhoneContains == "" || w.PhoneEndsWith != "" && f.PhoneEndsWith == "" {
		return f, invalidf("a phone filter needs digits")
	}
	f.HasEmail, f.HasPhone = w.HasEmail, w.HasPhone

	for _, group := range []struct {
		name string
		tags []string
		dst  *[]string
	}{{"tags", w.Tags, &f.TagsAll}, {"tags_any", w.TagsAny, &f.TagsAny}, {"tags_none", w.TagsNone, &f.TagsNone}} {
		for _, t := range group.tags {
			t = strings.ToLower(strings.TrimSpace(t))
			if !slices.Contains(vocab.Tags, t) {
				return f, invalidf("there is no tag %q (known tags: %s)", t, listOrNone(vocab.Tags))
			}
			*group.dst = append(*group.dst, t)
		}
	}

	today := time.Date(env.Now.Year(), env.Now.Month(), env.Now.Day(), 0, 0, 0, 0, time.UTC)
	ages := []struct {
		name string
		v    *int
		// bound turns an age into a date-of-birth bound.
		apply func(n int)
	}{
		{"older_than", w.OlderThan, func(n int) { f.BornOnOrBefore = earliest(f.BornOnOrBefore, today.AddDate(-(n+1), 0, 0)) }},
		{"age_at_least", w.AgeAtLeast, func(n int) { f.BornOnOrBefore = earliest(f.BornOnOrBefore, today.AddDate(-n, 0, 0)) }},
		{"younger_than", w.YoungerThan, func(n int) { f.BornOnOrAfter = latest(f.BornOnOrAfter, today.AddDate(-n, 0, 1)) }},
		{"age_at_most", w.AgeAtMost, func(n int) { f.BornOnOrAfter = latest(f.BornOnOrAfter, today.AddDate(-(n+1), 0, 1)) }},
	}
	for _, a := range ages {
		if a.v == nil {
			continue
		}
		if *a.v < 0 || *a.v > 130 {
			return f, invalidf("%s must be an age between 0 and 130, not %d", a.name, *a.v)
		}
		a.apply(*a.v)
	}
	if !f.BornOnOrAfter.IsZero() && !f.BornOnOrBefore.IsZero() && f.BornOnOrAfter.After(f.BornOnOrBefore) {
		return f, invalidf("the age limits exclude everyone (check older_than/younger_than)")
	}
	if w.BirthdayMonth != 0 {
		if w.BirthdayMonth < 1 || w.BirthdayMonth > 12 {
			return f, invalidf("birthday_month must be 1 to 12, not %d", w.BirthdayMonth)
		}
		f.BirthdayMonth = w.BirthdayMonth
	}
	if w.Status != "" {
		s := store.Status(strings.ToLower(w.Status))
		if !s.Valid() {
			return f, invalidf("status must be active, inactive or deceased, not %q", w.Status)
		}
		f.Statuses = []store.Status{s}
	}
	var err error
	// The model is not shown every city and language (see vocab.go), so
	// what it or the user wrote is checked against the records here.
	if strings.TrimSpace(w.City) != "" {
		if f.City, err = knownName(ctx, r, store.FieldCity, w.City); err != nil {
			return f, err
		}
	}
	if strings.TrimSpace(w.Language) != "" {
		if f.Language, err = knownName(ctx, r, store.FieldLanguage, w.Language); err != nil {
			return f, err
		}
	}
	f.MarketingConsent = w.MarketingConsent

	if w.LastVisitBefore != "" {
		if f.LastVisitBefore, err = ParsePoint(w.LastVisitBefore, env.Now); err != nil {
			return f, &ValidationError{Msg: "last_visit_before: " + err.Error()}
		}
	}
	if w.LastVisitAfter != "" {
		if f.LastVisitOnOrAfter, err = ParsePoint(w.LastVisitAfter, env.Now); err != nil {
			return f, &ValidationError{Msg: "last_visit_after: " + err.Error()}
		}
	}
	if f.HasAppointment, err = resolveAppointmentWhere("has_appointment", w.HasAppointment, env, vocab); err != nil {
		return f, err
	}
	if f.NoAppointment, err = resolveAppointmentWhere("no_appointment", w.NoAppointment, env, vocab); err != nil {
		return f, err
	}
	if f.HasInteraction, err = resolveInteractionWhere("has_interaction", w.HasInteraction, env); err != nil {
		return f, err
	}
	if f.NoInteraction, err = resolveInteractionWhere("no_interaction", w.NoInteraction, env); err != nil {
		return f, err
	}
	f.HasOpenTask = w.HasOpenTask
	return f, nil
}

func resolveAppointmentWhere(field string, w *AppointmentWhere, env Env, vocab store.Vocabulary) (*store.AppointmentFilter, error) {
	if w == nil {
		return nil, nil
	}
	var f store.AppointmentFilter
	if w.Status != "" {
		s := store.AppointmentStatus(strings.ToLower(w.Status))
		if !s.Valid() {
			return nil, invalidf("%s.status must be scheduled, completed, no-show or cancelled, not %q", field, w.Status)
		}
		f.Statuses = []store.AppointmentStatus{s}
	}
	if w.Type != "" {
		t, ok := findFold(vocab.AppointmentTypes, w.Type)
		if !ok {
			return nil, &ValidationError{Field: field + ".type", Msg: fmt.Sprintf("there is no appointment type %q (known: %s)", w.Type, listOrNone(vocab.AppointmentTypes))}
		}
		f.Types = []string{t}
	}
	if w.Provider != "" {
		p, ok := findFold(vocab.Providers, w.Provider)
		if !ok {
			return nil, &ValidationError{Field: field + ".provider", Msg: fmt.Sprintf("there is no provider %q (known: %s)", w.Provider, listOrNone(vocab.Providers))}
		}
		f.Providers = []string{p}
	}
	if w.When != "" {
		r, err := ParseRange(w.When, env.Now)
		if err != nil {
			return nil, &ValidationError{Field: field + ".when", Msg: err.Error()}
		}
		f.From, f.To = r.From, r.To
	}
	return &f, nil
}

func resolveInteractionWhere(field string, w *InteractionWhere, env Env) (*store.InteractionFilter, error) {
	if w == nil {
		return nil, nil
	}
	var f store.InteractionFilter
	if w.Channel != "" {
		c := store.Channel(strings.ToLower(w.Channel))
		if !c.Valid() {
			return nil, invalidf("%s.channel must be one of %s, not %q", field, joinStrings(store.Channels), w.Channel)
		}
		f.Channels = []store.Channel{c}
	}
	if w.Direction != "" {
		d := store.Direction(strings.ToLower(w.Direction))
		if !d.Valid() {
			return nil, invalidf("%s.direction must be inbound or outbound, not %q", field, w.Direction)
		}
		f.Direction = d
	}
	f.Staff = strings.TrimSpace(w.Staff)
	if w.When != "" {
		r, err := ParseRange(w.When, env.Now)
		if err != nil {
			return nil, &ValidationError{Field: field + ".when", Msg: err.Error()}
		}
		f.From, f.To = r.From, r.To
	}
	return &f, nil
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func latest(a, b time.Time) time.Time {
	if a.IsZero() || b.After(a) {
		return b
	}
	return a
}

func findFold(known []string, v string) (string, bool) {
	v = strings.TrimSpace(v)
	for _, k := range known {
		if strings.EqualFold(k, v) {
			return k, true
		}
	}
	return "", false
}

// listOrNone lists the known names for a message. The message may go back
// to the model, so only the names fit for it are listed (see vocab.go).
func listOrNone(vals []string) string {
	names := nameLike(vals)
	switch {
	case len(vals) == 0:
		return "none yet"
	case len(names) == 0:
		return "none that can be listed"
	case len(names) < len(vals):
		return strings.Join(names, ", ") + " and others not listed"
	}
	return strings.Join(names, ", ")
}

func joinStrings[T ~string](vals []T) string {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// IsUserError reports whether err is the user's or the model's to fix (a
// bad action, an unknown or ambiguous patient) rather than a failure of
// Carebook or the database.
func IsUserError(err error) bool {
	var v *ValidationError
	var a *AmbiguousError
	var n *NotFoundError
	var d *DuplicateError
	return errors.As(err, &v) || errors.As(err, &a) || errors.As(err, &n) || errors.As(err, &d)
}

// vocabFor is the part of the vocabulary that validating the names in args
// (an action's JSON arguments) needs, and no more: each list is a query, and
// providers and appointment types scan every appointment. An action that
// names none needs none.
func vocabFor(args []byte) []store.VocabPart {
	parts := []store.VocabPart{}
	if bytes.Contains(args, []byte(`"tag`)) || bytes.Contains(args, []byte(`tags"`)) {
		parts = append(parts, store.VocabTags)
	}
	if bytes.Contains(args, []byte(`"provider"`)) {
		parts = append(parts, store.VocabProviders)
	}
	if bytes.Contains(args, []byte(`"type"`)) {
		parts = append(parts, store.VocabAppointmentTypes)
	}
	return parts
}
