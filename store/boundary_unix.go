//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// CheckBoundary refuses a database whose folder, or any of whose files,
// another account can write or owns. Both modes call it before opening.
func CheckBoundary(path string) error {
	dir := filepath.Dir(path)
	if err := checkOwned(dir, true); err != nil {
		return err
	}
	for _, p := range []string{path, path + ".wal", HeadPath(path), LockPath(path)} {
		if err := checkOwned(p, false); err != nil {
			return err
		}
	}
	return nil
}

// CheckFileBoundary refuses one file that another account can write or
// owns. A missing file is fine.
func CheckFileBoundary(path string) error { return checkOwned(path, false) }

// CheckConfigFile refuses a configuration file another account could have
// written: writable by group or others, or owned by anyone but this
// account and root (a system file belongs to root). A missing file is fine.
func CheckConfigFile(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return &BoundaryError{Path: path, Problem: fmt.Sprintf("is writable by other accounts (mode %04o), and it says where patient data may go", perm),
			Fix: "fix it: chmod 600 " + path}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() && st.Uid != 0 {
		return &BoundaryError{Path: path, Problem: fmt.Sprintf("belongs to another account (uid %d), and it says where patient data may go", st.Uid),
			Fix: fmt.Sprintf("remove it if you did not write it, or fix it: chown %d %s", os.Geteuid(), path)}
	}
	return nil
}

func checkOwned(path string, isDir bool) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		if isDir {
			// The folder may be reached through a link (/var on macOS);
			// what counts is the folder it leads to.
			if fi, err = os.Stat(path); err != nil {
				return fmt.Errorf("check %s: %w", path, err)
			}
		} else {
			target, _ := filepath.EvalSymlinks(path)
			return &BoundaryError{Path: path, Problem: "is a symbolic link (Carebook follows no link beside a database)",
				Fix: fmt.Sprintf("put the file itself there: mv %s %s", target, path)}
		}
	}
	perm := fi.Mode().Perm()
	st, ok := fi.Sys().(*syscall.Stat_t)
	foreign := ok && int(st.Uid) != os.Geteuid()
	// A shared folder such as /tmp is not ours to chmod: the database
	// belongs in a folder of its own.
	ownFolder := "keep the database in a folder only this account can open: mkdir -m 700 ~/carebook, then use --db ~/carebook/" + "carebook.duckdb"
	switch {
	case isDir && (foreign || fi.Mode()&os.ModeSticky != 0):
		problem := fmt.Sprintf("is shared with other accounts (mode %04o)", perm)
		if foreign {
			problem = fmt.Sprintf("belongs to another account (uid %d, not %d)", st.Uid, os.Geteuid())
		}
		return &BoundaryError{Path: path, Problem: problem, Fix: ownFolder}
	case perm&0o022 != 0:
		fix := "fix it: chmod 600 " + path
		if isDir {
			fix = "fix it: chmod 700 " + path
		}
		return &BoundaryError{Path: path, Problem: fmt.Sprintf("is writable by other accounts (mode %04o)", perm), Fix: fix}
	case foreign:
		return &BoundaryError{Path: path, Problem: fmt.Sprintf("belongs to another account (uid %d, not %d)", st.Uid, os.Geteuid()),
			Fix: fmt.Sprintf("fix it: chown %d %s (as that account or root)", os.Geteuid(), path)}
	}
	return nil
}
