//go:build unix

package server

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestListenMakesAFolderStaffCanPass: under a service's umask (077) the
// socket's folder, when Listen makes it, is 0750 and the socket 0660, so
// the staff group reaches the socket (the macOS plist makes no folder
// first); a folder that was there already keeps its mode.
func TestListenMakesAFolderStaffCanPass(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	base := t.TempDir()
	sock := filepath.Join(base, "run", "carebook", "carebook.sock")
	ln, err := Listen(sock, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for path, want := range map[string]os.FileMode{filepath.Join(base, "run"): 0o750, filepath.Dir(sock): 0o750, sock: 0o660} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
		if gid := fi.Sys().(*syscall.Stat_t).Gid; int(gid) != os.Getgid() {
			t.Errorf("%s: group %d, want the server's %d", path, gid, os.Getgid())
		}
	}

	own := filepath.Join(base, "own")
	if err := os.Mkdir(own, 0o700); err != nil {
		t.Fatal(err)
	}
	ln2, err := Listen(filepath.Join(own, "c.sock"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	if fi, _ := os.Stat(own); fi.Mode().Perm() != 0o700 {
		t.Errorf("an existing folder's mode changed to %o", fi.Mode().Perm())
	}
}
