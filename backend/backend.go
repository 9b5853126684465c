// Package backend is what every command runs on: the practice database as
// a set of operations, whether the command opens the file itself (direct
// mode, a practice of one) or works through carebook serve (team mode).
// The terminal side of a command reads input, shows previews, asks and
// prints; deciding, resolving, executing and auditing happen behind this
// interface, in one place (package service), for both modes.
//
// This package holds the interface, the wire types and the typed errors.
// It holds no SQL and no HTTP.
package backend

import (
	"context"
	"io"

	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// ProtocolVersion is the version of the operations and their wire types. A
// client and a server of different versions refuse each other with a
// sentence, never a decoding error.
//
// 2: forget and migrate take DryRun, a plan may be NoOp (nothing waits for
// a confirmation), and rename_tag and delete_tag are actions. A server of
// version 1 would ignore a dry run's flag and keep a forget's plan.
//
// 3: Warm and MyTasks (the REPL's warm-up and its greeting), which a
// server of version 2 has no route for; Report answers with the rendered
// file (a version 2 server sent numbers this client cannot decode).
const ProtocolVersion = 3

// Backend is the practice database, as one staff member sees it.
type Backend interface {
	Planner
	Reader
	Transfers
	Admin
}

// Planner is everything that goes preview, confirm, execute. Plans live
// where the database is, named by an ID, taken once, and expire.
type Planner interface {
	// Prepare validates and resolves an action (no model). A read is
	// executed at once unless DryRun; a write is executed at once only with
	// Yes. Otherwise the reply holds a plan to Execute or decline.
	Prepare(ctx context.Context, req PrepareRequest) (*Reply, error)
	// Ask reads the vocabulary, calls the model with no lock held, then
	// prepares what it decided as Prepare does. An ambiguous patient gives
	// an *AmbiguousError with a PlanID to Choose with.
	Ask(ctx context.Context, req AskRequest, progress func(Progress)) (*Reply, error)
	// Choose continues an ambiguous request with one of its candidates.
	Choose(ctx context.Context, req ChooseRequest) (*Reply, error)
	// PrepareForget previews deleting one patient for good.
	PrepareForget(ctx context.Context, req ForgetRequest) (*Reply, error)
	// Execute runs a plan once, or records that it was declined.
	Execute(ctx context.Context, req ExecuteRequest, progress func(Progress)) (*Reply, error)
	// Batch runs many actions with one confirmation given for all (run
	// --yes) or none executed (--dry-run), reporting each line as it is
	// done. Writes are committed in small groups, each line all or nothing.
	Batch(ctx context.Context, req BatchRequest, line func(LineResult)) error
}

// Reader reads without a plan.
type Reader interface {
	// Resolve names patients by MRN: what staff typed, checked. Every
	// reference is tried, and all that fail are reported together.
	Resolve(ctx context.Context, req ResolveRequest) ([]tools.PatientBrief, error)
	// Record is one patient's whole record (show), an audited read.
	Record(ctx context.Context, req RecordRequest) (*RecordView, error)
	// Tags lists the tags in use with their patient counts (no patient is
	// named, so nothing is audited).
	Tags(ctx context.Context) ([]TagCount, error)
	// Complete offers completions for the REPL and the shell: tags, MRNs,
	// or patient names (an audited read of the names returned).
	Complete(ctx context.Context, req CompleteRequest) ([]string, error)
	// AuditLog lists audit rows (audit log, audit disclosures).
	AuditLog(ctx context.Context, req AuditLogRequest) ([]store.AuditRowJSON, error)
	// Report is the practice's aggregates for a period, small counts
	// suppressed where the database is: nothing finer leaves it.
	Report(ctx context.Context, req ReportRequest) (*ReportFile, error)
	// MyTasks counts the caller's open tasks due today and overdue (the
	// REPL's greeting). It names no patient, so nothing is audited.
	MyTasks(ctx context.Context) (*TaskCounts, error)
}

// Transfers move data in or out.
type Transfers interface {
	Import(ctx context.Context, req ImportRequest, csv io.Reader, progress func(Progress)) (*ImportView, error)
	Migrate(ctx context.Context, req MigrateRequest, progress func(Progress)) (*MigrateView, error)
	// Export writes the export to w after its disclosure is audited.
	Export(ctx context.Context, req ExportRequest, w io.Writer) (*ExportView, error)
	// AuditExport writes the audit log's offline copy to w.
	AuditExport(ctx context.Context, req AuditExportRequest, w io.Writer) (*AuditExportView, error)
	// AuditVerify recomputes the log, and checks an offline copy against
	// it when one is given.
	AuditVerify(ctx context.Context, offline io.Reader) (*VerifyView, error)
	// Backup writes an encrypted snapshot to w: only ciphertext leaves.
	Backup(ctx context.Context, req BackupRequest, w io.Writer, progress func(Progress)) (*BackupView, error)
	// BackupDone records how the backup ended once its file is complete
	// and synced, or failed: the audit log says "ok" only then.
	BackupDone(ctx context.Context, req BackupDoneRequest) error
}

// Admin is about the backend itself and the people who use it.
type Admin interface {
	// Info says who is asking, in which mode, on which database.
	Info(ctx context.Context) (*Info, error)
	// Diagnose runs doctor's checks where they apply: the database's and
	// the model's, on the side that holds them.
	Diagnose(ctx context.Context) ([]Check, error)
	StaffAdd(ctx context.Context, req StaffRequest) (*StaffView, error)
	StaffList(ctx context.Context) ([]StaffView, error)
	StaffDisable(ctx context.Context, req StaffRequest) (*StaffView, error)
	StaffPIN(ctx context.Context, req StaffRequest) (*StaffView, error)
	// Warm readies the model for the first request: it checks the model as
	// before every request, then sends it the prompt's fixed prefix (the
	// system prompt and the examples, nothing of the practice's), so that
	// Ollama has the model loaded and that prefix in its cache. The side
	// that holds the model warms it: carebook serve its own. The REPL calls
	// it as a session starts.
	Warm(ctx context.Context) error
	// Lock records that a session locked itself (idle logoff), and Unlock
	// that it was unlocked, with the PIN when one is needed.
	Lock(ctx context.Context) error
	Unlock(ctx context.Context, req UnlockRequest) error
}
