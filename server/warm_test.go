package server_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebook/carebook/agent"
	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/client"
	"github.com/carebook/carebook/internal/ollamatest"
	"github.com/carebook/carebook/server"
	"github.com/carebook/carebook/service"
	"github.com/carebook/carebook/store"
)

// Team mode: a REPL's warm-up goes over the socket, and carebook serve
// warms its own model, after its own check: a model swapped for a cloud
// one is sent nothing, and the refusal reaches the REPL as its sentence.
// Nothing is audited: nothing of the practice's is read or sent.
func TestServerWarmsItsOwnModel(t *testing.T) {
	st, dir := openServerStore(t, backend.RoleClinician)
	ctx := context.Background()

	const model = "tiny:latest"
	ollama := ollamatest.New(model)
	t.Cleanup(ollama.Close)
	base, _ := url.Parse(ollama.URL)
	a := agent.New(agent.NewClient(base, agent.NewHTTPClient(agent.ClientOptions{})), model, agent.Options{})
	shared := service.NewShared(st)
	svc := service.New(service.Config{DB: shared, Model: model, Decider: func() (service.Decider, error) { return a, nil }})
	socket := filepath.Join(dir, "carebook.sock")
	ln, err := server.Listen(socket, "")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Service: svc, Host: "test"})
	go srv.Serve(ln)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	})

	c := client.New(socket)
	if _, err := c.Login(ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	rows := func() int {
		var n int
		err := shared.Read(ctx, func(st *store.Store) error {
			all, err := st.Reader().AuditLog(ctx, 0)
			n = len(all)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := rows()
	if err := c.Warm(ctx); err != nil {
		t.Fatalf("warm: %v", err)
	}
	if n := len(ollama.WarmupRequests()); n != 1 || ollama.ChatCount() != 0 {
		t.Fatalf("the server's Ollama got %d warm-ups and %d requests, want one warm-up", n, ollama.ChatCount())
	}
	if after := rows(); after != before {
		t.Errorf("the warm-up wrote %d audit rows, want none", after-before)
	}

	ollama.SwapToCloud()
	err = c.Warm(ctx)
	if err == nil || !strings.Contains(err.Error(), "refused: model "+model+" runs in Ollama's cloud") {
		t.Fatalf("warm with a cloud model: %v", err)
	}
	if n := len(ollama.WarmupRequests()); n != 1 || ollama.ChatCount() != 0 {
		t.Errorf("the cloud model got %d warm-ups and %d requests after the swap", n-1, ollama.ChatCount())
	}
}
