// Package atomicfile writes files whole or not at all. Content goes to a new
// temporary file beside the target (a random name, created exclusively, mode
// 0600), is synced, and is renamed over the target; the folder is synced
// after. A crash, a full disk or Ctrl-C leaves the old file or the whole new
// one, never half of one, and no name Carebook writes to can be a link
// planted by someone else: the temporary file is created with O_EXCL, and
// rename replaces a link at the target rather than writing through it.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrExists says the target exists and Options.NoReplace was set.
var ErrExists = errors.New("the file already exists")

// Options tune Create. The zero value replaces the target, mode 0600.
type Options struct {
	// Perm is the final file's mode. Zero means 0600.
	Perm os.FileMode
	// NoReplace refuses to replace an existing target: Commit returns
	// ErrExists and leaves it untouched.
	NoReplace bool
	// NoDirSync skips syncing the folder after the rename: a crash may
	// then leave the old file in place (never half of either). For a file
	// whose old content is correct too, written often: it saves a sync.
	NoDirSync bool
}

// File is a file being written. Write to it, then Commit; Abort (safe after
// Commit, so it can be deferred) removes it.
type File struct {
	*os.File
	path string
	opts Options
	done bool
}

// Create starts writing path.
func Create(path string, opts Options) (*File, error) {
	if opts.Perm == 0 {
		opts.Perm = 0o600
	}
	if opts.NoReplace {
		if _, err := os.Lstat(path); err == nil {
			return nil, fmt.Errorf("%s: %w", path, ErrExists)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return &File{File: tmp, path: path, opts: opts}, nil
}

// Commit makes the content durable and puts it in place.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: already committed or aborted")
	}
	fail := func(err error) error {
		f.Abort()
		return err
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if f.opts.Perm != 0o600 {
		if err := f.Chmod(f.opts.Perm); err != nil {
			return fail(err)
		}
	}
	if err := f.File.Close(); err != nil {
		return fail(err)
	}
	if f.opts.NoReplace {
		// A hard link fails if the target exists, atomically; rename would
		// replace it.
		if err := os.Link(f.Name(), f.path); err != nil {
			if errors.Is(err, os.ErrExist) {
				err = fmt.Errorf("%s: %w", f.path, ErrExists)
			}
			return fail(err)
		}
		os.Remove(f.Name())
	} else if err := os.Rename(f.Name(), f.path); err != nil {
		return fail(err)
	}
	f.done = true
	if f.opts.NoDirSync {
		return nil
	}
	return SyncDir(filepath.Dir(f.path))
}

// Abort removes the temporary file. It does nothing after Commit.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.Name())
}

// Write writes path through write, whole or not at all.
func Write(path string, opts Options, write func(io.Writer) error) error {
	f, err := Create(path, opts)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return err
	}
	return f.Commit()
}

// WriteFile writes data to path, whole or not at all, mode 0600.
func WriteFile(path string, data []byte) error {
	return WriteFileOpts(path, data, Options{})
}

// WriteFileOpts writes data to path, whole or not at all, as opts say.
func WriteFileOpts(path string, data []byte, opts Options) error {
	return Write(path, opts, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// SyncDir makes a rename or removal in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
