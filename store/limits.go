package store

import (
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on what a patient record may hold. They are far beyond anything a
// practice writes, and they stop what no practice writes: a 10-million-
// character name, a 20 MB summary, a NUL byte in a name, an interaction in
// the year 1. The importer and the action tools check values with the
// functions below before anything reaches the database. Lengths count
// characters, not bytes.
const (
	MaxNameLen  = 200    // a first or a last name
	MaxEmailLen = 254    // RFC 5321's longest usable address
	MaxLabelLen = 100    // city, language, sex, staff, appointment type, provider
	MaxIDLen    = 100    // an MRN, an appointment's or an interaction's id
	MaxTextLen  = 20_000 // an interaction summary, a note, a cell of tags
	// MaxMatchLen bounds a patient reference: a full name is the longest
	// thing it can be.
	MaxMatchLen = 2*MaxNameLen + 1

	// Appointments and interactions happen within these years.
	MinYear = 1900
	MaxYear = 2100
	// MinBirthYear is the earliest year of birth accepted.
	MinBirthYear = 1880
)

// CheckLine checks a one-line value (a name, an id, a label): UTF-8, at most
// max characters and no control character at all, tab and line breaks
// included.
// The error says what is wrong, never the value, and reads after a field's
// name: `"First Name" is longer than 200 characters`.
func CheckLine(s string, max int) error {
	return checkText(s, max, false)
}

// CheckText checks free text (a summary, a note): UTF-8, at most max
// characters, and no control character but tab and newline.
func CheckText(s string, max int) error {
	return checkText(s, max, true)
}

func checkText(s string, max int, multiline bool) error {
	// A string of at most max bytes has at most max characters: the common
	// case costs one comparison, and a huge value is refused before it is
	// counted.
	if len(s) > max && (len(s) > max*utf8.UTFMax || utf8.RuneCountInString(s) > max) {
		return fmt.Errorf("is longer than %d characters", max)
	}
	for i, r := range s {
		if r == utf8.RuneError {
			// Bytes that are not UTF-8 (a Latin-1 argument, say) would be
			// stored as an empty string.
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return errors.New("is not UTF-8 text")
			}
		}
		if !unicode.IsControl(r) || multiline && (r == '\t' || r == '\n') {
			continue
		}
		if multiline {
			return errors.New("holds a control character (only tabs and line breaks are allowed)")
		}
		return errors.New("holds a control character (a tab, a line break or an invisible code)")
	}
	return nil
}

// CheckWhen checks the time of an appointment or an interaction.
func CheckWhen(t time.Time) error {
	if y := t.Year(); y < MinYear || y > MaxYear {
		return fmt.Errorf("is not between %d and %d", MinYear, MaxYear)
	}
	return nil
}

// CheckBirth checks a date of birth against today.
func CheckBirth(dob, today time.Time) error {
	switch {
	case dob.Year() < MinBirthYear:
		return fmt.Errorf("is before %d", MinBirthYear)
	case dob.After(today):
		return errors.New("is in the future")
	}
	return nil
}
