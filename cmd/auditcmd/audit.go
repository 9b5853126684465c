// Package auditcmd is `carebook audit`: verify the tamper-evident audit
// log, show who saw or changed a patient, list disclosures and export an
// offline copy.
package auditcmd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Options holds what every audit subcommand needs.
type Options struct {
	IO        *cmdutil.IOStreams
	OpenStore func(context.Context) (*store.Store, error)
	Now       func() (time.Time, error)
	JSON      bool
}

// NewCmdAudit builds `carebook audit` and its subcommands.
func NewCmdAudit(f *cmdutil.Factory) *cobra.Command {
	base := func() *Options {
		return &Options{IO: f.IOStreams, OpenStore: f.OpenStore, Now: f.Now}
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
		Args: cobra.NoArgs,
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
	st, err := opts.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, verr := st.VerifyAudit(ctx)
	var fileRows int
	var ferr error
	if verr == nil && opts.File != "" {
		fileRows, ferr = verifyExport(ctx, st, opts.File)
	}
	if opts.JSON {
		out := map[string]any{"ok": verr == nil && ferr == nil, "rows": rep.Rows, "redacted": rep.Redacted, "tree": rep.Tree}
		if verr != nil {
			out["error"] = verr.Error()
		}
		if opts.File != "" && verr == nil {
			out["file"] = map[string]any{"path": opts.File, "rows": fileRows, "ok": ferr == nil}
			if ferr != nil {
				out["file_error"] = ferr.Error()
			}
		}
		if err := cmdutil.WriteJSON(opts.IO.Out, out); err != nil {
			return err
		}
		if verr != nil || ferr != nil {
			return cmdutil.ErrSilent
		}
		return nil
	}
	if verr != nil {
		return fmt.Errorf("audit log FAILED verification: %w\n%s", verr, investigate)
	}
	fmt.Fprintf(opts.IO.Out, "Audit log verified: %s (%d redacted after a forget), tree head %s.\n",
		cmdutil.Plural(int(rep.Rows), "row", "rows"), rep.Redacted, rep.Tree)
	if opts.File != "" {
		if ferr != nil {
			return fmt.Errorf("%s does not match the live log: %w\n%s", opts.File, ferr, investigate)
		}
		fmt.Fprintf(opts.IO.Out, "%s: all %s are in the live log, unchanged.\n", opts.File, cmdutil.Plural(fileRows, "row", "rows"))
	}
	return nil
}

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
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
		cmd.Flags().StringVar(&opts.User, "user", "", "only rows by this OS user")
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print rows as JSON")
	return cmd
}

// RunLog prints the rows the flags select. Reading the log is itself
// logged: its rows may name patients.
func RunLog(ctx context.Context, opts *LogOptions) error {
	now, err := opts.Now()
	if err != nil {
		return err
	}
	q := store.AuditQuery{User: opts.User, Disclosures: opts.Disclosures}
	if opts.Since != "" {
		if q.Since, err = tools.ParsePoint(opts.Since, now); err != nil {
			return cmdutil.FlagErrorf("--since: %v", err)
		}
	}
	if opts.Until != "" {
		if q.Until, err = tools.ParsePoint(opts.Until, now); err != nil {
			return cmdutil.FlagErrorf("--until: %v", err)
		}
		if q.Until.Equal(startOfDay(q.Until)) {
			q.Until = q.Until.AddDate(0, 0, 1)
		}
	}
	st, err := opts.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	var touched []int64
	if opts.Patient.Match != "" {
		p, err := tools.ResolvePatient(ctx, st.Reader(), opts.Patient)
		if err != nil {
			return err
		}
		q.Patient = p.ID
		touched = []int64{p.ID}
	}
	rows, err := st.Reader().FindAudit(ctx, q)
	if err != nil {
		return err
	}
	tool := "audit_log"
	if opts.Disclosures {
		tool = "audit_disclosures"
	}
	args := map[string]any{}
	for k, v := range map[string]string{"since": opts.Since, "until": opts.Until, "user": opts.User} {
		if v != "" {
			args[k] = v
		}
	}
	if q.Patient != 0 {
		args["patient_id"] = q.Patient
	}
	action, _ := json.Marshal(map[string]any{"tool": tool, "args": args})
	if err := st.LogOutcome(ctx, store.AuditEntry{Channel: cmdutil.ChannelCLI, Action: string(action)}, touched, len(rows), store.OutcomeOK, ""); err != nil {
		return err
	}
	if opts.JSON {
		out := make([]store.AuditRowJSON, 0, len(rows))
		for _, r := range rows {
			out = append(out, r.JSON())
		}
		return cmdutil.WriteJSON(opts.IO.Out, out)
	}
	if len(rows) == 0 {
		fmt.Fprintln(opts.IO.ErrOut, "No audit rows match.")
		return nil
	}
	tty := opts.IO.IsStdoutTTY()
	var t *cmdutil.Table
	if opts.Disclosures {
		t = cmdutil.NewTable(opts.IO.Out, tty, "#", "WHEN (UTC)", "USER", "WHAT", "PATIENTS", "DISCLOSURE")
	} else {
		t = cmdutil.NewTable(opts.IO.Out, tty, "#", "WHEN (UTC)", "USER", "CHANNEL", "WHAT", "PATIENTS", "ROWS", "OUTCOME", "REQUEST / MESSAGE")
	}
	for _, r := range rows {
		what := toolOf(r)
		patients := strconv.Itoa(len(r.PatientIDs))
		if opts.Disclosures {
			t.Row(strconv.FormatInt(r.Seq, 10), r.At.Format("2006-01-02 15:04:05"), r.User, what, patients, r.Message)
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
		t.Row(strconv.FormatInt(r.Seq, 10), r.At.Format("2006-01-02 15:04:05"), r.User, r.Channel, what, patients,
			strconv.FormatInt(r.Rows, 10), string(r.Outcome), truncate(text, 80))
	}
	return t.Flush()
}

func toolOf(r store.AuditRow) string {
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
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return RunExport(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Since, "since", "", "only rows on or after this date")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write to this new file (0400) instead of standard output")
	return cmd
}

// RunExport writes the copy.
func RunExport(ctx context.Context, opts *ExportOptions) error {
	now, err := opts.Now()
	if err != nil {
		return err
	}
	var since time.Time
	if opts.Since != "" {
		if since, err = tools.ParsePoint(opts.Since, now); err != nil {
			return cmdutil.FlagErrorf("--since: %v", err)
		}
	}
	st, err := opts.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	// Refuse to copy a log that does not verify: the copy would certify it.
	if _, err := st.VerifyAudit(ctx); err != nil {
		return fmt.Errorf("the audit log fails verification, so no copy was made: %w\n%s", err, investigate)
	}
	var out io.Writer = opts.IO.Out
	var f *os.File
	if opts.Output != "" {
		f, err = os.OpenFile(opts.Output, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		defer f.Close()
		out = f
	}
	w := bufio.NewWriter(out)
	n, err := st.ExportAudit(ctx, since, w)
	if err == nil {
		err = w.Flush()
	}
	if f != nil {
		if err == nil {
			err = f.Sync()
		}
		if err == nil {
			err = f.Chmod(0o400)
		}
		if err != nil {
			f.Close()
			os.Remove(opts.Output)
			return fmt.Errorf("audit export %s: %w (no file was left)", opts.Output, err)
		}
	}
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	action, _ := json.Marshal(map[string]any{"tool": "audit_export", "args": map[string]string{"since": opts.Since}})
	if err := st.LogOutcome(ctx, store.AuditEntry{Channel: cmdutil.ChannelExport, Action: string(action)}, nil, n, store.OutcomeOK, ""); err != nil {
		return err
	}
	if opts.Output != "" {
		fmt.Fprintf(opts.IO.ErrOut, "Wrote %s to %s (read-only).\n", cmdutil.Plural(n, "audit row", "audit rows"), opts.Output)
	}
	return nil
}

func verifyExport(ctx context.Context, st *store.Store, path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := st.CheckAuditExport(ctx, f)
	if err != nil && !errors.As(err, new(*store.AuditIntegrityError)) {
		return n, fmt.Errorf("read %s: %w", path, err)
	}
	return n, err
}
