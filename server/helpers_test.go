package server_test

import (
	"context"
	"os/user"
	"path/filepath"
	"testing"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/store"
)

// openServerStore opens a server-mode store in a temporary directory, closed
// when the test ends, and adds this OS account as staff with role: the
// server logs a socket peer in by its OS account, so the test's own account
// must be on the staff. It skips when the process has no account name. It
// returns the store and its directory, where a test puts its socket.
func openServerStore(t *testing.T, role string) (*store.Store, string) {
	t.Helper()
	me, err := user.Current()
	if err != nil || me.Username == "" {
		t.Skipf("no account name for this process: %v", err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "practice.duckdb"), store.Options{Mode: store.ModeServer, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	err = st.Write(ctx, store.AuditEntry{Channel: backend.ChannelStaff}, func(tx *store.Tx) error {
		return tx.AddStaff(ctx, store.Staff{Name: "Ann", Role: role, OSUser: me.Username})
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, dir
}
