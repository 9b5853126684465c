package importcmd

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/importer"
	"github.com/carebook/carebook/service"
	"github.com/carebook/carebook/store"
)

const fixtureDir = "../../eval/testdata/clinic"

var now = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)

func newOptions(t *testing.T, dbPath string) (*Options, *cmdutil.IOStreams) {
	t.Helper()
	ios, _, _, _ := cmdutil.Test()
	b := service.Local(dbPath, store.Options{Now: func() time.Time { return now }}, true)
	return &Options{
		IO:      ios,
		Backend: func(context.Context) (backend.Backend, error) { return b, nil },
	}, ios
}

func counts(t *testing.T, dbPath string) store.Counts {
	t.Helper()
	st, err := store.Open(context.Background(), dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.Reader().Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestImportFixtureTwice(t *testing.T) {
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skip("shared fixtures not found")
	}
	db := filepath.Join(t.TempDir(), "p.duckdb")
	for round := 1; round <= 2; round++ {
		for _, kind := range importer.Kinds {
			opts, ios := newOptions(t, db)
			opts.Kind, opts.Path = kind, filepath.Join(fixtureDir, string(kind)+".csv")
			if err := Run(context.Background(), opts); err != nil {
				t.Fatalf("round %d, %s: %v", round, kind, err)
			}
			out := ios.Out.(interface{ String() string }).String()
			if round == 2 && !strings.Contains(out, " 0 new, 0 updated") {
				t.Errorf("re-import of %s changed something: %s", kind, out)
			}
		}
		c := counts(t, db)
		if c.Patients != 240 || c.Appointments != 595 || c.Interactions != 599 {
			t.Fatalf("round %d: counts %+v, want 240/595/599", round, c)
		}
	}
}

func TestImportBadFileWritesNothingAndNamesLines(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "p.duckdb")
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("Patient ID (MRN),First Name,Last Name,Date of Birth\nP1,Ann,Lee,01/02/1990\nP2,Bo,Lee,13/45/1990\n"), 0o600)
	opts, ios := newOptions(t, db)
	opts.Kind, opts.Path = importer.KindPatients, bad
	err := Run(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("got %v", err)
	}
	stderr := ios.ErrOut.(interface{ String() string }).String()
	if !strings.Contains(stderr, "line 3:") || strings.Contains(stderr, "13/45/1990") {
		t.Errorf("stderr should name line 3 and not echo the value: %q", stderr)
	}
	if c := counts(t, db); c.Patients != 0 {
		t.Errorf("%d patients written from a file with a bad row", c.Patients)
	}

	// --skip-bad imports the good row.
	opts, _ = newOptions(t, db)
	opts.Kind, opts.Path, opts.SkipBad = importer.KindPatients, bad, true
	if err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if c := counts(t, db); c.Patients != 1 {
		t.Errorf("--skip-bad: %d patients, want 1", c.Patients)
	}
}

func TestImportJSONAndBadMap(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "p.duckdb")
	f := filepath.Join(dir, "p.csv")
	os.WriteFile(f, []byte("Member,First Name,Last Name\nM1,Ann,Lee\n"), 0o600)

	opts, _ := newOptions(t, db)
	opts.Kind, opts.Path, opts.Map = importer.KindPatients, f, []string{"Member"}
	var flagErr *cmdutil.FlagError
	if err := Run(context.Background(), opts); !errors.As(err, &flagErr) {
		t.Fatalf("a --map without = should be a usage error, got %v", err)
	}

	opts, ios := newOptions(t, db)
	opts.Kind, opts.Path, opts.Map, opts.JSON = importer.KindPatients, f, []string{"Member=mrn"}, true
	if err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Inserted int `json:"inserted"`
		Written  bool
	}
	if err := json.Unmarshal([]byte(ios.Out.(interface{ String() string }).String()), &got); err != nil {
		t.Fatal(err)
	}
	if got.Inserted != 1 {
		t.Errorf("JSON result %+v, want 1 inserted", got)
	}
}
