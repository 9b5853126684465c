// Package backupcmd is `carebook backup` and `carebook restore`.
package backupcmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/backup"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/internal/atomicfile"
	"github.com/carebook/carebook/store"
)

// Options holds the backup and restore commands' dependencies and flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)
	// StoreOptions are how restore opens the restored file to check it.
	StoreOptions func() (store.Options, error)
	DBPath       func() string
	Getenv       func(string) string
	// ReadSecret reads a passphrase without echo; nil means the terminal.
	ReadSecret func(prompt string) (string, error)
	// Refusal says why restore must not put a file in place here (a
	// server owns the practice's database), or nil.
	Refusal func() error

	File      string
	Recipient string
	Identity  string
	Force     bool
	DryRun    bool
	JSON      bool
}

const passphraseEnv = "CAREBOOK_BACKUP_PASSPHRASE"

// NewCmdBackup builds `carebook backup`.
func NewCmdBackup(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Backend: f.ExistingBackend, DBPath: f.DatabasePath, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write an encrypted snapshot of the database",
		Long: `Write a consistent snapshot of the database (and its audit tree head),
encrypted with age, to FILE (mode 0600). It is encrypted to a passphrase, asked
twice on a terminal or taken from $` + passphraseEnv + `, or to an age public key
with --recipient. Without the passphrase or the key the backup cannot be read:
keep them apart from the backup. An existing FILE is never replaced unless
--force is given.`,
		Example: `  carebook backup /media/usb/carebook-2026-06-15.age
  carebook backup nightly.age --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p`,
		Args: cmdutil.Args(1, 1, "the FILE to write the encrypted backup to"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			return RunBackup(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Recipient, "recipient", "", "encrypt to this age public key (age1…) instead of a passphrase")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace FILE if it exists")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON summary")
	return cmd
}

// NewCmdRestore builds `carebook restore`.
func NewCmdRestore(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{IO: f.IOStreams, StoreOptions: f.StoreOptions, DBPath: f.DatabasePath, Getenv: f.Getenv,
		Refusal: func() error { return f.FileRefusal("restore") }}
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Restore an encrypted backup",
		Long: `Decrypt a backup, check it (it must open, read and its audit log verify), and put
it in place at --db. An existing database is never replaced unless --force is
given. The replaced database's audit rows that the backup does not hold are kept
beside it (NAME.rolled-back-TIMESTAMP.jsonl, 0600), and the restore is the
restored log's next row: audit verify shows it. While carebook serve holds the
database, restore refuses, and with a server configured it needs --db: run it
on the server's account. --dry-run decrypts and checks it in a private
folder, says what it holds, and puts nothing in place.`,
		Example: `  carebook restore /media/usb/carebook-2026-06-15.age --db restored.duckdb
  carebook restore nightly.age --identity key.txt --force
  carebook restore /media/usb/carebook-2026-06-15.age --dry-run --json`,
		Args: cmdutil.Args(1, 1, "the backup FILE to restore"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			return RunRestore(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Identity, "identity", "", "an age identity file (AGE-SECRET-KEY-…) instead of a passphrase")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace an existing database")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "decrypt and check the backup, and put nothing in place")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON summary")
	return cmd
}

func (o *Options) passphrase(twice bool) (string, error) {
	if p := o.Getenv(passphraseEnv); p != "" {
		return p, nil
	}
	read := o.ReadSecret
	if read == nil {
		if !o.IO.IsStdinTTY() {
			return "", fmt.Errorf("no passphrase: set $%s, or run on a terminal to type it", passphraseEnv)
		}
		read = func(prompt string) (string, error) {
			fmt.Fprint(o.IO.ErrOut, prompt)
			b, err := term.ReadPassword(int(os.Stdin.Fd()))
			fmt.Fprintln(o.IO.ErrOut)
			return string(b), err
		}
	}
	p, err := read("Backup passphrase: ")
	if err != nil {
		return "", err
	}
	if len(p) < 12 {
		return "", errors.New("the passphrase is shorter than 12 characters; a backup of patient data deserves a long one")
	}
	if twice {
		again, err := read("Again: ")
		if err != nil {
			return "", err
		}
		if again != p {
			return "", errors.New("the two passphrases differ; nothing was written")
		}
	}
	return p, nil
}

// RunBackup writes the backup through a temporary file, so that a full disk
// or Ctrl-C never leaves half a backup under FILE's name, and has the
// backend record it only once the file is complete and synced: the audit
// log's "ok" means the backup exists.
func RunBackup(ctx context.Context, opts *Options) error {
	req := backend.BackupRequest{File: opts.File}
	if opts.Recipient != "" {
		if _, err := age.ParseX25519Recipient(opts.Recipient); err != nil {
			return cmdutil.FlagErrorf("--recipient is not an age public key (age1…): %v", err)
		}
		req.Recipient = opts.Recipient
	} else {
		p, err := opts.passphrase(true)
		if err != nil {
			return err
		}
		req.Passphrase = p
	}
	abs, err := filepath.Abs(opts.File)
	if err != nil {
		return err
	}
	dir := filepath.Dir(abs)
	if fi, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) || err == nil && !fi.IsDir() {
		return fmt.Errorf("backup: the folder %s does not exist; create it first, or choose another place", dir)
	} else if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("backup: this account may not write in %s; choose another place", dir)
	} else if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if db, err := filepath.Abs(opts.DBPath()); err == nil && strings.HasPrefix(abs, db) {
		return cmdutil.FlagErrorf("write the backup somewhere other than the database itself")
	}
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	removeStaleTemporaries(abs)
	// An earlier backup under the same name may be the only good one: it
	// is replaced only when asked (checked again, atomically, at Commit).
	tmp, err := atomicfile.Create(abs, atomicfile.Options{NoReplace: !opts.Force})
	if errors.Is(err, atomicfile.ErrExists) {
		return fmt.Errorf("backup: %s already exists; choose another name, or pass --force to replace it", opts.File)
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer tmp.Abort()
	view, err := b.Backup(ctx, req, tmp, nil)
	if err != nil {
		return err
	}
	if err := tmp.Commit(); err != nil {
		werr := fmt.Errorf("backup: %w; nothing was written to %s", err, opts.File)
		if errors.Is(err, atomicfile.ErrExists) {
			werr = fmt.Errorf("backup: %s appeared while the backup was written; nothing was replaced (pass --force to replace it)", opts.File)
		}
		if derr := b.BackupDone(context.WithoutCancel(ctx), backend.BackupDoneRequest{File: opts.File, Error: err.Error()}); derr != nil {
			return errors.Join(werr, derr)
		}
		return werr
	}
	if err := b.BackupDone(ctx, backend.BackupDoneRequest{File: opts.File}); err != nil {
		return fmt.Errorf("the backup %s was written, but recording it in the audit log failed: %w", opts.File, err)
	}
	fi, _ := os.Stat(abs)
	var size int64
	if fi != nil {
		size = fi.Size()
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, BackupSummary{File: opts.File, Database: view.Database, Bytes: view.Bytes,
			EncryptedBytes: size, Seconds: view.Seconds})
	}
	fmt.Fprintf(opts.IO.Out, "Backed up %s (%.1f MB, encrypted: %.1f MB) to %s in %.1fs.\n", view.Database,
		float64(view.Bytes)/1e6, float64(size)/1e6, opts.File, view.Seconds)
	return nil
}

// BackupSummary is what `backup --json` prints.
type BackupSummary struct {
	File           string  `json:"file"`
	Database       string  `json:"database"`
	Bytes          int64   `json:"bytes"`
	EncryptedBytes int64   `json:"encrypted_bytes"`
	Seconds        float64 `json:"seconds"`
}

// RestoreSummary is what `restore --json` prints.
type RestoreSummary struct {
	Backup       string `json:"backup"`
	Database     string `json:"database"`
	Patients     int    `json:"patients"`
	Appointments int    `json:"appointments"`
	Interactions int    `json:"interactions"`
	DryRun       bool   `json:"dry_run"`
	// Restored says the database was put in place; NeedsForce that a
	// restore now would refuse without --force (a database is there).
	Restored   bool `json:"restored"`
	NeedsForce bool `json:"needs_force,omitempty"`
	// RolledBack counts the replaced database's audit rows the backup does
	// not hold, kept in KeptIn; Forgets of them were forgets, whose
	// patients are back. Unreadable says the replaced file was kept whole.
	RolledBack int64  `json:"rolled_back_rows,omitempty"`
	KeptIn     string `json:"kept_in,omitempty"`
	Forgets    int    `json:"forgets_rolled_back,omitempty"`
	Unreadable bool   `json:"replaced_unreadable,omitempty"`
}

// removeStaleTemporaries removes what a backup killed mid-way left beside
// path: atomicfile's temporaries for it, which are this account's own.
func removeStaleTemporaries(path string) {
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp"))
	for _, m := range matches {
		if fi, err := os.Lstat(m); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > 10*time.Second {
			os.Remove(m)
		}
	}
}

// RunRestore decrypts and restores a backup.
func RunRestore(ctx context.Context, opts *Options) error {
	if opts.Refusal != nil {
		if err := opts.Refusal(); err != nil {
			return err
		}
	}
	dst, err := filepath.Abs(opts.DBPath())
	if err != nil {
		return err
	}
	// Before the passphrase: a refusal after it would waste the typing and
	// the decryption.
	if err := store.ServedBy(dst); err != nil {
		return err
	}
	f, err := os.Open(opts.File)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	var identity age.Identity
	if opts.Identity != "" {
		data, err := os.ReadFile(opts.Identity)
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		ids, err := age.ParseIdentities(strings.NewReader(string(data)))
		if err != nil || len(ids) == 0 {
			return fmt.Errorf("restore: %s holds no age identity", opts.Identity)
		}
		identity = ids[0]
	} else {
		p, err := opts.passphrase(false)
		if err != nil {
			return err
		}
		if identity, err = age.NewScryptIdentity(p); err != nil {
			return err
		}
	}
	var counts store.Counts
	sopts, err := opts.StoreOptions()
	if err != nil {
		return err
	}
	check := func(ctx context.Context, path string) error {
		st, err := store.Open(ctx, path, sopts)
		if err != nil {
			return err
		}
		defer st.Close()
		if _, err := st.VerifyAudit(ctx); err != nil {
			return fmt.Errorf("its audit log does not verify: %w", err)
		}
		counts, err = st.Reader().Counts(ctx)
		return err
	}
	sum := RestoreSummary{Backup: opts.File, Database: dst, DryRun: opts.DryRun}
	if opts.DryRun {
		// The same decryption and checks, into a private folder that is
		// removed after: nothing is put in place.
		dir, err := os.MkdirTemp(filepath.Dir(dst), ".restore-check-*")
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		defer os.RemoveAll(dir)
		if _, err := backup.Restore(ctx, f, filepath.Join(dir, filepath.Base(dst)), backup.RestoreOptions{Check: check, Store: sopts, File: opts.File}, identity); err != nil {
			return err
		}
		if _, err := os.Stat(dst); err == nil && !opts.Force {
			sum.NeedsForce = true
		}
	} else {
		res, err := backup.Restore(ctx, f, dst, backup.RestoreOptions{Force: opts.Force, Check: check, Store: sopts, File: opts.File}, identity)
		if err != nil {
			return err
		}
		sum.Restored = true
		sum.RolledBack, sum.KeptIn, sum.Forgets, sum.Unreadable = res.RolledBack, res.KeptIn, res.Forgets, res.Unreadable
		defer func() {
			if opts.JSON {
				return
			}
			cmdutil.TellOrphans(opts.IO.ErrOut, res.Orphans)
			switch {
			case res.Unreadable:
				fmt.Fprintf(opts.IO.Out, "The database it replaced could not be read; it is kept whole in %s.\n", res.KeptIn)
			case res.RolledBack > 0:
				fmt.Fprintf(opts.IO.Out, "%s of the replaced database's audit log %s not in the backup; %s kept in %s, and the restore is recorded (carebook audit verify shows it).\n",
					cmdutil.Plural(int(res.RolledBack), "row", "rows"), plural(res.RolledBack, "is", "are"), plural(res.RolledBack, "it is", "they are"), res.KeptIn)
			}
			if res.Forgets > 0 {
				fmt.Fprintf(opts.IO.Out, "Warning: %s made after the backup %s rolled back, so those patients are back in the database: forget them again (the rows in %s say which, by MRN hash).\n",
					cmdutil.Plural(res.Forgets, "forget", "forgets"), plural(int64(res.Forgets), "was", "were"), res.KeptIn)
			}
		}()
	}
	sum.Patients, sum.Appointments, sum.Interactions = counts.Patients, counts.Appointments, counts.Interactions
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, sum)
	}
	holds := fmt.Sprintf("%s, %d appointments, %d interactions", cmdutil.Plural(counts.Patients, "patient", "patients"),
		counts.Appointments, counts.Interactions)
	if !opts.DryRun {
		fmt.Fprintf(opts.IO.Out, "Restored %s: %s.\n", dst, holds)
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "The backup decrypts and checks: %s. Dry run: nothing was put in place.\n", holds)
	if sum.NeedsForce {
		fmt.Fprintf(opts.IO.Out, "%s exists: restoring over it needs --force.\n", dst)
	}
	return nil
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
