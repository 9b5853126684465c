package eval

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// sharedDir is the project's shared folder beside the repository, the
// source of the copies in testdata. CI lays it beside the clone; a clean
// clone alone has none, and needs none.
const sharedDir = "../../shared"

// The copies in testdata are the shared folder's files, byte for byte:
// an edit made on one side only fails here, where both are present.
func TestShippedCopiesMatchShared(t *testing.T) {
	pairs := map[string]string{
		casesPath: filepath.Join(sharedDir, "eval", "dev.jsonl"),
	}
	for _, kind := range []string{"patients", "appointments", "interactions"} {
		pairs[filepath.Join(fixtureDir, kind+".csv")] = filepath.Join(sharedDir, "fixtures", "clinic", kind+".csv")
	}
	for shipped, source := range pairs {
		mine, err := os.ReadFile(shipped)
		if err != nil {
			t.Fatalf("the repository lacks %s: %v", shipped, err)
		}
		theirs, err := os.ReadFile(source)
		if os.IsNotExist(err) {
			continue // no shared folder here: the copy is the data
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(mine, theirs) {
			t.Errorf("%s differs from its source %s: copy it again (see eval/testdata/README.md)", shipped, source)
		}
	}
}
