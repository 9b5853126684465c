package store

import (
	"encoding/json"
	"fmt"
	"strings"
)

// lockSuffix names the lock file beside the database. Every carebook
// process holds it, exclusively, for as long as it has the database open:
// DuckDB's own lock is released when its last connection closes, which
// forget's rewrite must do before it renames the new file into place, and
// the lock file keeps everyone else out across that gap. It also says who
// holds the database, so that a second process can say whom it waits for,
// or which server to use.
const lockSuffix = ".lock"

// LockPath is the lock file for the database at dbPath.
func LockPath(dbPath string) string { return dbPath + lockSuffix }

// Holder is what the lock file says about the process holding it.
type Holder struct {
	PID int `json:"pid"`
	// Server is set when the holder is carebook serve.
	Server bool `json:"server,omitempty"`
	// Socket is the server's socket, for the message a second process
	// prints.
	Socket string `json:"socket,omitempty"`
}

func (h Holder) marshal() []byte {
	b, _ := json.Marshal(h)
	return append(b, '\n')
}

func parseHolder(data []byte) Holder {
	var h Holder
	_ = json.Unmarshal([]byte(strings.TrimSpace(string(data))), &h)
	return h
}

// LockedError says another process holds the database file.
type LockedError struct {
	Path   string
	PID    int // 0 when it could not be told
	Holder Holder
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("the database is in use by another carebook process (pid %d)", e.PID)
	}
	return "the database is in use by another carebook process"
}

// ServerHoldsError says carebook serve owns the database: commands must go
// through it rather than open the file.
type ServerHoldsError struct {
	Path   string
	Holder Holder
}

func (e *ServerHoldsError) Error() string {
	socket := e.Holder.Socket
	if socket == "" {
		socket = "its socket"
	}
	return fmt.Sprintf("carebook serve (pid %d) owns %s: work through it with --server %s (or set $CAREBOOK_SERVER, or server in the configuration file)",
		e.Holder.PID, e.Path, socket)
}
