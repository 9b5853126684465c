package tools_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// log_interaction and patient references are held to the store's limits,
// as an import is: a value no practice writes is refused with a sentence
// that names the field and never repeats the value.
func TestLogInteractionLimits(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "p.duckdb"), store.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Write(ctx, store.AuditEntry{Channel: "test", Action: "{}"}, func(tx *store.Tx) error {
		_, err := tx.LoadPatients(ctx, []store.Patient{{MRN: "P1", FirstName: "Ada", LastName: "Lovelace", Status: "active"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	env := tools.Env{Now: now, Staff: "front desk"}
	secret := "SECRETVALUE"
	long := func(n int) string { return secret + strings.Repeat("x", n-len(secret)) }

	cases := []struct {
		name string
		args tools.LogArgs
		want string
	}{
		{"summary of 20,001 characters", tools.LogArgs{Summary: long(store.MaxTextLen + 1)}, "summary is longer than 20000 characters"},
		{"summary with a NUL byte", tools.LogArgs{Summary: secret + "\x00"}, "summary holds a control character"},
		{"staff of 101 characters", tools.LogArgs{Summary: "ok", Staff: long(store.MaxLabelLen + 1)}, "staff is longer than 100 characters"},
		{"staff with a line break", tools.LogArgs{Summary: "ok", Staff: secret + "\nnurse"}, "staff holds a control character"},
		{"at in the year 1", tools.LogArgs{Summary: "ok", At: "0001-01-01"}, "between 1900 and 2100"},
		{"at in 9999", tools.LogArgs{Summary: "ok", At: "9999-12-31"}, "between 1900 and 2100"},
		{"a match of 10,000 characters", tools.LogArgs{Summary: "ok", Patient: &tools.PatientRef{Match: long(10_000)}}, "patient.match is longer than 401 characters"},
		{"a match with a NUL byte", tools.LogArgs{Summary: "ok", Patient: &tools.PatientRef{Match: "P1\x00" + secret}}, "patient.match holds a control character"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if args.Patient == nil {
				args.Patient = &tools.PatientRef{Match: "P1"}
			}
			args.Channel = "call"
			a, err := tools.NewAction(tools.ToolLogInteraction, args)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tools.Prepare(ctx, st.Reader(), a, env)
			var v *tools.ValidationError
			if !errors.As(err, &v) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want a *tools.ValidationError saying %q", err, c.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q repeats the value", err)
			}
		})
	}

	// The limits themselves are allowed.
	a, _ := tools.NewAction(tools.ToolLogInteraction, tools.LogArgs{Patient: &tools.PatientRef{Match: "P1"}, Channel: "note",
		Summary: strings.Repeat("é", store.MaxTextLen) + "\n\tend", At: "1900-01-01"})
	if _, err := tools.Prepare(ctx, st.Reader(), a, env); err == nil || !strings.Contains(err.Error(), "longer") {
		t.Errorf("a summary over the limit by its tail: %v", err)
	}
	a, _ = tools.NewAction(tools.ToolLogInteraction, tools.LogArgs{Patient: &tools.PatientRef{Match: "P1"}, Channel: "note",
		Summary: strings.Repeat("é", store.MaxTextLen-5) + "\n\tend", Staff: strings.Repeat("s", store.MaxLabelLen), At: "2100-12-31"})
	if _, err := tools.Prepare(ctx, st.Reader(), a, env); err != nil {
		t.Errorf("values at the limits: %v", err)
	}
}
