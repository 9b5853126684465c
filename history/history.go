// Package history keeps the REPL's history file, when the practice turns it
// on (history = true in the configuration): beside the database, mode 0600,
// and scrubbed of a patient's lines when they are forgotten. Off, history
// lives in the REPL's memory only, because requests name patients.
package history

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/carebook/carebook/internal/atomicfile"
)

// Limit is how many lines the history keeps (the line editor's HistoryLimit).
const Limit = 500

// Path is the history file for the database at dbPath.
func Path(dbPath string) string { return dbPath + ".history" }

// Prepare makes sure the file exists and only its owner can read it, before
// the line editor opens it (which would create it 0666 less the umask).
//
// A link planted at the file's name is refused, not followed: the history
// would otherwise be appended to wherever it points.
func Prepare(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY|noFollow, 0o600)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("history file %s is a symbolic link, which Carebook does not follow beside a database; remove it", path)
		}
		return fmt.Errorf("history file %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("history file %s: %w", path, err)
	}
	return trim(path)
}

// trim keeps the last Limit lines, through atomicfile (0600, no link
// followed). A longer file would have the line editor rewrite it itself, by
// way of PATH.tmp opened 0666 less the umask, through any link planted at
// that name, and renamed over the history.
func trim(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("history file %s: %w", path, err)
	}
	var lines [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			lines = append(lines, l)
		}
	}
	if bytes.Count(data, []byte("\n")) <= Limit {
		return nil
	}
	if len(lines) > Limit {
		lines = lines[len(lines)-Limit:]
	}
	var kept bytes.Buffer
	for _, l := range lines {
		kept.Write(l)
		kept.WriteByte('\n')
	}
	if err := atomicfile.WriteFile(path, kept.Bytes()); err != nil {
		return fmt.Errorf("history file %s: %w", path, err)
	}
	return nil
}

// Scrub removes every line for which names reports true, by writing the
// rest to a new file and renaming it over the old one. A missing file has
// nothing to scrub.
func Scrub(path string, names func(line string) bool) (removed int, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("scrub history %s: %w", path, err)
	}
	var kept bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if names(sc.Text()) {
			removed++
			continue
		}
		kept.Write(sc.Bytes())
		kept.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("scrub history %s: %w", path, err)
	}
	if removed == 0 {
		return 0, nil
	}
	if err := atomicfile.WriteFile(path, kept.Bytes()); err != nil {
		return 0, fmt.Errorf("scrub history %s: %w", path, err)
	}
	return removed, nil
}
