package service

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

var today = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)

// practice is a store with a few patients, shared as the server shares it.
func practice(t *testing.T, budget time.Duration) (backend.Backend, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "p.duckdb"), store.Options{Now: func() time.Time { return today }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var ps []store.Patient
	for i := range 5 {
		ps = append(ps, store.Patient{MRN: fmt.Sprintf("P%d", i), FirstName: "Pat", LastName: fmt.Sprintf("Number%d", i), Status: "active"})
	}
	err = st.Write(ctx, store.AuditEntry{Channel: "test", Action: "{}"}, func(tx *store.Tx) error {
		_, err := tx.UpsertPatients(ctx, ps, []store.PatientField{store.FieldFirstName, store.FieldLastName, store.FieldStatus})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := New(Config{DB: NewShared(st), Now: func() time.Time { return today }, GroupBudget: budget})
	return svc.For(Caller{Staff: "ana", Role: backend.RoleManager, OSUser: "ana", Mode: store.ModeServer, Session: "s"}), st
}

// A batch's queries share the group commit with the writes around them,
// and each sees the lines before it exactly as if every line had committed
// alone; a bad line changes nothing and the others still apply; every line
// has its audit row. With a tiny budget every line is its own group, and
// the answers are the same.
func TestBatchGroupsReadsWithWrites(t *testing.T) {
	for _, budget := range []time.Duration{0, time.Nanosecond} {
		t.Run(fmt.Sprint("budget ", budget), func(t *testing.T) {
			b, st := practice(t, budget)
			ctx := context.Background()
			count := `{"tool":"query","args":{"entity":"patients","where":{"tags":["callback"]},"output":"count"}}`
			lines := []string{
				`{"tool":"tag","args":{"tag":"callback","patient":{"match":"P0"}}}`,
				count,
				`{"tool":"tag","args":{"tag":"callback","patient":{"match":"P1"}}}`,
				count,
				`{"tool":"tag","args":{"tag":"callback","patient":{"match":"P9"}}}`, // no such patient
				`{"tool":"tag","args":{"tag":"callback","where":{"mrns":["P2","p3"]}}}`,
				count,
				`{"tool":"untag","args":{"tag":"callback","patient":{"match":"P2"}}}`,
				count,
			}
			req := backend.BatchRequest{Channel: "run", Yes: true}
			for i, l := range lines {
				req.Lines = append(req.Lines, backend.BatchLine{Line: i + 1, Action: l})
			}
			before, _ := st.Reader().Counts(ctx)
			var got []backend.LineResult
			if err := b.Batch(ctx, req, func(r backend.LineResult) { got = append(got, r) }); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(lines) {
				t.Fatalf("%d results for %d lines", len(got), len(lines))
			}
			wantCounts := map[int]int{2: 1, 4: 2, 7: 4, 9: 3}
			for _, r := range got {
				if r.Line == 5 {
					if r.Error == nil || r.Error.Kind != backend.KindNotFound {
						t.Errorf("line 5: %+v, want not found", r.Error)
					}
					continue
				}
				if r.Error != nil {
					t.Errorf("line %d: %+v", r.Line, r.Error)
					continue
				}
				if want, ok := wantCounts[r.Line]; ok && r.Result.Count != want {
					t.Errorf("line %d counted %d, want %d", r.Line, r.Result.Count, want)
				}
			}
			if c := got[5].Result.Changed; len(c) != 2 || c[0] != "P2" || c[1] != "P3" {
				t.Errorf("line 6 changed %v, want P2 and P3 by MRN", c)
			}
			after, _ := st.Reader().Counts(ctx)
			if n := after.AuditRows - before.AuditRows; n != len(lines) {
				t.Errorf("%d audit rows for %d lines (one failed)", n, len(lines))
			}
			if _, err := st.VerifyAudit(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// racing is the server's store with another write arriving first at the
// write lane, once: between a confirmed write's preparation and its turn.
type racing struct {
	*Shared
	first func(*store.Store) error
}

func (r *racing) Write(ctx context.Context, fn func(*store.Store) error) error {
	if f := r.first; f != nil {
		r.first = nil
		if err := r.Shared.Write(ctx, f); err != nil {
			return err
		}
	}
	return r.Shared.Write(ctx, fn)
}

// A confirmed write is prepared beside everyone else; when another write
// changes its patients before its turn in the lane, it is prepared again
// there, and does what it says for the patients as they are then. The
// attempt that found the change is in the audit log too.
func TestConfirmedWriteIsPreparedAgainWhenItsPatientsChanged(t *testing.T) {
	_, st := practice(t, 0)
	ctx := context.Background()
	tag := func(tag, mrn string) func(*store.Store) error {
		return func(st *store.Store) error {
			ids, err := st.Reader().PatientIDs(ctx, store.PatientFilter{MRNs: []string{mrn}})
			if err != nil {
				return err
			}
			return st.Write(ctx, store.AuditEntry{Channel: "cli", Action: `{"tool":"tag"}`}, func(tx *store.Tx) error {
				_, err := tx.AddTag(ctx, tag, ids)
				return err
			})
		}
	}
	if err := tag("x", "P0")(st); err != nil {
		t.Fatal(err)
	}
	db := &racing{Shared: NewShared(st), first: tag("x", "P1")}
	b := New(Config{DB: db, Now: func() time.Time { return today }}).
		For(Caller{Staff: "ana", Role: backend.RoleManager, OSUser: "ana", Mode: store.ModeServer, Session: "s"})
	var a tools.Action
	if err := json.Unmarshal([]byte(`{"tool":"tag","args":{"tag":"called","where":{"tags":["x"]}}}`), &a); err != nil {
		t.Fatal(err)
	}
	reply, err := b.Prepare(ctx, backend.PrepareRequest{Channel: "cli", Action: a, Yes: true})
	if err != nil {
		t.Fatal(err)
	}
	if c := reply.Result.Changed; len(c) != 2 || c[0] != "P0" || c[1] != "P1" {
		t.Errorf("tagged %v, want P0 and P1 (P1 got x in between)", c)
	}
	rows, _ := st.Reader().AuditLog(ctx, 0)
	var outcomes []string
	for _, r := range rows {
		if strings.Contains(r.Action, `"called"`) {
			outcomes = append(outcomes, string(r.Outcome))
		}
	}
	if strings.Join(outcomes, ",") != "error,ok" {
		t.Errorf("rows for the write: %v, want the attempt that found the change (error), then the write (ok)", outcomes)
	}
}
