package main

import (
	"context"
	"errors"
	"fmt"
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

// stalledWriter is a backup's destination that takes the first bytes and
// then nothing more: a client that stopped reading (Ctrl-Z, SIGSTOP, a hung
// disk). Its client goes on holding the connection open.
type stalledWriter struct {
	ctx     context.Context
	started chan struct{}
	n       int
}

func (w *stalledWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		close(w.started)
	}
	w.n += len(p)
	<-w.ctx.Done()
	return 0, w.ctx.Err()
}

// TestTeamStalledBackupBlocksNobody: a backup through carebook serve whose
// client stops reading kept the database to itself while it streamed, and
// every other staff member's command hung until the client went away. The
// server now holds the database only while it copies it; the copy never
// has a name on disk, goes when the client does, and the audit log says
// "error" for the backup that never arrived and "ok" only for one that did.
// Direct mode still backs up the file itself.
func TestTeamStalledBackupBlocksNobody(t *testing.T) {
	const patients = 20000
	tm := newTeamOf(t, func(tm *team) {
		tm.mustDirect("demo", "--patients", fmt.Sprint(patients))
	})
	out := t.TempDir()
	// What a server killed mid-copy left: its next start removes it, a
	// link without touching what it points to.
	outside := filepath.Join(out, "not-a-copy")
	if err := os.WriteFile(outside, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tm.dir, ".p.duckdb.backup-killed"), []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(tm.dir, ".p.duckdb.backup-link")); err != nil {
		t.Fatal(err)
	}
	tm.serve()
	if copies := namedCopies(t, tm.dir); len(copies) > 0 {
		t.Errorf("serve started and left %v", copies)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("removing a stale link touched its target: %v", err)
	}
	pass := []string{"CAREBOOK_BACKUP_PASSPHRASE=" + passphrase}

	// The backup has to outgrow the socket's buffers, or the server would
	// finish writing before the client's stall mattered.
	fi, err := os.Stat(tm.db)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() < 8<<20 {
		t.Fatalf("the demo database is %d bytes: too small to fill the socket's buffers", fi.Size())
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := client.New(tm.socket)
	if _, err := c.Login(ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	w := &stalledWriter{ctx: ctx, started: make(chan struct{})}
	stalled := make(chan error, 1)
	go func() {
		_, err := c.Backup(ctx, backend.BackupRequest{File: "stalled.age", Passphrase: passphrase}, w, nil)
		stalled <- err
	}()
	select {
	case <-w.started:
	case err := <-stalled:
		t.Fatalf("the backup ended before it stalled: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the backup sent nothing within a minute")
	}
	// Let the server fill the socket and block on it.
	time.Sleep(300 * time.Millisecond)

	r := tm.commandWithin(10*time.Second, tm.env, "", tm.bin, "--server", tm.socket, "patients", "--limit", "20")
	if r.code != 0 {
		t.Fatalf("patients during a stalled backup: %s", r)
	}
	t.Logf("patients during a stalled backup of %.1f MB: %v", float64(fi.Size())/1e6, r.took.Round(time.Millisecond))
	if r.took > 2*time.Second {
		t.Errorf("patients took %v while another client's backup stalled; the backup still holds the database", r.took)
	}
	if copies := namedCopies(t, tm.dir); len(copies) > 0 {
		t.Errorf("the backup's copy has a name in the database's folder: %v", copies)
	}
	select {
	case err := <-stalled:
		t.Fatalf("the stalled backup ended on its own: %v", err)
	default:
	}

	// The client goes away: the server lets the copy go and records the
	// backup as failed.
	cancel()
	if err := <-stalled; err == nil {
		t.Fatal("a backup whose client went away succeeded")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		failed, ok := backupRows(tm.auditLog())
		open := openCopies(t, tm.srv.Process.Pid)
		if failed == 1 && len(open) == 0 {
			if ok != 0 {
				t.Errorf("%d ok backup rows for a backup that never arrived", ok)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("20 s after its client went away: %d error backup rows (want 1), the server still holds %v", failed, open)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A backup that completes is "ok", through the server and on the file.
	served := filepath.Join(out, "served.age")
	r = tm.clientEnv(pass, "", "backup", served)
	if r.code != 0 {
		t.Fatalf("backup through the server: %s", r)
	}
	t.Logf("backup through the server: %v", r.took.Round(time.Millisecond))
	if _, ok := backupRows(tm.auditLog()); ok != 1 {
		t.Errorf("%d ok backup rows after one complete backup, want 1", ok)
	}
	if code := tm.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, tm.srvOut.String())
	}
	direct := filepath.Join(out, "direct.age")
	start := time.Now()
	tm.mustDirect("backup", direct)
	t.Logf("backup on the file: %v", time.Since(start).Round(time.Millisecond))
	for _, b := range []string{served, direct} {
		got := tm.mustDirect("restore", b, "--dry-run")
		if want := fmt.Sprintf("The backup decrypts and checks: %d patients", patients); !strings.Contains(got, want) {
			t.Errorf("restore --dry-run %s: %q, want %q", filepath.Base(b), got, want)
		}
	}
	if copies := namedCopies(t, tm.dir); len(copies) > 0 {
		t.Errorf("copies left in the database's folder: %v", copies)
	}
}

// backupRows counts the audit log's backup rows that failed and that say ok.
func backupRows(rows []store.AuditRowJSON) (failed, ok int) {
	for _, r := range rows {
		if r.Channel != backend.ChannelBackup {
			continue
		}
		switch store.Outcome(r.Outcome) {
		case store.OutcomeOK:
			ok++
		case store.OutcomeError:
			failed++
		}
	}
	return failed, ok
}

// namedCopies lists what a backup's copy of the database left in dir.
func namedCopies(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".backup-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// openCopies lists the backup copies process pid still has open: unnamed
// files take disk space until their last descriptor closes.
func openCopies(t *testing.T, pid int) []string {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if errors.Is(err, os.ErrNotExist) {
		return nil // no /proc here: the folder's listing is the check
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.Contains(target, ".backup-") {
			out = append(out, target)
		}
	}
	return out
}
