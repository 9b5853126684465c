package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/client"
	"github.com/carebook/carebook/store"
)

// login opens a session with the server over its socket, as this test's
// own account (root), the way a REPL holds one: it stays open between
// requests.
func (tm *team) login(staff, pin string) *client.Client {
	tm.t.Helper()
	c := client.New(tm.socket)
	if _, err := c.Login(context.Background(), staff, pin); err != nil {
		tm.t.Fatalf("log in as %q: %v", staff, err)
	}
	tm.t.Cleanup(func() { c.Logout(context.Background()) })
	return c
}

// refusedWith fails unless err is an AuthError whose sentence says want.
func refusedWith(t *testing.T, what string, err error, want string) {
	t.Helper()
	var auth *backend.AuthError
	if !errors.As(err, &auth) || !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: got %v, want a refusal saying %q", what, err, want)
	}
}

// sessionRows reads the session channel's rows from the file, the server
// stopped.
func sessionRows(t *testing.T, tm *team) []store.AuditRow {
	t.Helper()
	rows, err := tm.open().Reader().FindAudit(context.Background(), store.AuditQuery{Channel: backend.ChannelSession})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// withTool are the rows whose action's tool is tool.
func withTool(rows []store.AuditRow, tool string) []store.AuditRow {
	var out []store.AuditRow
	for _, r := range rows {
		if actionTool(r.Action) == tool {
			out = append(out, r)
		}
	}
	return out
}

// TestTeamSessionEndsWhenStaffChanges: a session open through the server
// ends at its next request once a manager changes its member's PIN or
// disables them, with a sentence that says why and how to get access, and
// the end is audited. Wrong PINs typed against the name end nothing.
func TestTeamSessionEndsWhenStaffChanges(t *testing.T) {
	tm := newTeam(t)
	tm.serve()
	ctx := context.Background()
	// Another manager, so that root may be disabled.
	tm.mustClient("staff", "add", "Maria", "--role", "manager")
	if r := tm.clientEnv(nil, "123456\n", "staff", "pin", "root"); r.code != 0 {
		t.Fatalf("staff pin root: %s", r)
	}

	t.Run("wrong PINs end nothing", func(t *testing.T) {
		c := tm.login("root", "123456")
		r := tm.clientEnv([]string{"CAREBOOK_PIN=999999"}, "", "--staff", "root", "patients")
		if r.code == 0 || !strings.Contains(r.stderr, "wrong PIN for root") {
			t.Fatalf("a wrong PIN: %s", r)
		}
		if _, err := c.Tags(ctx); err != nil {
			t.Fatalf("the session ended after someone else's wrong PIN: %v", err)
		}
	})

	t.Run("a new PIN ends the session", func(t *testing.T) {
		c := tm.login("root", "123456")
		if _, err := c.StaffList(ctx); err != nil {
			t.Fatal(err)
		}
		if r := tm.clientEnv(nil, "654321\n", "staff", "pin", "root"); r.code != 0 {
			t.Fatalf("staff pin root: %s", r)
		}
		_, err := c.Tags(ctx)
		refusedWith(t, "tags after the PIN changed", err, "this session ended because root's PIN was changed; log in again with the new PIN")
		_, err = c.StaffList(ctx)
		refusedWith(t, "staff list after the session ended", err, "this session is not known to the server")
		// The new PIN opens a new one.
		if _, err := tm.login("root", "654321").Tags(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("disabling a member ends their session", func(t *testing.T) {
		c := tm.login("", "")
		if _, err := c.StaffList(ctx); err != nil {
			t.Fatal(err)
		}
		if out := tm.mustClient("staff", "disable", "root"); !strings.Contains(out, "Disabled root: manager") {
			t.Fatalf("staff disable root says %q", out)
		}
		_, err := c.StaffList(ctx)
		refusedWith(t, "staff list as a disabled manager", err,
			"this session ended because root is disabled; ask a manager to enable them again: carebook staff add root --role manager --os-user root")
		_, err = c.Tags(ctx)
		refusedWith(t, "tags as a disabled manager", err, "this session is not known to the server")
		r := tm.client("patients", "--limit", "1")
		if r.code == 0 || !strings.Contains(r.stderr, "root is disabled") {
			t.Fatalf("a new login as a disabled member: %s", r)
		}
	})

	if code := tm.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("carebook serve exited %d:\n%s", code, tm.srvOut.String())
	}
	ended := withTool(sessionRows(t, tm), "session_end")
	var whys []string
	for _, r := range ended {
		var a struct {
			Args struct{ Why string } `json:"args"`
		}
		json.Unmarshal([]byte(r.Action), &a)
		whys = append(whys, a.Args.Why)
		if r.Staff != "root" || r.User != "root" || r.Mode != store.ModeServer || r.Outcome != store.OutcomeRefused {
			t.Errorf("a session_end row: %+v", r)
		}
	}
	if strings.Join(whys, ",") != "pin,disabled" {
		t.Errorf("session_end rows say %v, want one for the PIN and one for the disabling", whys)
	}
	if !strings.Contains(tm.srvOut.String(), "ended a session of root (root): its staff record changed") {
		t.Errorf("the server's log does not note the ended sessions:\n%s", tm.srvOut.String())
	}
}

// TestTeamIdleLockIsAudited: the server locks a session that made no
// request for idle_logoff, and audits the lock (when it began) and the
// unlock; the REPL locking itself is one row, its own, not two.
func TestTeamIdleLockIsAudited(t *testing.T) {
	tm := newTeam(t)
	if err := os.WriteFile(filepath.Join(tm.dir, "carebook.toml"), []byte("idle_logoff = \"1s\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tm.serve()
	ctx := context.Background()
	c := tm.login("", "")
	if _, err := c.Tags(ctx); err != nil {
		t.Fatal(err)
	}

	// Idle: the server locks the session at its next request, once.
	time.Sleep(1500 * time.Millisecond)
	for range 2 {
		_, err := c.Tags(ctx)
		refusedWith(t, "tags after sitting idle", err, "this session locked itself after sitting idle")
	}
	if err := c.Unlock(ctx, backend.UnlockRequest{}); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if _, err := c.Tags(ctx); err != nil {
		t.Fatalf("tags after the unlock: %v", err)
	}

	// The REPL locks itself after idle_logoff without a key.
	time.Sleep(1500 * time.Millisecond)
	if err := c.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := c.Tags(ctx)
	refusedWith(t, "tags after the REPL locked", err, "this session locked itself after sitting idle")
	if err := c.Unlock(ctx, backend.UnlockRequest{}); err != nil {
		t.Fatalf("unlock: %v", err)
	}

	if code := tm.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("carebook serve exited %d:\n%s", code, tm.srvOut.String())
	}
	rows := sessionRows(t, tm)
	locks := withTool(rows, "lock")
	if len(locks) != 2 {
		t.Fatalf("%d lock rows, want 2 (the server's, the REPL's): %+v", len(locks), locks)
	}
	byServer, byREPL := locks[0], locks[1]
	if !strings.Contains(byServer.Message, "session locked by carebook serve at ") || !strings.Contains(byServer.Message, "after 1s without a request") ||
		!strings.Contains(byServer.Action, `"by":"server"`) || !strings.Contains(byServer.Action, `"locked_at"`) {
		t.Errorf("the server's lock row: %+v", byServer)
	}
	if !strings.Contains(byREPL.Message, "the screen was cleared") {
		t.Errorf("the REPL's lock row: %+v", byREPL)
	}
	unlocks := withTool(rows, "unlock")
	if len(unlocks) != 2 {
		t.Errorf("%d unlock rows, want 2", len(unlocks))
	}
	for _, r := range append(locks, unlocks...) {
		if r.Staff != "root" || r.User != "root" || r.Mode != store.ModeServer || r.Outcome != store.OutcomeOK {
			t.Errorf("a lock or unlock row: %+v", r)
		}
	}
}
