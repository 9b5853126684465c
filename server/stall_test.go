package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/client"
	"github.com/carebook/carebook/demo"
	"github.com/carebook/carebook/server"
	"github.com/carebook/carebook/service"
	"github.com/carebook/carebook/store"
)

// blockedWriter takes nothing: the client that holds it stops reading, but
// keeps its connection open.
type blockedWriter struct{ ctx context.Context }

func (w blockedWriter) Write(p []byte) (int, error) {
	<-w.ctx.Done()
	return 0, w.ctx.Err()
}

// A client stopped with SIGSTOP keeps its connection open forever. The
// server cuts off a backup that has sent nothing for StallTimeout: the
// backup is audited as failed, with why, and the server lets its copy of
// the database go.
func TestStalledBackupIsCutOff(t *testing.T) {
	st, dir := openServerStore(t, backend.RoleManager)
	ctx := context.Background()
	// Enough for a backup larger than the socket's buffers.
	if _, err := demo.Generate(ctx, st, demo.Options{Patients: 2000, Seed: 1, Now: time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	shared := service.NewShared(st)
	svc := service.New(service.Config{DB: shared})
	socket := filepath.Join(dir, "carebook.sock")
	ln, err := server.Listen(socket, "")
	if err != nil {
		t.Fatal(err)
	}
	const stall = 300 * time.Millisecond
	srv := server.New(server.Config{Service: svc, Host: "test", StallTimeout: stall})
	go srv.Serve(ln)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	})

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := client.New(socket)
	if _, err := c.Login(cctx, "", ""); err != nil {
		t.Fatal(err)
	}
	go c.Backup(cctx, backend.BackupRequest{File: "stalled.age", Passphrase: "a long test passphrase"}, blockedWriter{cctx}, nil)

	deadline := time.Now().Add(15 * time.Second)
	for {
		var rows []store.AuditRow
		err := shared.Read(ctx, func(st *store.Store) error {
			var err error
			rows, err = st.Reader().AuditLog(ctx, 0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var failed []store.AuditRow
		for _, r := range rows {
			if r.Channel != backend.ChannelBackup {
				continue
			}
			if r.Outcome != store.OutcomeError {
				t.Fatalf("a backup nobody received is audited %q: %s", r.Outcome, r.Message)
			}
			failed = append(failed, r)
		}
		if len(failed) == 1 && len(copiesHeld()) == 0 {
			if !strings.Contains(failed[0].Message, "read nothing for "+stall.String()) {
				t.Errorf("the failed backup's row says %q, not why", failed[0].Message)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("15 s into a backup whose client stopped reading: %d failed backup rows, copies held %v", len(failed), copiesHeld())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The server answers the same client's next request.
	if _, err := c.Info(cctx); err != nil {
		t.Errorf("after the cut-off: %v", err)
	}
}

// copiesHeld lists the backup copies this process has open (Linux: the
// copies have no name, only a descriptor).
func copiesHeld() []string {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	var out []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.Contains(target, ".backup-") {
			out = append(out, target)
		}
	}
	return out
}
