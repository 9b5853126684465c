package service

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/store"
)

// staffService is a practice whose staff are Ana (front desk, OS account
// ana, a PIN) and Maria (manager), on a real database file.
func staffService(t *testing.T) (*Service, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "practice.duckdb")
	opts := store.Options{Now: func() time.Time { return recordsNow }, Actor: "owner"}
	st, err := store.Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	err = st.Write(ctx, store.AuditEntry{Channel: "test"}, func(tx *store.Tx) error {
		if err := tx.AddStaff(ctx, store.Staff{Name: "Ana", Role: backend.RoleFrontDesk, OSUser: "ana", PINHash: HashPIN("135790")}); err != nil {
			return err
		}
		return tx.AddStaff(ctx, store.Staff{Name: "Maria", Role: backend.RoleManager, OSUser: "maria"})
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{DB: NewDirect(path, opts, false), Now: func() time.Time { return recordsNow }}), path
}

// changeStaff changes a staff member's record on the file itself.
func changeStaff(t *testing.T, path, name string, change func(*store.Staff)) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := st.Reader().StaffByName(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	change(&m)
	if err := st.Write(ctx, store.AuditEntry{Channel: "test"}, func(tx *store.Tx) error { return tx.UpdateStaff(ctx, m) }); err != nil {
		t.Fatal(err)
	}
}

// A session is checked against its member's record: each change that
// takes something away ends it with a sentence that says why and how to
// get access, and the end is audited; what a stranger can cause (wrong
// PINs, a lockout) ends nothing.
func TestRecheckEndsSessionsOfChangedStaff(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		change func(*store.Staff)
		want   string // "" keeps the session
	}{
		{"unchanged", func(*store.Staff) {}, ""},
		{"wrong PINs and a lockout", func(m *store.Staff) { m.FailedPINs, m.LockedUntil = 5, recordsNow.Add(time.Hour) }, ""},
		{"disabled", func(m *store.Staff) { m.Disabled = true },
			"this session ended because Ana is disabled; ask a manager to enable them again: carebook staff add Ana --role front-desk --os-user ana"},
		{"another role", func(m *store.Staff) { m.Role = backend.RoleManager },
			"this session ended because Ana is a manager now, not a front-desk; run the command again"},
		{"another PIN", func(m *store.Staff) { m.PINHash = HashPIN("246800") },
			"this session ended because Ana's PIN was changed; log in again with the new PIN (a manager sets it: carebook staff pin Ana)"},
		{"another OS account", func(m *store.Staff) { m.OSUser = "desk" },
			"this session ended because Ana no longer works from the OS account ana"},
	} {
		t.Run(c.name, func(t *testing.T) {
			svc, path := staffService(t)
			caller, err := svc.Authenticate(ctx, Identity{OSUser: "ana", Host: "desk-pc", Staff: "Ana", PIN: "135790"}, "s1")
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.Recheck(ctx, caller); err != nil {
				t.Fatalf("before any change: %v", err)
			}
			changeStaff(t, path, "Ana", c.change)
			err = svc.Recheck(ctx, caller)
			if c.want == "" {
				if err != nil {
					t.Fatalf("the session ended: %v", err)
				}
				return
			}
			var auth *backend.AuthError
			if !errors.As(err, &auth) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an AuthError saying %q", err, c.want)
			}
			st, err := store.Open(ctx, path, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			rows, err := st.Reader().FindAudit(ctx, store.AuditQuery{Channel: backend.ChannelSession})
			if err != nil {
				t.Fatal(err)
			}
			var ended int
			for _, r := range rows {
				if strings.Contains(r.Action, `"session_end"`) && r.Outcome == store.OutcomeRefused && r.Staff == "Ana" && r.User == "ana" {
					ended++
				}
			}
			if ended != 1 {
				t.Errorf("%d session_end rows for Ana, want 1: %+v", ended, rows)
			}
		})
	}
}

// A mapped account whose only member is disabled is told that, with the
// command a manager runs, not that it is nobody's.
func TestDisabledMemberIsToldSo(t *testing.T) {
	ctx := context.Background()
	svc, path := staffService(t)
	changeStaff(t, path, "Maria", func(m *store.Staff) { m.Disabled = true })
	_, err := svc.Authenticate(ctx, Identity{OSUser: "maria", Host: "office"}, "s1")
	want := "refused: Maria is disabled; ask a manager to enable them again: carebook staff add Maria --role manager --os-user maria"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}
