package backend

import (
	"fmt"
	"time"

	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Channels name where a request came from, in the audit log.
const (
	ChannelCLI     = "cli"
	ChannelAsk     = "ask"
	ChannelRun     = "run"
	ChannelREPL    = "repl"
	ChannelExport  = "export"
	ChannelImport  = "import"
	ChannelBackup  = "backup"
	ChannelStaff   = "staff"
	ChannelSession = "session"
)

// Progress is one step of a long operation, for a bar or a spinner.
type Progress struct {
	// Stage names the step: "checking model", "asking", "writing", …
	Stage string `json:"stage"`
	Done  int64  `json:"done,omitempty"`
	Total int64  `json:"total,omitempty"`
}

// PrepareRequest is one action to prepare.
type PrepareRequest struct {
	Channel string       `json:"channel"`
	Action  tools.Action `json:"action"`
	// Line, when set instead of Action, is an action as written in a file:
	// parsed where the database is, so that a line that is not an action
	// is audited like any other attempt.
	Line string `json:"line,omitempty"`
	// Request is the text the action came from, if any, for the audit log.
	Request string `json:"request,omitempty"`
	// Yes confirms a write in advance: it is executed at once.
	Yes bool `json:"yes,omitempty"`
	// DryRun executes nothing, not even a read; the preview is audited.
	DryRun bool `json:"dry_run,omitempty"`
}

// AskRequest is one plain-language request for the model.
type AskRequest struct {
	Channel string `json:"channel"`
	Request string `json:"request"`
	Yes     bool   `json:"yes,omitempty"`
	DryRun  bool   `json:"dry_run,omitempty"`
}

// ChooseRequest picks one candidate of an ambiguous request.
type ChooseRequest struct {
	PlanID string `json:"plan_id"`
	MRN    string `json:"mrn"`
	Yes    bool   `json:"yes,omitempty"`
	DryRun bool   `json:"dry_run,omitempty"`
}

// ForgetRequest names the patient to forget.
type ForgetRequest struct {
	Channel string           `json:"channel"`
	Patient tools.PatientRef `json:"patient"`
	// DryRun previews and keeps no plan: nothing can be executed.
	DryRun bool `json:"dry_run,omitempty"`
}

// ExecuteRequest runs, or declines, a plan.
type ExecuteRequest struct {
	PlanID string `json:"plan_id"`
	// Confirmed says the person said yes. Without it the plan is declined:
	// the audit log records that, with the patients the preview showed.
	Confirmed bool `json:"confirmed"`
	// Typed is what the person typed to confirm, for a plan with
	// ConfirmText (forget asks for the MRN).
	Typed string `json:"typed,omitempty"`
	// Reason says why a plan is declined ("not confirmed", "no terminal").
	Reason string `json:"reason,omitempty"`
}

// Reply is a prepared plan, its result when it was executed, and what the
// model said about it when a model decided.
type Reply struct {
	Plan   *tools.PlanView   `json:"plan,omitempty"`
	Result *tools.ResultJSON `json:"result,omitempty"`
	// Model and Digest name the model that decided, for ask.
	Model  string `json:"model,omitempty"`
	Digest string `json:"digest,omitempty"`
	// Forgotten is what a forget removed.
	Forgotten *ForgetView `json:"forgotten,omitempty"`
	// Expires is when an unexecuted plan stops being executable.
	Expires time.Time `json:"expires,omitzero"`
}

// ForgetView is what a forget did.
type ForgetView struct {
	MRNCommitment string `json:"mrn_commitment"`
	// Receipt is the salt of the commitment: given once, stored nowhere.
	Receipt      string `json:"receipt"`
	Tags         int    `json:"tags"`
	Appointments int    `json:"appointments"`
	Interactions int    `json:"interactions"`
	Tasks        int    `json:"tasks"`
	// ConsentChanges is how many rows of the consent history went.
	ConsentChanges int     `json:"consent_changes"`
	AuditRows      int     `json:"audit_rows_redacted"`
	HistoryLines   int     `json:"history_lines_removed"`
	Compacted      bool    `json:"compacted"`
	Seconds        float64 `json:"seconds"`
}

// Deleted names the rows a forget deletes besides the patient, for the
// preview and for the report after it: the same words in both, so that
// what the person agreed to is what they are told was done.
func (v ForgetView) Deleted() string {
	return fmt.Sprintf("%s, %s, %s, %s and %s", plural(v.Tags, "tag", "tags"),
		plural(v.Appointments, "appointment", "appointments"), plural(v.Interactions, "interaction", "interactions"),
		plural(v.Tasks, "task", "tasks"), plural(v.ConsentChanges, "consent-history entry", "consent-history entries"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// BatchRequest is a batch of actions (run FILE.jsonl).
type BatchRequest struct {
	Channel string      `json:"channel"`
	Lines   []BatchLine `json:"lines"`
	Yes     bool        `json:"yes,omitempty"`
	DryRun  bool        `json:"dry_run,omitempty"`
	// StopOnError stops at the first line that fails.
	StopOnError bool `json:"stop_on_error,omitempty"`
}

// BatchLine is one line of a batch: its number in the file, and the action
// as written (parsed where the database is, so that a bad line is audited
// like any other).
type BatchLine struct {
	Line   int    `json:"line"`
	Action string `json:"action"`
}

// LineResult is what became of one line of a batch.
type LineResult struct {
	Line   int               `json:"line"`
	Plan   *tools.PlanView   `json:"plan,omitempty"`
	Result *tools.ResultJSON `json:"result,omitempty"`
	Error  *WireError        `json:"error,omitempty"`
}

// ResolveRequest is references to check.
type ResolveRequest struct {
	Channel string             `json:"channel"`
	Refs    []tools.PatientRef `json:"refs"`
}

// RecordRequest names the patient to show.
type RecordRequest struct {
	Channel string           `json:"channel"`
	Patient tools.PatientRef `json:"patient"`
}

// RecordView is one patient's record.
type RecordView struct {
	tools.PatientJSON
	Appointments []tools.AppointmentJSON `json:"appointments"`
	Interactions []tools.InteractionJSON `json:"interactions"`
	// Tasks are the patient's open tasks, by due day.
	Tasks []tools.TaskJSON `json:"open_tasks"`
	// Consent is the history of the patient's marketing consent, oldest
	// first.
	Consent []tools.ConsentJSON `json:"consent_history"`
}

// TaskCounts are the caller's open tasks due today and overdue, for the
// REPL's greeting. Counts name no patient.
type TaskCounts struct {
	// Staff is whose tasks: the staff member, else the OS account.
	Staff    string `json:"staff"`
	DueToday int    `json:"due_today"`
	Overdue  int    `json:"overdue"`
}

// TagCount is a tag and how many patients carry it.
type TagCount struct {
	Name     string `json:"name"`
	Patients int    `json:"patients"`
}

// What a completion completes.
const (
	CompleteTags  = "tags"
	CompleteMRNs  = "mrns"
	CompleteNames = "names"
	// The practice's vocabulary, for flag values: no patient is read.
	CompleteProviders = "providers"
	CompleteTypes     = "types"
	CompleteStaff     = "staff"
)

// CompleteRequest asks for completions of Prefix.
type CompleteRequest struct {
	Channel string `json:"channel"`
	Kind    string `json:"kind"`
	Prefix  string `json:"prefix"`
}

// MaxCompletions bounds a completion's answer: a short prefix must not read
// the whole practice's names out.
const MaxCompletions = 50

// AuditLogRequest selects audit rows.
type AuditLogRequest struct {
	Channel string           `json:"channel"`
	Patient tools.PatientRef `json:"patient,omitzero"`
	// Since and Until are dates as typed (relative ones allowed); Until is
	// inclusive.
	Since       string `json:"since,omitempty"`
	Until       string `json:"until,omitempty"`
	User        string `json:"user,omitempty"`
	Disclosures bool   `json:"disclosures,omitempty"`
}

// ReportRequest is the period of a report: From inclusive, To exclusive,
// at the practice's midnights.
type ReportRequest struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Format string    `json:"format"`
}

// ReportFile is a report rendered where its numbers were read: the HTML
// page or its JSON, as Format says.
type ReportFile struct {
	Format string `json:"format"`
	Data   []byte `json:"data"`
}

// ImportRequest describes an uploaded CSV.
type ImportRequest struct {
	Kind     string            `json:"kind"`
	FileName string            `json:"file_name"`
	Map      map[string]string `json:"map,omitempty"`
	Encoding string            `json:"encoding,omitempty"`
	DryRun   bool              `json:"dry_run,omitempty"`
	SkipBad  bool              `json:"skip_bad,omitempty"`
	// Size is the upload's size in bytes, or -1, for progress.
	Size int64 `json:"size"`
}

// ImportView is what an import did.
type ImportView struct {
	Kind      string          `json:"kind"`
	File      string          `json:"file"`
	Rows      int             `json:"rows"`
	Inserted  int             `json:"inserted"`
	Updated   int             `json:"updated"`
	Unchanged int             `json:"unchanged"`
	TagLinks  int             `json:"tag_links"`
	Notes     int             `json:"notes"`
	DryRun    bool            `json:"dry_run"`
	Written   bool            `json:"written"`
	Bad       []RowErrorView  `json:"bad_rows"`
	Mapping   []ColumnMapView `json:"mapping"`
	// Skipped names the columns not imported.
	Skipped []string `json:"skipped_columns"`
}

// RowErrorView is one bad row, by line: never its values.
type RowErrorView struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// ColumnMapView is one column's mapping.
type ColumnMapView struct {
	Header string `json:"header"`
	Field  string `json:"field"`
}

// MigrateFile is one uploaded file of a migration.
type MigrateFile struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

// MigrateRequest is the files and the mapping the person confirmed, as
// TOML (migrate.Plan.TOML); the backend inspects and resolves again.
type MigrateRequest struct {
	Files   []MigrateFile `json:"files"`
	Mapping string        `json:"mapping"`
	// Encoding is the files' encoding when they have no byte order mark.
	Encoding string `json:"encoding,omitempty"`
	// DryRun makes the migration in a transaction and rolls it back: the
	// counts are real, and nothing is written.
	DryRun bool `json:"dry_run,omitempty"`
}

// MigrateView is migrate.Result, as JSON.
type MigrateView = map[string]any

// ExportRequest describes an export.
type ExportRequest struct {
	// Entity is patients, appointments, interactions or patient.
	Entity  string           `json:"entity"`
	Patient tools.PatientRef `json:"patient,omitzero"`
	Format  string           `json:"format"`
	Profile string           `json:"profile,omitempty"`
	To      string           `json:"to,omitempty"`
	Purpose string           `json:"purpose,omitempty"`
	// File is where the client writes it (its base name is recorded).
	File string `json:"file,omitempty"`
	// Internal marks an export for the practice's own use: recorded as a
	// read, not a disclosure to every patient in it.
	Internal bool `json:"internal,omitempty"`
}

// ExportView says what an export held.
type ExportView struct {
	Entity string `json:"entity"`
	Rows   int    `json:"rows"`
}

// AuditExportRequest selects the rows of an offline copy.
type AuditExportRequest struct {
	Since string `json:"since,omitempty"`
}

// AuditExportView says what an audit export held.
type AuditExportView struct {
	Rows int `json:"rows"`
}

// VerifyView is what audit verify found.
type VerifyView struct {
	OK       bool   `json:"ok"`
	Rows     int64  `json:"rows"`
	Redacted int64  `json:"redacted"`
	Tree     string `json:"tree"`
	Error    string `json:"error,omitempty"`
	// HeadProblem is "damaged" or "missing" when the head file beside the
	// database is what failed (the rows themselves verified).
	HeadProblem string `json:"head_problem,omitempty"`
	// FileRows and FileError are about the offline copy, when one was
	// checked.
	FileChecked bool   `json:"file_checked,omitempty"`
	FileRows    int    `json:"file_rows,omitempty"`
	FileError   string `json:"file_error,omitempty"`
	// Pending is a forget's unfinished rewrite, if any.
	Pending string `json:"pending,omitempty"`
	// Restores are the backups restored over this database, oldest first:
	// each rolled back the rows the replaced database held after the
	// backup, and says where they are kept.
	Restores []store.RestoreEpoch `json:"restores,omitempty"`
}

// BackupRequest says how to encrypt a backup.
type BackupRequest struct {
	// Passphrase or Recipient (an age public key), not both.
	Passphrase string `json:"passphrase,omitempty"`
	Recipient  string `json:"recipient,omitempty"`
	File       string `json:"file"`
}

// BackupDoneRequest says how a backup ended on its disk.
type BackupDoneRequest struct {
	File string `json:"file"`
	// Error is why it failed, or "".
	Error string `json:"error,omitempty"`
}

// BackupView says what a backup held.
type BackupView struct {
	Database string  `json:"database"`
	Bytes    int64   `json:"bytes"`
	Seconds  float64 `json:"seconds"`
}

// Info says who is asking, and of whom.
type Info struct {
	Protocol int `json:"protocol"`
	// Mode is "direct" or "server".
	Mode     string `json:"mode"`
	Database string `json:"database"`
	Server   string `json:"server,omitempty"`
	Staff    string `json:"staff,omitempty"`
	Role     string `json:"role,omitempty"`
	OSUser   string `json:"os_user"`
	Model    string `json:"model"`
	// IdleLogoff is how long a REPL may sit idle before it locks.
	IdleLogoff time.Duration `json:"idle_logoff"`
	// NeedsPIN says unlocking this session takes the PIN (an OS account
	// shared by several staff); otherwise Enter will do.
	NeedsPIN bool `json:"needs_pin,omitempty"`
}

// Check is one line of doctor's report.
type Check struct {
	Name   string `json:"check"`
	Status string `json:"status"` // ok, warn, fail
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Check statuses.
const (
	CheckOK   = "ok"
	CheckWarn = "warn"
	CheckFail = "fail"
)

// Roles, least privilege first.
const (
	RoleFrontDesk = "front-desk"
	RoleClinician = "clinician"
	RoleManager   = "manager"
)

// Roles lists every role.
var Roles = []string{RoleFrontDesk, RoleClinician, RoleManager}

// StaffRequest names a staff member and what to set.
type StaffRequest struct {
	Name   string `json:"name"`
	Role   string `json:"role,omitempty"`
	OSUser string `json:"os_user,omitempty"`
	// PIN is set or changed when not empty.
	PIN string `json:"pin,omitempty"`
}

// StaffView is a staff member as listed (never the PIN's hash).
type StaffView struct {
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	OSUser      string    `json:"os_user,omitempty"`
	HasPIN      bool      `json:"has_pin"`
	Disabled    bool      `json:"disabled"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
}

// UnlockRequest unlocks a locked session.
type UnlockRequest struct {
	PIN string `json:"pin,omitempty"`
}
