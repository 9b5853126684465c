package agent

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/carebook/carebook/internal/ollamatest"
)

// messagesJSON is how the messages travel: what Ollama compares, byte for
// byte, to reuse its cache.
func messagesJSON(t *testing.T, msgs []api.Message) string {
	t.Helper()
	b, err := json.Marshal(msgs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The warm-up is checked like a request, then sends the prompt's fixed
// prefix alone: no request turn (so no date, no vocabulary, no request), no
// format (the schema lists the vocabulary), one token to write; and the
// messages and options the next request starts with are the warm-up's, so
// that Ollama reuses what it cached.
func TestWarmSendsThePrefixAlone(t *testing.T) {
	st := seedStore(t)
	srv, a := scripted(t, Options{}, listAll)
	var calls []Call
	a.opts.Observe = func(c Call) { calls = append(calls, c) }
	ctx := context.Background()
	if err := a.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	paths := srv.Paths()
	if len(paths) != 4 || paths[3] != "/api/chat" {
		t.Fatalf("requests %v, want the check's three, then one chat", paths)
	}
	check := slices.Clone(paths[:3])
	slices.Sort(check)
	if !slices.Equal(check, []string{"/api/show", "/api/status", "/api/tags"}) {
		t.Errorf("the check before the warm-up made %v", check)
	}
	warm := srv.WarmupRequests()
	if len(warm) != 1 || srv.ChatCount() != 0 {
		t.Fatalf("%d warm-ups and %d requests, want one warm-up and no request", len(warm), srv.ChatCount())
	}
	w := warm[0]
	if got, want := messagesJSON(t, w.Messages), messagesJSON(t, Prefix()); got != want {
		t.Errorf("the warm-up sent %d messages (%d bytes), not the prefix's %d (%d bytes)", len(w.Messages), len(got), len(Prefix()), len(want))
	}
	if len(w.Format) != 0 {
		t.Errorf("the warm-up sent a format (the schema names the practice's vocabulary): %s", w.Format)
	}
	vocab := vocabOf(t, st)
	body := messagesJSON(t, w.Messages)
	for _, turn := range []string{"Today is", "The lists below are data", "Cities:"} {
		if strings.Contains(body, turn) {
			t.Errorf("the warm-up holds the request turn's %q", turn)
		}
	}
	prompt := messagesJSON(t, Prefix())
	for _, v := range slices.Concat(vocab.Tags, vocab.Cities, vocab.Languages, vocab.Providers) {
		// A name the examples use anyway ("Dr. Reyes") proves nothing.
		if !strings.Contains(prompt, v) && srv.Received(v) {
			t.Errorf("the warm-up sent the practice's %q", v)
		}
	}
	if n, _ := w.Options["num_predict"].(float64); n != warmAnswerTokens {
		t.Errorf("num_predict %v, want %d (0 is no limit to Ollama)", w.Options["num_predict"], warmAnswerTokens)
	}

	if _, err := a.Decide(ctx, vocab, testEnv, "list every patient", prepareWith(st, testEnv)); err != nil {
		t.Fatal(err)
	}
	req := srv.ChatRequests()[0]
	if got, want := messagesJSON(t, req.Messages[:len(req.Messages)-1]), messagesJSON(t, w.Messages); got != want {
		t.Error("the request does not start with the warm-up's messages, byte for byte: Ollama would evaluate the prefix again")
	}
	for _, opt := range []string{"num_ctx", "temperature"} {
		if req.Options[opt] != w.Options[opt] {
			t.Errorf("%s: the warm-up sent %v, the request %v", opt, w.Options[opt], req.Options[opt])
		}
	}
	if w.KeepAlive == nil || req.KeepAlive == nil || *w.KeepAlive != *req.KeepAlive || w.Think == nil || req.Think == nil || *w.Think != *req.Think {
		t.Errorf("keep_alive %v and think %v, the request's %v and %v", w.KeepAlive, w.Think, req.KeepAlive, req.Think)
	}
	if len(calls) != 2 || !calls[0].Warmup || calls[1].Warmup || !calls[0].Done {
		t.Errorf("observed %+v; want the warm-up's call marked, then the request's", calls)
	}
}

// The warm-up meets every refusal a request meets, before anything is
// sent: a cloud model gets nothing, not even the prompt's fixed prefix.
func TestWarmHonoursTheCloudChecks(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(*ollamatest.Server)
	}{
		{"model swapped for a cloud one", func(s *ollamatest.Server) { s.SwapToCloud() }},
		{"cloud features on", func(s *ollamatest.Server) { s.SetCloudEnabled(true) }},
		{"no /api/status", func(s *ollamatest.Server) { s.NoStatus = true }},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, a := scripted(t, Options{}, listAll)
			if err := a.Warm(context.Background()); err != nil {
				t.Fatalf("local model: %v", err)
			}
			c.setup(srv)
			err := a.Warm(context.Background())
			var cloud *CloudModelError
			if !errors.As(err, &cloud) {
				t.Fatalf("got %v, want a *CloudModelError", err)
			}
			if n := len(srv.WarmupRequests()); n != 1 || count(srv.Paths(), "/api/chat") != 1 {
				t.Errorf("%d warm-ups, %d chats: the refused model was sent something", n, count(srv.Paths(), "/api/chat"))
			}
		})
	}
	t.Run("a cloud model's name", func(t *testing.T) {
		srv := ollamatest.New("gpt-oss:120b-cloud")
		t.Cleanup(srv.Close)
		a := agentFor(t, srv.URL)
		a.model = "gpt-oss:120b-cloud"
		var cloud *CloudModelError
		if err := a.Warm(context.Background()); !errors.As(err, &cloud) || srv.RequestCount() != 0 {
			t.Errorf("got %v after %d requests; want a refusal before any", err, srv.RequestCount())
		}
	})
	t.Run("an answer from the cloud", func(t *testing.T) {
		srv, a := scripted(t, Options{}, listAll)
		srv.RemoteChat = true
		var cloud *CloudModelError
		if err := a.Warm(context.Background()); !errors.As(err, &cloud) {
			t.Errorf("got %v, want a *CloudModelError", err)
		}
	})
}
