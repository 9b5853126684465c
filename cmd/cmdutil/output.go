package cmdutil

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteJSON writes v as indented JSON followed by a newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Table prints aligned columns for people, or tab-separated lines for
// scripts, so that `cut -f` works on piped output.
type Table struct {
	w      io.Writer
	tw     *tabwriter.Writer
	forTTY bool
}

// NewTable starts a table on w. forTTY chooses aligned columns with a header.
func NewTable(w io.Writer, forTTY bool, header ...string) *Table {
	t := &Table{w: w, forTTY: forTTY}
	if forTTY {
		t.tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		if len(header) > 0 {
			t.Row(header...)
		}
	}
	return t
}

// Row adds one row. Tabs and newlines inside a field are flattened so that a
// stray one cannot break the columns.
func (t *Table) Row(fields ...string) {
	clean := make([]string, len(fields))
	for i, f := range fields {
		clean[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(f)
	}
	line := strings.Join(clean, "\t") + "\n"
	if t.tw != nil {
		io.WriteString(t.tw, line)
		return
	}
	io.WriteString(t.w, line)
}

// Flush writes out an aligned table.
func (t *Table) Flush() error {
	if t.tw != nil {
		return t.tw.Flush()
	}
	return nil
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
