package service

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebook/carebook/agent"
	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

var recordsNow = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)

// recordsService is a practice of two patients, one entered twice, on a
// real database file, and the service over it.
func recordsService(t *testing.T) (*Service, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "practice.duckdb")
	opts := store.Options{Now: func() time.Time { return recordsNow }, Actor: "owner"}
	st, err := store.Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	dob := time.Date(1975, 7, 9, 0, 0, 0, 0, time.UTC)
	err = st.Write(ctx, store.AuditEntry{Channel: "test"}, func(tx *store.Tx) error {
		_, err := tx.LoadPatients(ctx, []store.Patient{
			{MRN: "P1", FirstName: "Jon", LastName: "Smyth", DOB: dob, Email: "jon@example.org"},
			{MRN: "P2", FirstName: "Jonathan", LastName: "Smyth", DOB: dob},
		})
		return err
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{DB: NewDirect(path, opts, false), Now: func() time.Time { return recordsNow }}), path
}

func action(t *testing.T, tool string, args any) tools.Action {
	t.Helper()
	a, err := tools.NewAction(tool, args)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Updating patients, consent and tasks is for every role; merging two
// records is for managers, and a refused merge is audited.
func TestRecordsRoles(t *testing.T) {
	ctx := context.Background()
	svc, path := recordsService(t)
	yes := true
	merge := action(t, tools.ToolMergePatients, tools.MergeArgs{Keep: &tools.PatientRef{Match: "P1"}, Other: &tools.PatientRef{Match: "P2"}})
	for _, role := range []string{backend.RoleFrontDesk, backend.RoleClinician} {
		email := role + "@example.org"
		everyone := []tools.Action{
			action(t, tools.ToolUpdatePatient, tools.UpdatePatientArgs{Patient: &tools.PatientRef{Match: "P1"}, Email: &email}),
			action(t, tools.ToolSetConsent, tools.ConsentArgs{Patient: &tools.PatientRef{Match: "P1"}, Marketing: &yes, Source: "form"}),
			action(t, tools.ToolAddTask, tools.AddTaskArgs{Text: "call back", Patient: &tools.PatientRef{Match: "P1"}, Due: "friday"}),
			action(t, tools.ToolCompleteTask, tools.CompleteTaskArgs{Patient: &tools.PatientRef{Match: "P1"}, Task: "call"}),
		}
		b := svc.For(Caller{Staff: "ben", Role: role, OSUser: "ben", Mode: store.ModeServer, Session: role})
		for _, a := range everyone {
			if _, err := b.Prepare(ctx, backend.PrepareRequest{Channel: backend.ChannelCLI, Action: a, Yes: true}); err != nil {
				t.Errorf("%s: %s: %v", role, a.Tool, err)
			}
		}
		_, err := b.Prepare(ctx, backend.PrepareRequest{Channel: backend.ChannelCLI, Action: merge, Yes: true})
		var forbidden *backend.ForbiddenError
		if !errors.As(err, &forbidden) || forbidden.Op != "merge" {
			t.Errorf("%s merged: %v", role, err)
		}
		// A batch line is refused the same way.
		var lines []backend.LineResult
		if err := b.Batch(ctx, backend.BatchRequest{Channel: backend.ChannelRun, Yes: true, Lines: []backend.BatchLine{{Line: 1, Action: merge.JSON()}}},
			func(l backend.LineResult) { lines = append(lines, l) }); err != nil {
			t.Fatal(err)
		}
		if len(lines) != 1 || lines[0].Error == nil || lines[0].Error.Kind != backend.KindForbidden {
			t.Errorf("%s merged in a batch: %+v", role, lines)
		}
	}
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := st.Reader().AuditLog(ctx, 0)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, r := range rows {
		if r.Outcome == store.OutcomeRefused && strings.Contains(r.Action, `"merge"`) {
			refused++
		}
	}
	if refused != 4 {
		t.Errorf("%d refused merges audited, want 4", refused)
	}

	mgr := svc.For(Caller{Staff: "mia", Role: backend.RoleManager, OSUser: "mia", Mode: store.ModeServer, Session: "m"})
	if _, err := mgr.Prepare(ctx, backend.PrepareRequest{Channel: backend.ChannelCLI, Action: merge, Yes: true}); err != nil {
		t.Fatalf("a manager could not merge: %v", err)
	}
	if _, err := mgr.Record(ctx, backend.RecordRequest{Channel: backend.ChannelCLI, Patient: tools.PatientRef{Match: "P2"}}); err == nil {
		t.Error("the merged record is still there")
	}
}

// decideThis is a model that always answers with one action.
type decideThis struct{ a tools.Action }

func (d decideThis) Model() string { return "test" }

func (d decideThis) Decide(ctx context.Context, _ store.Vocabulary, _ tools.Env, _ string, prepare agent.PrepareFunc) (*agent.Decision, error) {
	plan, err := prepare(ctx, d.a)
	return &agent.Decision{Plan: plan, Action: d.a, Model: "test"}, err
}

// A model may not add or merge patients, whatever it answers: those are
// plain commands.
func TestModelMayNotAddOrMergePatients(t *testing.T) {
	ctx := context.Background()
	for _, a := range []tools.Action{
		action(t, tools.ToolAddPatient, tools.AddPatientArgs{FirstName: "Tom", LastName: "Baker", DOB: "1970-01-01"}),
		action(t, tools.ToolMergePatients, tools.MergeArgs{Keep: &tools.PatientRef{Match: "P1"}, Other: &tools.PatientRef{Match: "P2"}}),
		action(t, tools.ToolReopenTask, tools.ReopenTaskArgs{ID: 1}),
	} {
		svc, _ := recordsService(t)
		svc.cfg.Decider = func() (Decider, error) { return decideThis{a}, nil }
		b := svc.For(Caller{Role: backend.RoleManager, OSUser: "owner", Session: "s"})
		_, err := b.Ask(ctx, backend.AskRequest{Channel: backend.ChannelAsk, Request: "do it", Yes: true}, nil)
		var invalid *tools.ValidationError
		if !errors.As(err, &invalid) || !strings.Contains(invalid.Msg, "plain command") {
			t.Errorf("%s from the model: %v", a.Tool, err)
		}
		rec, err := b.Record(ctx, backend.RecordRequest{Channel: backend.ChannelCLI, Patient: tools.PatientRef{Match: "P2"}})
		if err != nil || rec.MRN != "P2" {
			t.Errorf("%s from the model changed the practice: %v", a.Tool, err)
		}
	}
}
