// Package csvsafe writes CSV that a spreadsheet opens as text, never as a
// formula, and undoes that on import.
//
// A cell that begins with =, +, -, @, a tab or a carriage return is a
// formula to Excel, LibreOffice and Google Sheets: "=HYPERLINK(…)" in a
// first name runs when the practice opens its marketing list. Following
// OWASP's advice on CSV injection, such a cell is written with a single
// quote in front, which spreadsheets show as text. So that an export still
// re-imports without loss, a cell that already begins with quotes and then
// one of those characters gets one more quote too, and Unescape removes
// exactly one: Unescape(Escape(s)) == s for every s.
package csvsafe

import (
	"encoding/csv"
	"io"
)

// triggers start a formula in a spreadsheet.
func trigger(c byte) bool {
	switch c {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// quoted reports whether s is one or more single quotes followed by a
// trigger: what Escape produces.
func quoted(s string) bool {
	i := 0
	for i < len(s) && s[i] == '\'' {
		i++
	}
	return i > 0 && i < len(s) && trigger(s[i])
}

// Escape makes s safe to open in a spreadsheet: a leading trigger, after
// any single quotes, gets a single quote in front.
func Escape(s string) string {
	if s == "" || !trigger(s[0]) && !quoted(s) {
		return s
	}
	return "'" + s
}

// Unescape undoes Escape: one leading single quote comes off a cell that
// is quotes followed by a trigger. Other cells are returned as they are.
func Unescape(s string) string {
	if quoted(s) {
		return s[1:]
	}
	return s
}

// Writer is a csv.Writer that escapes every cell.
type Writer struct {
	w   *csv.Writer
	buf []string
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record, escaped. record itself is not changed.
func (w *Writer) Write(record []string) error {
	w.buf = w.buf[:0]
	for _, f := range record {
		w.buf = append(w.buf, Escape(f))
	}
	return w.w.Write(w.buf)
}

// WriteAll writes the records, escaped, and flushes.
func (w *Writer) WriteAll(records [][]string) error {
	for _, r := range records {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	w.w.Flush()
	return w.w.Error()
}

// Flush writes any buffered data.
func (w *Writer) Flush() { w.w.Flush() }

// Error reports any error from a previous Write or Flush.
func (w *Writer) Error() error { return w.w.Error() }
