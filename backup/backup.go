// Package backup writes and restores encrypted snapshots of the practice
// database. A backup is an age-encrypted tar of the database file and the
// files that travel with it (the audit log's tree head). Encryption is
// Carebook's own: a backup lands on USB sticks and network shares, where
// the OS volume's encryption does not follow it.
package backup

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/carebook/carebook/store"
)

// sidecars are the files beside the database that belong to it.
var sidecars = []string{".audit-head"}

const dbName = "carebook.duckdb"

// Summary says what a backup holds.
type Summary struct {
	Bytes int64
	Files []string
}

// Write checkpoints st and writes the encrypted snapshot to w. The caller
// holds st open throughout; a caller that must not, because w may be slow,
// takes a Snapshot instead.
func Write(ctx context.Context, st *store.Store, w io.Writer, recipients ...age.Recipient) (Summary, error) {
	snap, err := Take(ctx, st)
	if err != nil {
		return Summary{}, err
	}
	defer snap.Close()
	return snap.Write(ctx, w, recipients...)
}

// Snapshot is a private copy of the database and the files that travel with
// it, made while nobody else could change them. It lets the caller release
// the database before the slow part: deriving the passphrase's key,
// encrypting, and a reader at the other end that may stop reading. Its
// files have no name on disk once Take returns, so that a kill or a client
// that goes away cannot leave a copy of the practice behind: the kernel
// frees them when the last descriptor closes.
type Snapshot struct {
	prefix string
	files  []snapFile
}

type snapFile struct {
	name    string
	f       *os.File
	size    int64
	modTime time.Time
	// path is the copy's name when the system would not unlink an open
	// file; Close removes it then.
	path string
}

// Take checkpoints st and copies its file (and sidecars) into private
// files in the database's folder, which for carebook serve only the
// server's account may open. The caller must have st to itself, so that
// the copy is one consistent state; the copy is fast, the file system's
// own (copy_file_range) where it can.
func Take(ctx context.Context, st *store.Store) (*Snapshot, error) {
	RemoveStale(st.Path())
	if err := st.Checkpoint(ctx); err != nil {
		return nil, err
	}
	snap := &Snapshot{prefix: tempPrefix(st.Path())}
	if err := snap.add(ctx, st.Path(), dbName); err != nil {
		snap.Close()
		return nil, fmt.Errorf("back up %s: %w", st.Path(), err)
	}
	for _, ext := range sidecars {
		if _, err := os.Stat(st.Path() + ext); err != nil {
			continue
		}
		if err := snap.add(ctx, st.Path()+ext, dbName+ext); err != nil {
			snap.Close()
			return nil, fmt.Errorf("back up %s: %w", st.Path()+ext, err)
		}
	}
	return snap, nil
}

// copyChunk bounds how much is copied between checks for Ctrl-C.
const copyChunk = 64 << 20

func (s *Snapshot) add(ctx context.Context, path, name string) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	// CreateTemp's O_EXCL never opens an existing name, so a link planted
	// in the folder cannot redirect the copy.
	out, err := os.CreateTemp(filepath.Dir(path), s.prefix+"*")
	if err != nil {
		return err
	}
	sf := snapFile{name: name, f: out, modTime: fi.ModTime()}
	if err := os.Remove(out.Name()); err != nil {
		sf.path = out.Name()
	}
	s.files = append(s.files, sf)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.CopyN(out, in, copyChunk)
		s.files[len(s.files)-1].size += n
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Write encrypts the snapshot to recipients and writes it to w.
func (s *Snapshot) Write(ctx context.Context, w io.Writer, recipients ...age.Recipient) (Summary, error) {
	var sum Summary
	enc, err := age.Encrypt(w, recipients...)
	if err != nil {
		return sum, fmt.Errorf("encrypt: %w", err)
	}
	tw := tar.NewWriter(enc)
	for _, f := range s.files {
		hdr := &tar.Header{Name: f.name, Mode: 0o600, Size: f.size, ModTime: f.modTime, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return sum, fmt.Errorf("back up: %w", err)
		}
		n, err := io.Copy(tw, &ctxReader{ctx: ctx, r: io.NewSectionReader(f.f, 0, f.size)})
		sum.Bytes += n
		sum.Files = append(sum.Files, f.name)
		if err != nil {
			return sum, fmt.Errorf("back up %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return sum, fmt.Errorf("back up: %w", err)
	}
	if err := enc.Close(); err != nil {
		return sum, fmt.Errorf("encrypt: %w", err)
	}
	return sum, nil
}

// Close lets the copies go.
func (s *Snapshot) Close() error {
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.f.Close())
		if f.path != "" {
			errs = append(errs, os.Remove(f.path))
		}
	}
	s.files = nil
	return errors.Join(errs...)
}

// tempPrefix names the copies of the database at dbPath, so that
// RemoveStale finds them and nothing else.
func tempPrefix(dbPath string) string { return "." + filepath.Base(dbPath) + ".backup-" }

// RemoveStale removes the copies a process killed inside Take left beside
// the database at dbPath: a copy has a name only there, under the caller's
// exclusive hold, so whoever holds the database now finds only strays.
// Links are removed, never followed.
func RemoveStale(dbPath string) {
	entries, _ := os.ReadDir(filepath.Dir(dbPath))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix(dbPath)) && !e.IsDir() {
			os.Remove(filepath.Join(filepath.Dir(dbPath), e.Name()))
		}
	}
}

// ctxReader stops a long copy on Ctrl-C.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ErrExists says restore would overwrite a database.
var ErrExists = errors.New("a database already exists there; restore to a new path with --db, or pass --force to replace it")

// RestoreOptions say how a backup is put in place.
type RestoreOptions struct {
	// Force replaces an existing database.
	Force bool
	// Check opens the unpacked database and checks it (the audit chain
	// included) before anything is replaced.
	Check func(ctx context.Context, path string) error
	// Store is how the database is opened to record the restore.
	Store store.Options
	// File is the backup file, as named, for the audit row.
	File string
}

// NotBackupError says the file is not an age-encrypted backup at all.
type NotBackupError struct{ File string }

func (e *NotBackupError) Error() string {
	return fmt.Sprintf("%s is not a Carebook backup (it is not an age-encrypted file); name the file carebook backup wrote", e.File)
}

// Restore decrypts a backup into dst. It unpacks into a private folder
// beside dst, checks that the database opens and reads (opts.Check does
// more: the audit chain), and only then puts it in place through
// store.Restore, which keeps the audit rows an older backup rolls back
// and records the restore. A wrong passphrase, a corrupt file or a full
// disk never touches dst.
func Restore(ctx context.Context, r io.Reader, dst string, opts RestoreOptions, identities ...age.Identity) (store.RestoreResult, error) {
	var res store.RestoreResult
	if fi, err := os.Stat(filepath.Dir(dst)); err != nil || !fi.IsDir() {
		return res, fmt.Errorf("restore: the folder %s does not exist; create it first (mkdir -m 700 %s), or choose another --db", filepath.Dir(dst), filepath.Dir(dst))
	}
	if _, err := os.Stat(dst); err == nil && !opts.Force {
		return res, ErrExists
	}
	dec, err := age.Decrypt(r, identities...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return res, errors.New("the passphrase or identity does not open this backup")
		}
		// age's error quotes the file's first bytes, which may be
		// anything: a CSV of patients named by mistake.
		return res, &NotBackupError{File: opts.File}
	}
	dir, err := os.MkdirTemp(filepath.Dir(dst), ".restore-*")
	if err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	defer os.RemoveAll(dir)
	tr := tar.NewReader(dec)
	var files []string
	var made time.Time
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, errors.New("restore: the backup is damaged (it ends early or was altered); use another copy")
		}
		name := hdr.Name
		if hdr.Typeflag != tar.TypeReg || !(name == dbName || strings.HasPrefix(name, dbName+".")) || strings.ContainsAny(name, `/\`) {
			return res, errors.New("restore: the backup holds an unexpected entry; it was not made by carebook backup")
		}
		if name == dbName {
			made = hdr.ModTime
		}
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return res, fmt.Errorf("restore: %w", err)
		}
		_, err = io.Copy(f, &ctxReader{ctx: ctx, r: tr})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return res, fmt.Errorf("restore: the backup is damaged or the disk is full: %w", err)
		}
		files = append(files, name)
	}
	if len(files) == 0 || files[0] != dbName {
		return res, errors.New("restore: the backup holds no database")
	}
	if err := opts.Check(ctx, filepath.Join(dir, dbName)); err != nil {
		return res, fmt.Errorf("restore: the restored database fails its check, so nothing was replaced: %w", err)
	}
	return store.Restore(ctx, dst, filepath.Join(dir, dbName), opts.Store, store.RestoreInfo{Made: made, File: opts.File})
}

// Stamp is the default name part of a backup file.
func Stamp(now time.Time) string { return now.Format("20060102-150405") }
