package cmdutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/width"
)

// WriteJSON writes v as indented JSON followed by a newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Table prints aligned columns for people, or tab-separated lines for
// scripts, so that `cut -f` works on piped output. On a terminal of known
// width the widest column is cut short (with …) until every line fits, as
// gh does: a wrapped table cannot be read.
type Table struct {
	w      io.Writer
	forTTY bool
	// width is the terminal's, in columns; 0 is no limit.
	width int
	rows  [][]string
	// header says rows[0] is the header, which does not make a column
	// free text or fixed.
	header bool
}

// columnGap is the space between two columns.
const columnGap = 2

// readableColumn is as narrow as fitting cuts a column before it cuts the
// others; minColumn is as narrow as it cuts any: three characters and the
// ellipsis.
const (
	readableColumn = 12
	minColumn      = 4
)

// NewTable starts a table on w. forTTY chooses aligned columns with a header.
func NewTable(w io.Writer, forTTY bool, header ...string) *Table {
	t := &Table{w: w, forTTY: forTTY}
	if forTTY && len(header) > 0 {
		t.Row(header...)
		t.header = true
	}
	return t
}

// NewTableFor starts a table on ios.Out: aligned and fitted to the
// terminal's width when stdout is a terminal, tab-separated otherwise.
func NewTableFor(ios *IOStreams, header ...string) *Table {
	return NewTable(ios.Out, ios.IsStdoutTTY(), header...).Fit(ios.TerminalWidth())
}

// Fit makes an aligned table fit a terminal width columns wide.
func (t *Table) Fit(width int) *Table {
	t.width = width
	return t
}

// Row adds one row. Tabs and newlines inside a field are flattened so that a
// stray one cannot break the columns.
func (t *Table) Row(fields ...string) {
	clean := make([]string, len(fields))
	for i, f := range fields {
		clean[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(f)
	}
	if t.forTTY {
		t.rows = append(t.rows, clean)
		return
	}
	io.WriteString(t.w, strings.Join(clean, "\t")+"\n")
}

// Flush writes out an aligned table.
func (t *Table) Flush() error {
	if !t.forTTY {
		return nil
	}
	widths := t.columnWidths()
	var b strings.Builder
	for _, r := range t.rows {
		line := make([]byte, 0, 80)
		for c, cell := range r {
			cell = Truncate(cell, widths[c])
			line = append(line, cell...)
			if c < len(r)-1 {
				line = append(line, strings.Repeat(" ", widths[c]-DisplayWidth(cell)+columnGap)...)
			}
		}
		b.Write(bytes.TrimRight(line, " "))
		b.WriteByte('\n')
	}
	t.rows = nil
	_, err := io.WriteString(t.w, b.String())
	return err
}

// columnWidths is each column's width: its widest cell, then, while the
// table is wider than the terminal, the widest column made narrower.
func (t *Table) columnWidths() []int {
	var widths []int
	for _, r := range t.rows {
		for c, cell := range r {
			if c == len(widths) {
				widths = append(widths, 0)
			}
			widths[c] = max(widths[c], DisplayWidth(cell))
		}
	}
	if t.width <= 0 || len(widths) == 0 {
		return widths
	}
	total := columnGap * (len(widths) - 1)
	for _, w := range widths {
		total += w
	}
	// First the widest column alone gives up what is too much, down to a
	// width still worth reading; then the next widest; then, if the
	// terminal is narrower still, every column down to its least. Of two
	// as wide, the later gives. A date, a time, a phone number or an MRN
	// cut short is a wrong one, not a shorter one: those columns never
	// give, and a line too wide for them all wraps rather than lie.
	fixed := t.fixedColumns(len(widths))
	for _, floor := range []int{readableColumn, minColumn} {
		for total > t.width {
			widest := -1
			for c, w := range widths {
				if !fixed[c] && w > floor && (widest < 0 || w >= widths[widest]) {
					widest = c
				}
			}
			if widest < 0 {
				break
			}
			cut := min(total-t.width, widths[widest]-floor)
			widths[widest] -= cut
			total -= cut
		}
	}
	return widths
}

// fixedCell is a value of a fixed format: a date or time (2026-06-15
// 09:30), a phone number ((555) 201-3344, +1 555 201 3344) or an ID or
// MRN (P1000, CB000241, A00579, #12): digits and punctuation, after a
// short prefix of letters at most.
var fixedCell = regexp.MustCompile(`^\pL{0,4}[-+#()./:T 0-9]*[0-9][-+#()./:T 0-9]*$`)

// fixedColumns reports which of n columns hold fixed-format values in every
// cell that is not empty.
func (t *Table) fixedColumns(n int) []bool {
	fixed := make([]bool, n)
	seen := make([]bool, n)
	for i := range fixed {
		fixed[i] = true
	}
	body := t.rows
	if t.header && len(body) > 0 {
		body = body[1:]
	}
	for _, r := range body {
		for c, cell := range r {
			if cell == "" {
				continue
			}
			seen[c] = true
			fixed[c] = fixed[c] && fixedCell.MatchString(cell)
		}
	}
	for c := range fixed {
		fixed[c] = fixed[c] && seen[c]
	}
	return fixed
}

// DisplayWidth is how many columns s takes on a terminal: East Asian wide
// characters take two, combining marks none.
func DisplayWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	switch {
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// Truncate cuts s to at most n columns, ending in … when it was cut.
func Truncate(s string, n int) string {
	if DisplayWidth(s) <= n {
		return s
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		w := runeWidth(r)
		if used+w > n-1 {
			break
		}
		b.WriteRune(r)
		used += w
	}
	return b.String() + "…"
}

// Date renders a date of birth, or "" when unknown.
func Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// DateTime renders a wall-clock time to the minute.
func DateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02 15:04")
}

// Plural renders "1 patient" / "2 patients".
func Plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// TellOrphans says that files a deleted database had left beside the new
// one were moved aside, and where: a stale head file would otherwise have
// been read as a tampered log.
func TellOrphans(w io.Writer, moved []string) {
	for _, m := range moved {
		fmt.Fprintf(w, "Note: a database deleted from this path had left %s beside it; it was moved to %s (delete it if the deletion was meant).\n",
			filepath.Base(beforeOrphaned(m)), m)
	}
}

func beforeOrphaned(p string) string {
	name, _, _ := strings.Cut(p, ".orphaned-")
	return name
}
