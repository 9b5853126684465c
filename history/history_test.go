package history

import (
	"fmt"
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

// A history longer than the line editor keeps is trimmed here, 0600: the
// line editor would otherwise rewrite it through PATH.tmp, 0666 less the
// umask, following a link planted at that name.
func TestPrepareTrims(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.duckdb.history")
	var b strings.Builder
	for i := 0; i < Limit+100; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	os.WriteFile(path, []byte(b.String()), 0o600)
	if err := Prepare(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if n := strings.Count(string(data), "\n"); n != Limit || !strings.HasPrefix(string(data), "line 100\n") {
		t.Fatalf("%d lines, starting %q; want the last %d", n, string(data)[:10], Limit)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
}
