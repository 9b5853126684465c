package store

import "fmt"

// BoundaryError says the database's folder or one of its files can be
// changed by another account, so Carebook cannot vouch for what it reads
// there or keep what it writes there private. The folder is the boundary:
// whoever can write in it can link the database away during forget's
// rewrite, plant a configuration, or replace the audit head.
type BoundaryError struct {
	Path    string // the folder or file
	Problem string // what is wrong, in words
	Fix     string // what to do, usually a command
}

func (e *BoundaryError) Error() string {
	return fmt.Sprintf("refused: %s %s, so another account could change or copy the practice's data; %s", e.Path, e.Problem, e.Fix)
}
