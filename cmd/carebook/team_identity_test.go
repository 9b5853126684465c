package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/carebook/carebook/store"
)

// The OS accounts these tests run clients as. They are made once (as
// root, with useradd) and left in place: other test runs use them too.
const (
	staffGroup  = "cbtest-staff"
	acctMapped  = "cbtest-ana"  // one staff member, front desk
	acctUnknown = "cbtest-bob"  // in the staff group, no staff record
	acctShared  = "cbtest-desk" // the front-desk PC: two staff, two PINs
	acctOutside = "cbtest-eve"  // not even in the staff group
	// acctClinician is one staff member, a clinician.
	acctClinician = "cbtest-kim"
)

var accountsMu sync.Mutex

// osAccount makes the account name (in groups) unless it exists.
func osAccount(t *testing.T, name string, groups ...string) {
	t.Helper()
	accountsMu.Lock()
	defer accountsMu.Unlock()
	for _, g := range groups {
		if _, err := user.LookupGroup(g); err != nil {
			if out, err := exec.Command("groupadd", "--system", g).CombinedOutput(); err != nil {
				if _, lerr := user.LookupGroup(g); lerr != nil {
					t.Fatalf("groupadd %s: %v\n%s", g, err, out)
				}
			}
		}
	}
	if _, err := user.Lookup(name); err == nil {
		return
	}
	args := []string{"--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group"}
	if len(groups) > 0 {
		args = append(args, "--groups", strings.Join(groups, ","))
	}
	if out, err := exec.Command("useradd", append(args, name)...).CombinedOutput(); err != nil {
		if _, lerr := user.Lookup(name); lerr != nil {
			t.Fatalf("useradd %s: %v\n%s", name, err, out)
		}
	}
}

// teamAccounts readies a practice whose server other OS accounts can
// reach: its socket in a folder of the staff group, the binary where
// they can run it.
func teamAccounts(t *testing.T) *team {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run clients as other OS accounts (CI runs as root)")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv is not installed (util-linux)")
	}
	osAccount(t, acctMapped, staffGroup)
	osAccount(t, acctUnknown, staffGroup)
	osAccount(t, acctShared, staffGroup)
	osAccount(t, acctOutside)
	osAccount(t, acctClinician, staffGroup)
	tm := newTeam(t)
	if err := os.Chmod(filepath.Dir(tm.bin), 0o755); err != nil {
		t.Fatal(err)
	}
	g, _ := user.LookupGroup(staffGroup)
	gid, _ := strconv.Atoi(g.Gid)
	sockDir, err := os.MkdirTemp("", "carebook-team-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	os.Chown(sockDir, -1, gid)
	os.Chmod(sockDir, 0o750)
	tm.socket = filepath.Join(sockDir, "carebook.sock")
	tm.serve("--socket", tm.socket, "--group", staffGroup)
	return tm
}

// as runs carebook through the server as the OS account name, with env.
func (tm *team) as(name string, env []string, stdin string, args ...string) result {
	u, err := user.Lookup(name)
	if err != nil {
		tm.t.Fatal(err)
	}
	argv := append([]string{"setpriv", "--reuid=" + u.Uid, "--regid=" + u.Gid, "--init-groups", "--",
		tm.bin, "--server", tm.socket}, args...)
	full := append([]string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "XDG_CONFIG_HOME=/nonexistent",
		"CAREBOOK_SYSTEM_CONFIG=/nonexistent/config.toml", "CAREBOOK_NOW=2026-06-15T10:00:00Z", "USER=" + name, "LOGNAME=" + name}, env...)
	return tm.command(full, stdin, argv...)
}

// rowsWhere are the audit rows that match.
func rowsWhere(rows []store.AuditRowJSON, match func(store.AuditRowJSON) bool) []store.AuditRowJSON {
	var out []store.AuditRowJSON
	for _, r := range rows {
		if match(r) {
			out = append(out, r)
		}
	}
	return out
}

// TestTeamIdentity runs clients as other OS accounts: the kernel says who
// connected, and nothing the client says (its environment, a staff name
// that is not its own) changes that.
func TestTeamIdentity(t *testing.T) {
	tm := teamAccounts(t)
	tm.mustClient("staff", "add", "Ana", "--role", "front-desk", "--os-user", acctMapped)
	for name, pin := range map[string]string{"Desk One": "111111", "Desk Two": "222222"} {
		r := tm.clientEnv(nil, pin+"\n", "staff", "add", name, "--role", "clinician", "--os-user", acctShared, "--pin")
		if r.code != 0 {
			t.Fatalf("staff add %s: %s", name, r)
		}
	}

	t.Run("a mapped account is its staff member", func(t *testing.T) {
		r := tm.as(acctMapped, []string{"USER=root", "LOGNAME=root", "CAREBOOK_STAFF="}, "", "tag", "add", "ana-was-here", "P1003", "--yes")
		if r.code != 0 {
			t.Fatalf("as %s: %s", acctMapped, r)
		}
		rows := rowsWhere(tm.auditLog(), func(r store.AuditRowJSON) bool { return strings.Contains(r.Action, "ana-was-here") })
		if len(rows) != 1 {
			t.Fatalf("%d rows for the tag, want 1", len(rows))
		}
		if got := rows[0]; got.User != acctMapped || got.Staff != "Ana" || got.Mode != store.ModeServer {
			t.Errorf("the row names user %q, staff %q, mode %q; want %s, Ana, server ($USER=root changes nothing)", got.User, got.Staff, got.Mode, acctMapped)
		}
	})

	t.Run("a staff name that is not the account's own is refused", func(t *testing.T) {
		r := tm.as(acctMapped, nil, "", "--staff", "root", "patients")
		if r.code == 0 || !strings.Contains(r.stderr, "root does not work from the OS account "+acctMapped) {
			t.Fatalf("--staff root as %s: %s", acctMapped, r)
		}
		refused := rowsWhere(tm.auditLog(), func(r store.AuditRowJSON) bool {
			return r.Channel == "session" && r.Outcome == "refused" && r.User == acctMapped && r.Staff == "root"
		})
		if len(refused) != 1 {
			t.Errorf("%d refusal rows, want 1", len(refused))
		}
	})

	t.Run("an unknown account is told how to get access", func(t *testing.T) {
		r := tm.as(acctUnknown, nil, "", "patients")
		want := fmt.Sprintf("the OS account %s is not a Carebook staff member; ask a manager to add you: carebook staff add NAME --role ROLE --os-user %s", acctUnknown, acctUnknown)
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Fatalf("as %s: %s", acctUnknown, r)
		}
		if strings.Contains(r.stdout, "P10") {
			t.Errorf("an unknown account saw patients: %s", r.stdout)
		}
		refused := rowsWhere(tm.auditLog(), func(r store.AuditRowJSON) bool {
			return r.Channel == "session" && r.Outcome == "refused" && r.User == acctUnknown
		})
		if len(refused) != 1 {
			t.Errorf("%d refusal rows for %s, want 1", len(refused), acctUnknown)
		}
	})

	t.Run("an account outside the staff group cannot connect", func(t *testing.T) {
		r := tm.as(acctOutside, nil, "", "patients")
		if r.code == 0 || !strings.Contains(r.stderr, "permission denied") || !strings.Contains(r.stderr, "add it to the staff group") {
			t.Fatalf("as %s: %s", acctOutside, r)
		}
	})

	t.Run("a shared account with two PINs", func(t *testing.T) {
		r := tm.as(acctShared, nil, "", "patients")
		if r.code == 0 || !strings.Contains(r.stderr, "shared by several staff members: say who you are with --staff NAME") {
			t.Fatalf("no --staff: %s", r)
		}
		r = tm.as(acctShared, nil, "", "--staff", "Desk One", "patients")
		if r.code == 0 || !strings.Contains(r.stderr, "Desk One's PIN is needed") {
			t.Fatalf("no PIN: %s", r)
		}
		for _, who := range []struct{ name, pin, tag string }{{"Desk One", "111111", "desk-one-was-here"}, {"Desk Two", "222222", "desk-two-was-here"}} {
			r := tm.as(acctShared, []string{"CAREBOOK_PIN=" + who.pin}, "", "--staff", who.name, "tag", "add", who.tag, "P1004", "--yes")
			if r.code != 0 {
				t.Fatalf("%s with the PIN: %s", who.name, r)
			}
			rows := rowsWhere(tm.auditLog(), func(r store.AuditRowJSON) bool { return strings.Contains(r.Action, who.tag) })
			if len(rows) != 1 || rows[0].Staff != who.name || rows[0].User != acctShared {
				t.Errorf("%s's tag rows: %+v", who.name, rows)
			}
		}
		// One staff member's PIN is not another's.
		r = tm.as(acctShared, []string{"CAREBOOK_PIN=222222"}, "", "--staff", "Desk One", "patients")
		if r.code == 0 || !strings.Contains(r.stderr, "wrong PIN for Desk One") {
			t.Fatalf("Desk Two's PIN for Desk One: %s", r)
		}
	})

	t.Run("five wrong PINs lock out; a new PIN lifts it", func(t *testing.T) {
		before := len(tm.auditLog())
		for i := 1; i <= 5; i++ {
			r := tm.as(acctShared, []string{"CAREBOOK_PIN=99999" + strconv.Itoa(i)}, "", "--staff", "Desk Two", "patients")
			want := fmt.Sprintf("wrong PIN for Desk Two (%d of 5", i)
			if i == 5 {
				want = "wrong PIN for Desk Two, 5 times: locked out until"
			}
			if r.code == 0 || !strings.Contains(r.stderr, want) {
				t.Fatalf("wrong PIN %d: %s", i, r)
			}
		}
		r := tm.as(acctShared, []string{"CAREBOOK_PIN=222222"}, "", "--staff", "Desk Two", "patients")
		if r.code == 0 || !strings.Contains(r.stderr, "Desk Two is locked out until") || !strings.Contains(r.stderr, "carebook staff pin Desk Two") {
			t.Fatalf("the right PIN while locked out: %s", r)
		}
		rows := tm.auditLog()[before:]
		refused := rowsWhere(rows, func(r store.AuditRowJSON) bool {
			return r.Channel == "session" && r.Outcome == "refused" && r.Staff == "Desk Two" && r.User == acctShared
		})
		if len(refused) != 6 {
			t.Errorf("%d refused logins audited, want 6 (5 wrong PINs and the locked-out one)", len(refused))
		}
		for _, r := range rows {
			if strings.Contains(r.Message, "99999") || strings.Contains(r.Action, "99999") || strings.Contains(r.Message, "222222") {
				t.Errorf("a PIN is in the audit log: %+v", r)
			}
		}
		if r := tm.clientEnv(nil, "333333\n", "staff", "pin", "Desk Two"); r.code != 0 {
			t.Fatalf("staff pin: %s", r)
		}
		if r := tm.as(acctShared, []string{"CAREBOOK_PIN=333333"}, "", "--staff", "Desk Two", "patients", "--limit", "1"); r.code != 0 {
			t.Fatalf("the new PIN after the lockout: %s", r)
		}
		// Desk One was never locked out.
		if r := tm.as(acctShared, []string{"CAREBOOK_PIN=111111"}, "", "--staff", "Desk One", "patients", "--limit", "1"); r.code != 0 {
			t.Fatalf("Desk One: %s", r)
		}
	})
}

// TestTeamRoles: a front-desk member and a clinician may do the same
// things, and neither may do what is for managers (export, forget, the
// audit log, backup, staff, import, migrate, merge); each refusal is
// audited and leaves nothing behind.
func TestTeamRoles(t *testing.T) {
	tm := teamAccounts(t)
	tm.mustClient("staff", "add", "Ana", "--role", "front-desk", "--os-user", acctMapped)
	tm.mustClient("staff", "add", "Kim", "--role", "clinician", "--os-user", acctClinician)
	// A CSV they may read, of new patients, to import or migrate.
	in, err := os.MkdirTemp("", "carebook-in-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(in)
	os.Chmod(in, 0o755)
	csv := filepath.Join(in, "new.csv")
	os.WriteFile(csv, []byte("Patient ID (MRN),First Name,Last Name,Date of Birth\nN9001,Nora,Quill,01/02/1980\n"), 0o644)
	// A folder they may write in: a refusal must leave nothing there.
	out, err := os.MkdirTemp("", "carebook-out-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(out)
	os.Chmod(out, 0o777)

	for _, m := range []struct{ name, acct, role string }{{"Ana", acctMapped, "front-desk"}, {"Kim", acctClinician, "clinician"}} {
		t.Run(m.role, func(t *testing.T) {
			for _, c := range []struct {
				op   string
				args []string
			}{
				{"export", []string{"export", "patients", "--output", filepath.Join(out, "list.csv")}},
				{"export", []string{"export", "patient", "P1005", "--to", "the patient", "--output", filepath.Join(out, "p.json")}},
				{"forget", []string{"forget", "P1005", "--yes"}},
				{"audit", []string{"audit", "log"}},
				{"audit", []string{"audit", "export"}},
				{"backup", []string{"backup", filepath.Join(out, "b.age")}},
				{"staff", []string{"staff", "list"}},
				{"import", []string{"import", "patients", csv}},
				{"migrate", []string{"migrate", csv, "--yes"}},
				{"merge", []string{"patient", "merge", "P1005", "P1006", "--yes"}},
			} {
				t.Run(strings.Join(c.args[:2], " "), func(t *testing.T) {
					before := len(tm.auditLog())
					r := tm.as(m.acct, []string{"CAREBOOK_BACKUP_PASSPHRASE=a long enough passphrase"}, "", c.args...)
					want := "refused: " + m.name + " is a " + m.role + ", and " + c.op + " is for managers"
					if r.code == 0 || !strings.Contains(r.stderr, want) {
						t.Fatalf("%s: %s", strings.Join(c.args, " "), r)
					}
					if strings.Contains(r.stdout, "P1005") || strings.Contains(r.stdout, "Smith") {
						t.Errorf("the refusal showed patient data: %s", r.stdout)
					}
					rows := tm.auditLog()[before:]
					refused := rowsWhere(rows, func(r store.AuditRowJSON) bool {
						return r.Outcome == "refused" && r.Staff == m.name && r.User == m.acct && actionTool(r.Action) == c.op
					})
					if len(refused) != 1 {
						t.Errorf("%d refusal rows for %s, want 1; rows: %+v", len(refused), c.op, rows)
					}
					if done := rowsWhere(rows, func(r store.AuditRowJSON) bool { return r.Staff == m.name && r.Outcome == "ok" }); len(done) > 0 {
						t.Errorf("a refused %s wrote ok rows: %+v", c.op, done)
					}
					entries, _ := os.ReadDir(out)
					if len(entries) > 0 {
						t.Errorf("a refused %s left files: %v", c.op, entries)
					}
				})
			}
			for _, args := range [][]string{
				{"patients", "--limit", "1"},
				{"show", "P1003"},
				{"tag", "add", m.role + "-was-here", "P1003", "--yes"},
				{"log", "P1003", "--channel", "call", "--summary", "Left a voicemail", "--yes"},
				{"task", "add", "P1003", "Call back about the refill", "--yes"},
				{"ask", "how many patients are there"},
			} {
				t.Run(args[0], func(t *testing.T) {
					if r := tm.as(m.acct, nil, "", args...); r.code != 0 {
						t.Fatalf("%s as %s: %s", strings.Join(args, " "), m.role, r)
					}
				})
			}
		})
	}
	// Nothing was imported or merged, the patient is still there, and a
	// manager may do what they may not.
	if r := tm.client("show", "N9001"); r.code == 0 {
		t.Errorf("a refused import or migrate added N9001: %s", r.stdout)
	}
	for _, mrn := range []string{"P1005", "P1006"} {
		if !strings.Contains(tm.mustClient("show", mrn), mrn) {
			t.Errorf("%s is gone after a refused forget or merge", mrn)
		}
	}
	roles := tm.auditLog()
	for _, who := range []string{"Ana", "Kim"} {
		if n := len(rowsWhere(roles, func(r store.AuditRowJSON) bool { return r.Staff == who && r.Outcome == "refused" })); n != 10 {
			t.Errorf("%d refusals for %s in the log, want 10", n, who)
		}
	}
	if !slices.ContainsFunc(roles, func(r store.AuditRowJSON) bool { return r.Staff == "root" && r.User == "root" }) {
		t.Error("the manager's own reads are not in the log")
	}
}
