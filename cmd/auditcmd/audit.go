// Package auditcmd is `carebook audit`: verify the tamper-evident audit
// log, show who saw or changed a patient, list disclosures and export an
// offline copy.
package auditcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/complete"
	"github.com/carebook/carebook/internal/atomicfile"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Options holds what every audit subcommand needs.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)
	JSON    bool
}

// NewCmdAudit builds `carebook audit` and its subcommands.
func NewCmdAudit(f *cmdutil.Factory) *cobra.Command {
	base := func() *Options {
		return &Options{IO: f.IOStreams, Backend: f.ExistingBackend}
	}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify the audit log, report access to a patient, list disclosures",
		Long: `Every read and every change, from every channel, is one row of the audit log.
Each row's hash covers its content and the row before it, and the rows form a
Merkle tree whose head is kept in a file beside the database (.audit-head).
An edited, deleted, inserted or reordered row, or a shortened log, no longer
verifies, and Carebook refuses to record anything more until someone has
looked.`,
	}
	cmd.AddCommand(newCmdVerify(base()), newCmdLog(base(), false), newCmdLog(base(), true), newCmdExport(base()))
	return cmd
}

// VerifyOptions are `audit verify`'s.
type VerifyOptions struct {
	*Options
	File string
}

func newCmdVerify(o *Options) *cobra.Command {
	opts := &VerifyOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check every audit row's hash, the chain and the tree head",
		Long: `Recompute every row's hash from its content, check that each row follows the
one before, and compare the Merkle tree with the head file beside the database.
The first bad row is named. With --file, also check an offline copy made by
` + "`audit export`" + ` against the live log: every row in it must still be in the
log, unchanged.`,
		Args: cmdutil.Args(0, 0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return RunVerify(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.File, "file", "", "also check this `export` against the live log")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	return cmd
}

// RunVerify verifies the log, and an exported copy when asked.
func RunVerify(ctx context.Context, opts *VerifyOptions) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	var offline io.Reader
	if opts.File != "" {
		f, err := os.Open(opts.File)
		if err != nil {
			return fmt.Errorf("audit verify --file: %w", err)
		}
		defer f.Close()
		offline = f
	}
	rep, err := b.AuditVerify(ctx, offline)
	if err != nil {
		return err
	}
	if opts.JSON {
		if err := cmdutil.WriteJSON(opts.IO.Out, rep); err != nil {
			return err
		}
		if !rep.OK {
			return cmdutil.ErrSilent
		}
		return nil
	}
	if rep.Error != "" {
		advice := investigate
		switch rep.HeadProblem {
		case "damaged":
			advice = fmt.Sprintf(headDamagedAdvice, cmdutil.Plural(int(rep.Rows), "row", "rows"))
		case "missing":
			advice = fmt.Sprintf(headMissingAdvice, cmdutil.Plural(int(rep.Rows), "row", "rows"))
		}
		return fmt.Errorf("audit log FAILED verification: %s\n%s", rep.Error, advice)
	}
	fmt.Fprintf(opts.IO.Out, "Audit log verified: %s (%d redacted after a forget), tree head %s.\n",
		cmdutil.Plural(int(rep.Rows), "row", "rows"), rep.Redacted, rep.Tree)
	for _, e := range rep.Restores {
		fmt.Fprintln(opts.IO.Out, epoch(e))
	}
	if rep.Pending != "" {
		fmt.Fprintln(opts.IO.Out, "Warning: "+rep.Pending)
	}
	if rep.FileChecked {
		if rep.FileError != "" {
			return fmt.Errorf("%s does not match the live log: %s\n%s", opts.File, rep.FileError, investigate)
		}
		fmt.Fprintf(opts.IO.Out, "%s: all %s are in the live log, unchanged.\n", opts.File, cmdutil.Plural(rep.FileRows, "row", "rows"))
	}
	return nil
}

// epoch says that the log was restored, when, and where the rows it rolled
// back are kept: a restore must not read as a log that was always so.
func epoch(e store.RestoreEpoch) string {
	made := e.BackupOf
	if t, err := time.Parse(time.RFC3339, e.BackupOf); err == nil {
		made = t.UTC().Format("2006-01-02 15:04 UTC")
	}
	s := fmt.Sprintf("Restored at row %d, on %s, from a backup of %s: ", e.Row, e.At.UTC().Format("2006-01-02 15:04 UTC"), made)
	switch {
	case e.Unreadable:
		return s + "the database it replaced could not be read and is kept whole in " + e.KeptIn + " beside the database."
	case e.RolledBack == 0:
		return s + "no rows were rolled back."
	}
	s += cmdutil.Plural(int(e.RolledBack), "later row was", "later rows were") + " rolled back"
	if e.Disclosures > 0 {
		s += fmt.Sprintf(" (%s among them)", cmdutil.Plural(e.Disclosures, "disclosure", "disclosures"))
	}
	s += ", kept in " + e.KeptIn + " beside the database"
	if e.Forgets > 0 {
		s += fmt.Sprintf("; %s rolled back, so those patients are back: forget them again", cmdutil.Plural(e.Forgets, "forget was", "forgets were"))
	}
	return s + "."
}

// headDamagedAdvice and headMissingAdvice explain a head file that is the
// problem: the rows verified, and what the head would have proved.
const headDamagedAdvice = `The %s themselves verify: each row's hash and the chain are intact. The head file is
what proves that no rows were cut from the end and that the log was not swapped for
another, and it is not a head Carebook wrote (a disk error, or an edit).
What to do: Carebook records nothing until this is settled. Put back an undamaged copy
of the head file if you have one (it sits beside the database, same name plus
.audit-head); otherwise restore the last good backup (carebook restore BACKUP --force,
which keeps the audit rows it rolls back in a file beside the database).`

const headMissingAdvice = `The %s themselves verify: each row's hash and the chain are intact. The head file is
what proves that no rows were cut from the end and that the log was not swapped for
another, and it is gone.
What to do: if this database was copied or moved here without it, copy its .audit-head
from where it came from (the database's name plus .audit-head). Otherwise keep the
database as it is, and restore the last good backup (carebook restore BACKUP --force).`

const investigate = `What to do: do not make changes. Keep this database file and its .audit-head as they are
(copy them somewhere safe), compare with your latest backup and audit exports, and if
the log was tampered with, restore the last good backup (carebook restore).`

// LogOptions are `audit log`'s and `audit disclosures`'.
type LogOptions struct {
	*Options
	Patient     tools.PatientRef
	Since       string
	Until       string
	User        string
	Disclosures bool
}

func newCmdLog(o *Options, disclosures bool) *cobra.Command {
	opts := &LogOptions{Options: o, Disclosures: disclosures}
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Show who looked at or changed a patient, and when",
		Long: `List audit rows, oldest first: the access report a practice gives a patient or
an auditor. --since and --until take dates like 2026-01-01, "90 days ago" or
"January"; --until includes that day.`,
		Example: `  carebook audit log --patient P1002
  carebook audit log --since 2026-01-01 --user alice --json`,
		Args: cmdutil.Args(0, 0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.CheckDay("since", opts.Since); err != nil {
				return err
			}
			if err := cmdutil.CheckDay("until", opts.Until); err != nil {
				return err
			}
			return RunLog(cmd.Context(), opts)
		},
	}
	if disclosures {
		cmd.Use = "disclosures"
		cmd.Short = "List disclosures: records and lists that left Carebook (HIPAA 164.528)"
		cmd.Long = `List every export logged as a disclosure: a patient's record given to them
(right of access) and marketing lists, with recipient, purpose and file.`
		cmd.Example = `  carebook audit disclosures
  carebook audit disclosures --patient P1002`
	}
	cmd.Flags().StringVar(&opts.Patient.Match, "patient", "", "only rows about this patient (MRN or name)")
	cmd.Flags().StringVar(&opts.Patient.Born, "born", "", "year or date of birth, to tell namesakes apart")
	cmd.Flags().StringVar(&opts.Since, "since", "", "only rows on or after this date")
	cmd.Flags().StringVar(&opts.Until, "until", "", "only rows up to this date (inclusive)")
	if !disclosures {
		cmd.Flags().StringVar(&opts.User, "user", "", "only rows by this staff member or OS account")
		complete.Flag(cmd, "user", complete.Staff(o.Backend))
	}
	complete.Flag(cmd, "patient", complete.MRNs(o.Backend))
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print rows as JSON")
	return cmd
}

// RunLog prints the rows the flags select. Reading the log is itself
// logged: its rows may name patients.
func RunLog(ctx context.Context, opts *LogOptions) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	rows, err := b.AuditLog(ctx, backend.AuditLogRequest{Channel: cmdutil.ChannelCLI, Patient: opts.Patient,
		Since: opts.Since, Until: opts.Until, User: opts.User, Disclosures: opts.Disclosures})
	if err != nil {
		return err
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(opts.IO.ErrOut, "No audit rows match.")
		return nil
	}
	var t *cmdutil.Table
	if opts.Disclosures {
		t = cmdutil.NewTableFor(opts.IO, "#", "WHEN (UTC)", "WHO", "WHAT", "PATIENTS", "DISCLOSURE")
	} else {
		t = cmdutil.NewTableFor(opts.IO, "#", "WHEN (UTC)", "WHO", "CHANNEL", "WHAT", "PATIENTS", "ROWS", "OUTCOME", "REQUEST / MESSAGE")
	}
	for _, r := range rows {
		what := toolOf(r)
		patients := strconv.Itoa(len(r.PatientIDs))
		who := r.User
		if r.Staff != "" {
			who = r.Staff + " (" + r.User + ")"
		}
		if opts.Disclosures {
			t.Row(strconv.FormatInt(r.Seq, 10), r.At.Format("2006-01-02 15:04:05"), who, what, patients, r.Message)
			continue
		}
		text := r.Request
		if r.Message != "" {
			text = strings.TrimSpace(text + " — " + r.Message)
			text = strings.TrimPrefix(text, "— ")
		}
		if r.Redacted {
			text = "(text redacted: the patient was forgotten)"
		}
		t.Row(strconv.FormatInt(r.Seq, 10), r.At.Format("2006-01-02 15:04:05"), who, r.Channel, what, patients,
			strconv.FormatInt(r.Rows, 10), r.Outcome, truncate(text, 80))
	}
	return t.Flush()
}

func toolOf(r store.AuditRowJSON) string {
	var a struct {
		Tool string `json:"tool"`
	}
	if json.Unmarshal([]byte(r.Action), &a) == nil && a.Tool != "" {
		return a.Tool
	}
	if r.Redacted {
		return "(redacted)"
	}
	return "-"
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func startOfDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// ExportOptions are `audit export`'s.
type ExportOptions struct {
	*Options
	Since  string
	Output string
}

func newCmdExport(o *Options) *cobra.Command {
	opts := &ExportOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write an offline copy of the audit log, with its hashes",
		Long: `Write the audit rows (from --since on, or all) as JSON lines with their hashes,
then one line with the tree head. Keep the copy somewhere Carebook cannot
write (a USB stick in a drawer, a WORM share): ` + "`carebook audit verify --file`" + `
later proves that the live log still holds every row of it, unchanged. With
--output the file is created read-only (0400).`,
		Example: `  carebook audit export --since 2026-01-01 > audit-2026.jsonl
  carebook audit export --output /media/usb/audit-2026-11.jsonl`,
		Args: cmdutil.Args(0, 0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.CheckDay("since", opts.Since); err != nil {
				return err
			}
			return RunExport(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Since, "since", "", "only rows on or after this date")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write to this new file (0400) instead of standard output")
	return cmd
}

// RunExport writes the copy: to a new file (read-only, whole or not at
// all), or to standard output.
func RunExport(ctx context.Context, opts *ExportOptions) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	req := backend.AuditExportRequest{Since: opts.Since}
	if opts.Output == "" {
		_, err := b.AuditExport(ctx, req, opts.IO.Out)
		return err
	}
	var view *backend.AuditExportView
	err = atomicfile.Write(opts.Output, atomicfile.Options{Perm: 0o400, NoReplace: true}, func(w io.Writer) error {
		var err error
		view, err = b.AuditExport(ctx, req, w)
		return err
	})
	if err != nil {
		return fmt.Errorf("audit export %s: %w (no file was left)", opts.Output, err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "Wrote %s to %s (read-only).\n", cmdutil.Plural(view.Rows, "audit row", "audit rows"), opts.Output)
	return nil
}
