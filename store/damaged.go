package store

import (
	"errors"
	"fmt"
	"strings"
)

// DamagedError says the database file cannot be read: DuckDB found a
// block whose checksum is wrong, or gave up on a transaction it could not
// roll back. Nothing Carebook can do with that file is safe; the fix is the
// last backup.
type DamagedError struct {
	Path string
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("the database file %s is damaged and cannot be read; restore the last backup (carebook restore BACKUP --db %s --force) and run carebook doctor", e.Path, e.Path)
}

// DiskFullError says the disk holding the database is full.
type DiskFullError struct {
	Path string
}

func (e *DiskFullError) Error() string {
	return fmt.Sprintf("the disk holding %s is full, so nothing was written; free some space and try again", e.Path)
}

// Damaged words err as one sentence when it is DuckDB reporting a damaged
// file (or a full disk) at path, whatever was being done at the time; other
// errors come back as they are. Its text would otherwise be the driver's,
// over several lines ("FATAL Error: Failed to rollback transaction…").
func Damaged(path string, err error) error {
	if err == nil {
		return nil
	}
	var d *DamagedError
	var full *DiskFullError
	if errors.As(err, &d) || errors.As(err, &full) {
		return err
	}
	switch msg := err.Error(); {
	case strings.Contains(strings.ToLower(msg), "no space left"):
		return &DiskFullError{Path: path}
	case isCorruptText(msg):
		return &DamagedError{Path: path}
	}
	return err
}

// isCorruptText recognises DuckDB's words for a damaged file. DuckDB
// reports them as plain IO or FATAL errors, so the text is all there is;
// its error classes are capitalised as below, which keeps a model's or a
// file's "internal error" from reading as a damaged database.
func isCorruptText(msg string) bool {
	for _, s := range []string{"Corrupt database file", "does not match stored checksum",
		"Failed to rollback transaction", "FATAL Error", "INTERNAL Error", "Serialization Error",
		"not a valid DuckDB database"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
