package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/store"
)

// staffArgs is what a staff channel row's action says.
type staffArgs struct {
	Tool string `json:"tool"`
	Args struct {
		Name   string `json:"name"`
		Role   string `json:"role"`
		OSUser string `json:"os_user"`
		PIN    string `json:"pin"`
	} `json:"args"`
}

// TestTeamStaffChanges: staff add, pin, disable and a change of role (a
// disabled member added again) take effect through the server, and each
// is an audit row naming the manager who made it; a disabled member's
// account is told so, with who can undo it; audit log --user shows one
// member's rows and nobody else's.
func TestTeamStaffChanges(t *testing.T) {
	tm := teamAccounts(t)
	// Bo is a second manager, on an OS account of his own.
	tm.mustClient("staff", "add", "Bo", "--role", "manager", "--os-user", acctUnknown)
	tm.mustClient("staff", "add", "Ana", "--role", "front-desk", "--os-user", acctMapped)
	if r := tm.clientEnv(nil, "135790\n", "staff", "pin", "Ana"); r.code != 0 {
		t.Fatalf("staff pin Ana: %s", r)
	}
	if r := tm.as(acctMapped, nil, "", "tag", "add", "ana-was-here", "P1003", "--yes"); r.code != 0 {
		t.Fatalf("Ana before she is disabled: %s", r)
	}

	t.Run("a manager disables a member", func(t *testing.T) {
		r := tm.as(acctUnknown, nil, "", "staff", "disable", "Ana")
		if r.code != 0 || !strings.Contains(r.stdout, "Disabled Ana: front-desk, OS account "+acctMapped+", a PIN.") {
			t.Fatalf("Bo disables Ana: %s", r)
		}
		var list []backend.StaffView
		if err := json.Unmarshal([]byte(tm.mustClient("staff", "list", "--json")), &list); err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			if s.Disabled != (s.Name == "Ana") {
				t.Errorf("staff list: %+v", s)
			}
		}
	})

	t.Run("a disabled member's account is told so", func(t *testing.T) {
		before := len(tm.auditLog())
		r := tm.as(acctMapped, nil, "", "patients")
		want := "refused: Ana is disabled; ask a manager to enable them again: carebook staff add Ana --role front-desk --os-user " + acctMapped
		if r.code == 0 || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "not a Carebook staff member") {
			t.Fatalf("as disabled Ana: %s", r)
		}
		if strings.Contains(r.stdout, "P10") {
			t.Errorf("a disabled member saw patients: %s", r.stdout)
		}
		refused := rowsWhere(tm.auditLog()[before:], func(r store.AuditRowJSON) bool {
			return r.Channel == "session" && r.Outcome == "refused" && r.Staff == "Ana" && r.User == acctMapped && r.Message == want
		})
		if len(refused) != 1 {
			t.Errorf("%d refusal rows for disabled Ana, want 1", len(refused))
		}
	})

	t.Run("a member added again in another role works in it", func(t *testing.T) {
		tm.mustClient("staff", "add", "Ana", "--role", "clinician", "--os-user", acctMapped)
		r := tm.as(acctMapped, []string{"CAREBOOK_PIN=135790"}, "", "patients", "--limit", "1")
		if r.code != 0 {
			t.Fatalf("Ana enabled again: %s", r)
		}
		r = tm.as(acctMapped, nil, "", "staff", "list")
		if r.code == 0 || !strings.Contains(r.stderr, "refused: Ana is a clinician, and staff is for managers") {
			t.Fatalf("Ana as a clinician lists the staff: %s", r)
		}
	})

	t.Run("the last manager stays", func(t *testing.T) {
		tm.mustClient("staff", "disable", "Bo")
		r := tm.client("staff", "disable", "root")
		if r.code == 0 || !strings.Contains(r.stderr, "root is the last manager; add another manager first") {
			t.Fatalf("disabling the last manager: %s", r)
		}
		r = tm.client("staff", "disable", "Nobody")
		if r.code == 0 || !strings.Contains(r.stderr, `there is no staff member "Nobody"`) {
			t.Fatalf("disabling nobody: %s", r)
		}
	})

	t.Run("each change is audited with who made it", func(t *testing.T) {
		var got []string
		for _, r := range tm.auditLog() {
			if r.Channel != "staff" || r.Outcome != "ok" {
				continue
			}
			var a staffArgs
			if err := json.Unmarshal([]byte(r.Action), &a); err != nil {
				t.Fatalf("a staff row's action: %v: %s", err, r.Action)
			}
			if !strings.HasPrefix(a.Tool, "staff_") || a.Tool == "staff_list" {
				continue
			}
			got = append(got, fmt.Sprintf("%s %s role=%s os=%s pin=%s by %s/%s %s", a.Tool, a.Args.Name, a.Args.Role, a.Args.OSUser, a.Args.PIN, r.Staff, r.User, r.Mode))
			if strings.Contains(r.Action+r.Message, "135790") {
				t.Errorf("a PIN is in the audit log: %+v", r)
			}
		}
		want := []string{
			"staff_add root role=manager os=root pin= by /root direct",
			"staff_add Bo role=manager os=" + acctUnknown + " pin= by root/root server",
			"staff_add Ana role=front-desk os=" + acctMapped + " pin= by root/root server",
			"staff_pin Ana role= os= pin=set by root/root server",
			"staff_disable Ana role= os= pin= by Bo/" + acctUnknown + " server",
			"staff_add Ana role=clinician os=" + acctMapped + " pin= by root/root server",
			"staff_disable Bo role= os= pin= by root/root server",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("staff rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})

	t.Run("audit log --user shows one member's rows", func(t *testing.T) {
		for _, user := range []string{"Ana", "ana", acctMapped} {
			rows := tm.auditLog("--user", user)
			if len(rowsWhere(rows, func(r store.AuditRowJSON) bool { return strings.Contains(r.Action, "ana-was-here") })) != 1 {
				t.Errorf("--user %s: Ana's tag is not listed", user)
			}
			if len(rowsWhere(rows, func(r store.AuditRowJSON) bool { return r.Outcome == "refused" && r.Channel == "session" })) != 1 {
				t.Errorf("--user %s: Ana's refused login is not listed", user)
			}
			for _, r := range rows {
				if r.Staff != "Ana" || r.User != acctMapped {
					t.Errorf("--user %s lists a row of %s (%s): %+v", user, r.Staff, r.User, r)
				}
			}
		}
		rows := tm.auditLog("--user", "Bo")
		if len(rows) == 0 {
			t.Fatal("--user Bo lists nothing")
		}
		for _, r := range rows {
			if r.Staff != "Bo" {
				t.Errorf("--user Bo lists a row of %s (%s)", r.Staff, r.User)
			}
		}
	})
}
