package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// A group commit applies the units that work and none of the one that
// fails, each with its own audit row, and the log still verifies.
func TestWriteEachIsAllOrNothingPerUnit(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	addPatients(t, s, Patient{MRN: "P1", FirstName: "Ada", LastName: "Lovelace"}, Patient{MRN: "P2", FirstName: "Alan", LastName: "Turing"})
	ids, _ := s.Reader().PatientIDs(ctx, PatientFilter{})
	tag := func(name string, fail bool) Unit {
		return Unit{Entry: AuditEntry{Channel: "run", Action: `{"tool":"tag","args":{"tag":"` + name + `"}}`}, Fn: func(tx *Tx) error {
			if _, err := tx.AddTag(ctx, name, ids); err != nil {
				return err
			}
			if fail {
				return errors.New("this line is bad")
			}
			return nil
		}}
	}
	before, _ := s.Reader().Counts(ctx)
	errs := s.WriteEach(ctx, []Unit{tag("first", false), tag("second", true), tag("third", false)})
	if errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("errors %v; want only the second", errs)
	}
	tags, _ := s.Reader().ListTags(ctx)
	var names []string
	for _, tc := range tags {
		names = append(names, tc.Name)
	}
	if strings.Join(names, ",") != "first,third" {
		t.Errorf("tags %v; want first and third only", names)
	}
	after, _ := s.Reader().Counts(ctx)
	// Two writes and the failed attempt.
	if after.AuditRows-before.AuditRows != 3 {
		t.Errorf("%d audit rows added, want 3", after.AuditRows-before.AuditRows)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}

	// When every unit works, they share one commit.
	errs = s.WriteEach(ctx, []Unit{tag("fourth", false), tag("fifth", false)})
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

// A crash between a group's commit and the head's update leaves several
// rows beyond the head: exactly those announced are accepted, no more.
func TestGroupCommitCrashIsCaughtUpOnlyForTheAnnouncedRows(t *testing.T) {
	for _, c := range []struct {
		name      string
		announced int64
		wantOK    bool
	}{{"announced", 3, true}, {"one row too many", 2, false}} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			s, path := openTemp(t)
			before := s.head
			units := make([]Unit, 3)
			for i := range units {
				units[i] = Unit{Entry: AuditEntry{Channel: "run", Action: `{}`}, Fn: func(*Tx) error { return nil }}
			}
			for _, err := range s.WriteEach(ctx, units) {
				if err != nil {
					t.Fatal(err)
				}
			}
			last := s.head.Last
			s.Close()
			// The head as announced before the commit: the rows committed,
			// the head was never updated.
			h := before
			h.Pending, h.PendingRows = last, c.announced
			if err := os.WriteFile(HeadPath(path), h.marshal(), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(ctx, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := s.AuditBroken() == nil; got != c.wantOK {
				t.Errorf("audit ok after reopen: %v, want %v (%v)", got, c.wantOK, s.AuditBroken())
			}
		})
	}
}

// forget's rewrite closes DuckDB's connection before it renames the new
// file into place. Another process that got in there wrote to the old file
// and lost its committed rows. The lock file keeps it out until the store
// that compacts is closed, and then its rows land in the new file.
func TestNobodyGetsInDuringTheRewrite(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	addPatients(t, s, Patient{MRN: "P1", FirstName: "Ada", LastName: "Lovelace"})
	type result struct {
		err error
		at  time.Time
	}
	done := make(chan result, 1)
	go func() {
		other, err := Open(ctx, path, Options{LockTimeout: 30 * time.Second})
		if err != nil {
			done <- result{err: err}
			return
		}
		defer other.Close()
		err = other.LogOutcome(ctx, AuditEntry{Channel: "cli", Action: `{"tool":"other"}`}, nil, 0, OutcomeOK, "")
		done <- result{err: err, at: time.Now()}
	}()
	time.Sleep(200 * time.Millisecond) // the other process is waiting now
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		t.Fatalf("another process got in while the store was open: %v", r.err)
	default:
	}
	closed := time.Now()
	s.Close()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.at.Before(closed) {
		t.Error("the other process wrote before the compacting store closed")
	}
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, _ := s.Reader().AuditLog(ctx, 0)
	if last := rows[len(rows)-1]; last.Action != `{"tool":"other"}` {
		t.Errorf("the other process's row is lost; last row %+v", last)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

// Waiting for another process is announced once, and the wait lasts the
// whole timeout, not a jittered part of it.
func TestLockWaitSaysWhoAndLastsTheTimeout(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	defer s.Close()
	var told []Holder
	start := time.Now()
	_, err := Open(ctx, path, Options{LockTimeout: 1500 * time.Millisecond, OnWait: func(h Holder) { told = append(told, h) }})
	waited := time.Since(start)
	var locked *LockedError
	if !errors.As(err, &locked) || locked.PID != os.Getpid() {
		t.Fatalf("err %v; want a LockedError naming pid %d", err, os.Getpid())
	}
	if waited < 1500*time.Millisecond || waited > 3*time.Second {
		t.Errorf("gave up after %v, want the 1.5 s timeout", waited)
	}
	if len(told) != 1 || told[0].PID != os.Getpid() {
		t.Errorf("told %v, want once, naming this process", told)
	}
}

// A server holding the database is not waited for: the error names it.
func TestServerHoldingTheDatabaseIsNamedAtOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.duckdb")
	s, err := Open(ctx, path, Options{Holder: Holder{Server: true, Socket: "/run/carebook/carebook.sock"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, err = Open(ctx, path, Options{})
	var held *ServerHoldsError
	if !errors.As(err, &held) || !strings.Contains(err.Error(), "--server /run/carebook/carebook.sock") {
		t.Fatalf("err %v; want the server's socket named", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("waited %v for a server", time.Since(start))
	}
}

// A folder or file another account can write is a way in: refused, with
// the fix.
func TestSharedFolderOrFileIsRefused(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		prep func(dir, path string)
		want string
	}{
		{"group-writable folder", func(dir, _ string) { os.Chmod(dir, 0o770) }, "chmod 700"},
		{"world-writable file", func(_, path string) { os.Chmod(path, 0o666) }, "chmod 600"},
		{"group-writable head", func(_, path string) { os.Chmod(HeadPath(path), 0o660) }, "chmod 600"},
		{"linked lock file", func(dir, path string) {
			os.Remove(LockPath(path))
			os.Symlink(filepath.Join(dir, "elsewhere"), LockPath(path))
		}, "symbolic link"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "p.duckdb")
			s, err := Open(ctx, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			c.prep(dir, path)
			_, err = Open(ctx, path, Options{})
			var b *BoundaryError
			if !errors.As(err, &b) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v; want a refusal saying %q", err, c.want)
			}
		})
	}
}

// --db pointed at a CSV "imported" into nothing, with exit 0.
func TestAFileThatIsNotDuckDBIsRefused(t *testing.T) {
	for _, content := range []string{"", "mrn,first_name\nP1,Ada\n", "0123456789ABCDEFG"} {
		path := filepath.Join(t.TempDir(), "notes.csv")
		os.WriteFile(path, []byte(content), 0o600)
		_, err := Open(context.Background(), path, Options{})
		var nd *NotDatabaseError
		if !errors.As(err, &nd) {
			t.Errorf("content %q: err %v, want NotDatabaseError", content, err)
		}
		if data, _ := os.ReadFile(path); string(data) != content {
			t.Errorf("the file was changed")
		}
	}
}

// forget redacted "Maria Jose Garcia" only when typed with her accents and
// case; staff type names every way patient search accepts.
func TestForgetRedactsMentionsWhateverTheirAccentsOrCase(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	addPatients(t, s, Patient{MRN: "P9", FirstName: "María José", LastName: "García"},
		Patient{MRN: "P8", FirstName: "Ana", LastName: "Lima"})
	ps, _, _ := s.Reader().MatchPatients(ctx, "P9")
	requests := []string{"tag MARIA JOSE GARCIA as vip", "show maria garcia", "log a call with garcia, maría", "who is Maria"}
	for _, r := range requests {
		if err := s.LogOutcome(ctx, AuditEntry{Channel: "ask", Request: r, Action: `{}`}, nil, 0, OutcomeOK, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Forget(ctx, AuditEntry{Channel: "cli"}, ps[0].ID); err != nil {
		t.Fatal(err)
	}
	rows, _ := s.Reader().AuditLog(ctx, 0)
	for _, r := range rows {
		if strings.Contains(strings.ToLower(Fold(r.Request)), "garcia") {
			t.Errorf("row %d still names her: %q", r.Seq, r.Request)
		}
		if r.Request == "who is Maria" && r.Redacted {
			t.Error("a first name alone (a namesake's too) was redacted")
		}
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

// A group with a time budget starts no unit once the budget is spent: the
// units it ran are committed, each with its row, and the rest are left for
// the next group. A unit that fails in a group is replayed alone with those
// before it; the ones after it are not run.
func TestWriteGroupKeepsToItsBudget(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	var ran []int
	unit := func(i int, sleep time.Duration, fail bool) Unit {
		return Unit{Entry: AuditEntry{Channel: "run", Action: `{"tool":"test"}`}, Fn: func(*Tx) error {
			ran = append(ran, i)
			time.Sleep(sleep)
			if fail {
				return errors.New("this line is bad")
			}
			return nil
		}}
	}
	before, _ := s.Reader().Counts(ctx)
	units := []Unit{unit(0, 100*time.Millisecond, false), unit(1, 100*time.Millisecond, false), unit(2, 0, false), unit(3, 0, false)}
	n, errs := s.WriteGroup(ctx, units, 150*time.Millisecond)
	if n != 2 || len(errs) != 2 || errs[0] != nil || errs[1] != nil {
		t.Fatalf("ran %d units (%v); want the 2 that fit the budget", n, errs)
	}
	after, _ := s.Reader().Counts(ctx)
	if after.AuditRows-before.AuditRows != 2 {
		t.Errorf("%d rows for 2 units", after.AuditRows-before.AuditRows)
	}

	ran = nil
	units = []Unit{unit(0, 0, false), unit(1, 0, true), unit(2, 0, false)}
	n, errs = s.WriteGroup(ctx, units, time.Minute)
	if n != 2 || errs[0] != nil || errs[1] == nil {
		t.Fatalf("ran %d units (%v); want the first two, the second failing", n, errs)
	}
	// In the group: 0, 1 (fails); alone: 0, 1. Unit 2 waits for the next.
	if !slices.Equal(ran, []int{0, 1, 0, 1}) {
		t.Errorf("units ran in the order %v", ran)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

// A tag records who added it: the staff member the write was made for
// (through a server, whose own OS account is not theirs), else the OS
// account.
func TestTagsRecordWhoAddedThem(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	addPatients(t, s, Patient{MRN: "P1", FirstName: "Ada", LastName: "Lovelace"}, Patient{MRN: "P2", FirstName: "Alan", LastName: "Turing"})
	ids, _ := s.Reader().PatientIDs(ctx, PatientFilter{})
	for i, e := range []AuditEntry{{Staff: "Ana", OSUser: "frontdesk"}, {OSUser: "frontdesk"}} {
		e.Channel, e.Action = "cli", `{"tool":"tag"}`
		err := s.Write(ctx, e, func(tx *Tx) error {
			_, err := tx.AddTag(ctx, fmt.Sprintf("t%d", i), ids[i:i+1])
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT t.name, pt.added_by FROM patient_tags pt JOIN tags t ON t.id = pt.tag_id ORDER BY t.name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var tag, by string
		rows.Scan(&tag, &by)
		got = append(got, tag+" by "+by)
	}
	if want := []string{"t0 by Ana", "t1 by frontdesk"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v (the store was opened by %q)", got, want, s.actor)
	}
}
