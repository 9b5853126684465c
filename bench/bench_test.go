package bench

import (
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/carebook/carebook/demo"
	"github.com/carebook/carebook/report"
	"github.com/carebook/carebook/store"
)

// openDemo copies the cached demo database twice: one copy for the store,
// one for hand-written SQL on the raw driver (DuckDB lets one process hold a
// file once).
func openDemo(b *testing.B) (*store.Store, *sql.DB) {
	b.Helper()
	src := filepath.Join("..", DemoPath())
	if _, err := os.Stat(src); err != nil {
		b.Skipf("no demo database at %s: run make bench", src)
	}
	dir := b.TempDir()
	data, err := os.ReadFile(src)
	if err != nil {
		b.Fatal(err)
	}
	head, _ := os.ReadFile(src + ".audit-head")
	for _, name := range []string{"tool.duckdb", "sql.duckdb"} {
		os.WriteFile(filepath.Join(dir, name), data, 0o600)
		if head != nil {
			os.WriteFile(filepath.Join(dir, name+".audit-head"), head, 0o600)
		}
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "tool.duckdb"), store.Options{Now: func() time.Time { return Now }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	raw, err := sql.Open("duckdb", filepath.Join(dir, "sql.duckdb"))
	if err != nil {
		b.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	b.Cleanup(func() { raw.Close() })
	return st, raw
}

// BenchmarkQuery compares each case's tool execution (audit row included)
// with its hand-written SQL. Compare with benchstat:
//
//	go test -run '^$' -bench Query -count 5 ./bench | tee new.txt
func BenchmarkQuery(b *testing.B) {
	st, raw := openDemo(b)
	ctx := context.Background()
	for _, c := range Cases {
		b.Run(c.Name+"/tool", func(b *testing.B) {
			for b.Loop() {
				if _, err := RunTool(ctx, st, c); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.Name+"/sql", func(b *testing.B) {
			for b.Loop() {
				if _, err := RunSQL(ctx, raw, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAuditRow is the cost of one audit row: a commit, the tree
// hashes and the head file.
func BenchmarkAuditRow(b *testing.B) {
	st, _ := openDemo(b)
	ctx := context.Background()
	for b.Loop() {
		if err := st.LogOutcome(ctx, store.AuditEntry{Channel: "bench", Action: "{}"}, nil, 0, store.OutcomeOK, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// The cases must run against the current tools, and each hand-written query
// must answer the same question as its tool, even when nobody runs the
// benchmarks: checked here on a small demo practice.
func TestCasesAgreeWithHandSQL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "small.duckdb")
	st, err := store.Open(ctx, path, store.Options{Now: func() time.Time { return Now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Generate(ctx, st, demo.Options{Patients: 3000, Seed: 1, Now: Now}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	data, _ := os.ReadFile(path)
	os.WriteFile(filepath.Join(dir, "raw.duckdb"), data, 0o600)
	st, err = store.Open(ctx, path, store.Options{Now: func() time.Time { return Now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	raw, err := sql.Open("duckdb", filepath.Join(dir, "raw.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, c := range Cases {
		nTool, err := RunTool(ctx, st, c)
		if err != nil {
			t.Fatal(err)
		}
		nSQL, err := RunSQL(ctx, raw, c)
		if err != nil {
			t.Fatal(err)
		}
		if nTool != nSQL || nTool == 0 {
			t.Errorf("%s: the tool counts %d, the hand SQL %d", c.Name, nTool, nSQL)
		}
	}
}

// BenchmarkReport is the report's work in the process: every query, the
// suppression and the page (the CLI adds its start and the audit row).
func BenchmarkReport(b *testing.B) {
	st, _ := openDemo(b)
	ctx := context.Background()
	may := report.Period{From: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
	for b.Loop() {
		in, err := report.Gather(ctx, st.Reader(), may, Now)
		if err != nil {
			b.Fatal(err)
		}
		if err := report.WriteHTML(io.Discard, report.Build(in)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCacheSlots(t *testing.T) {
	log := `time=2026-12-02T05:17:55.636Z level=DEBUG source=server.go:1536 msg="completion request" images=0 prompt=10336 format=""
time=2026-12-02T05:17:56.366Z level=DEBUG source=cache.go:151 msg="loading cache slot" id=0 cache=0 prompt=2589 used=0 remaining=2589
time=2026-12-02T05:18:40.369Z level=DEBUG source=cache.go:151 msg="loading cache slot" id=0 cache=2618 prompt=2589 used=2580 remaining=9
`
	got := CacheSlots(log)
	want := []CacheSlot{{2589, 0, 2589}, {2589, 2580, 9}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("CacheSlots = %+v, want %+v", got, want)
	}
}
