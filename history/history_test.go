package history

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrepareAndScrub(t *testing.T) {
	path := Path(filepath.Join(t.TempDir(), "p.duckdb"))
	if err := Prepare(path); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o", fi.Mode().Perm())
	}
	os.WriteFile(path, []byte("tag Jon Smyth vip\nhow many have diabetes\nshow P1002\n"), 0o644)
	if err := Prepare(path); err != nil {
		t.Fatal(err)
	}
	n, err := Scrub(path, func(l string) bool { return strings.Contains(l, "Smyth") || strings.Contains(l, "P1002") })
	if err != nil || n != 2 {
		t.Fatalf("removed %d: %v", n, err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != "how many have diabetes\n" {
		t.Errorf("left %q", data)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after scrub %o", fi.Mode().Perm())
	}
	if n, err := Scrub(filepath.Join(t.TempDir(), "none"), func(string) bool { return true }); n != 0 || err != nil {
		t.Errorf("missing file: %d %v", n, err)
	}
}

// A link planted at the history file's name would have the REPL append
// every request, names and all, to wherever it points.
func TestPrepareRefusesALink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "elsewhere")
	os.WriteFile(victim, []byte("kept"), 0o644)
	path := filepath.Join(dir, "p.duckdb.history")
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	if err := Prepare(path); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("err %v, want a refusal of the link", err)
	}
	if fi, _ := os.Stat(victim); fi.Mode().Perm() != 0o644 {
		t.Error("the link's target was changed")
	}
}
