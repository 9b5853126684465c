// Package wire is how carebook and carebook serve talk over the Unix
// socket: HTTP/1.1 with versioned paths (/v1/OP), JSON requests, and
// NDJSON replies (zero or more progress or line frames, then one final
// frame with the result or the error), in the shape of Ollama's pull
// stream. Data that is a file (an export, a backup) streams as raw bytes
// with the final frame in an HTTP trailer, so that a stream cut short is
// never taken for a whole file. A TLS listener for the practice's other
// workstations would carry the same requests unchanged.
package wire

import (
	"encoding/json"

	"github.com/carebook/carebook/backend"
)

// Headers.
const (
	// Protocol carries backend.ProtocolVersion on every request and reply.
	Protocol = "Carebook-Protocol"
	// Session carries the session token a login returned.
	Session = "Carebook-Session"
	// Request carries the request of an upload, whose body is the data.
	Request = "Carebook-Request"
	// Final is the trailer of a download: a Frame.
	Final = "Carebook-Final"
)

// Prefix is the path prefix of this protocol version.
const Prefix = "/v1/"

// Operations, by path.
const (
	OpLogin         = "session"
	OpLogout        = "logout"
	OpInfo          = "info"
	OpDiagnose      = "diagnose"
	OpPrepare       = "prepare"
	OpAsk           = "ask"
	OpChoose        = "choose"
	OpPrepareForget = "prepare_forget"
	OpExecute       = "execute"
	OpBatch         = "batch"
	OpResolve       = "resolve"
	OpRecord        = "record"
	OpTags          = "tags"
	OpComplete      = "complete"
	OpAuditLog      = "audit_log"
	OpReport        = "report"
	OpImport        = "import"
	OpMigrate       = "migrate"
	OpExport        = "export"
	OpAuditExport   = "audit_export"
	OpAuditVerify   = "audit_verify"
	OpBackup        = "backup"
	OpBackupDone    = "backup_done"
	OpStaffAdd      = "staff_add"
	OpStaffList     = "staff_list"
	OpStaffDisable  = "staff_disable"
	OpStaffPIN      = "staff_pin"
	OpLock          = "lock"
	OpUnlock        = "unlock"
	OpMyTasks       = "my_tasks"
	OpWarm          = "warm"
)

// Frame is one line of a reply.
type Frame struct {
	Progress *backend.Progress   `json:"progress,omitempty"`
	Line     *backend.LineResult `json:"line,omitempty"`
	Result   json.RawMessage     `json:"result,omitempty"`
	Error    *backend.WireError  `json:"error,omitempty"`
	// Done marks the final frame.
	Done bool `json:"done,omitempty"`
}

// LoginRequest opens a session: the staff member and PIN, needed only
// when the OS account is shared. Who the OS account is, the server asks
// the kernel.
type LoginRequest struct {
	Staff string `json:"staff,omitempty"`
	PIN   string `json:"pin,omitempty"`
}

// LoginReply is the session's token and what it is.
type LoginReply struct {
	Token string        `json:"token"`
	Info  *backend.Info `json:"info"`
}

// VerifyRequest is audit verify's, with the offline copy inline.
type VerifyRequest struct {
	Offline []byte `json:"offline,omitempty"`
	Check   bool   `json:"check,omitempty"`
}
