package agent

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carebook/carebook/internal/ollamatest"
)

const listAll = `{"tool":"query","args":{"entity":"patients"}}`

// scripted starts the scripted Ollama with testModel and an agent for it.
func scripted(t *testing.T, opts Options, answers ...string) (*ollamatest.Server, *Agent) {
	t.Helper()
	srv := ollamatest.New(testModel, answers...)
	t.Cleanup(srv.Close)
	a := agentFor(t, srv.URL)
	a.opts.AllowCloudEnabledOllama = opts.AllowCloudEnabledOllama
	a.opts.Sources = opts.Sources
	return srv, a
}

// A model replaced with a cloud one between two requests of one session
// (ollama cp gpt-oss:120b-cloud onto its name) receives nothing: the second
// request's text never reaches the server, let alone /api/chat.
func TestSwappedModelReceivesNothing(t *testing.T) {
	st := seedStore(t)
	srv, a := scripted(t, Options{Sources: Sources{ModelFrom: "$CAREBOOK_MODEL"}}, listAll)
	ctx := context.Background()
	const first, second = "list every patient", "which patients named Smyth have diabetes"

	d, err := a.Decide(ctx, vocabOf(t, st), testEnv, first, prepareWith(st, testEnv))
	if err != nil || d.ModelDigest != ollamatest.Digest {
		t.Fatalf("first request: %+v %v", d, err)
	}
	srv.SwapToCloud()
	d, err = a.Decide(ctx, vocabOf(t, st), testEnv, second, prepareWith(st, testEnv))
	var cloud *CloudModelError
	if !errors.As(err, &cloud) || d != nil {
		t.Fatalf("second request: %+v, %v; want a *CloudModelError and no decision", d, err)
	}
	want := "refused: model " + testModel + " (from $CAREBOOK_MODEL) runs in Ollama's cloud (Ollama reports that it is served from https://ollama.com:443)"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message\n got %s\nwant %s…", err, want)
	}
	if n := srv.ChatCount(); n != 1 {
		t.Errorf("%d chats, want only the first request's", n)
	}
	if srv.Received("Smyth") {
		t.Error("the second request's text reached the server")
	}
	// And it stays refused: the failure did not make the cloud model the
	// session's.
	if _, err := a.Decide(ctx, vocabOf(t, st), testEnv, second, prepareWith(st, testEnv)); !errors.As(err, &cloud) {
		t.Errorf("third request: %v", err)
	}
}

// The retry within one request is a request too: a model swapped after the
// first answer does not get the second.
func TestSwapBeforeTheRetryIsCaught(t *testing.T) {
	st := seedStore(t)
	srv, a := scripted(t, Options{}, `{"tool":"query","args":{"entity":"patients","wher":{}}}`, listAll)
	srv.SwapToCloudAfter(1)
	d, err := a.Decide(context.Background(), vocabOf(t, st), testEnv, "list the patients from Riverton", prepareWith(st, testEnv))
	var cloud *CloudModelError
	if !errors.As(err, &cloud) || d == nil || d.Attempts != 1 {
		t.Fatalf("decision %+v, err %v; want the retry refused", d, err)
	}
	if n := srv.ChatCount(); n != 1 {
		t.Errorf("%d chats, want the first answer only", n)
	}
}

// An Ollama whose cloud features are on, or that does not say, receives no
// request unless the configuration allows it; the refusal says what to do
// and is a cloud refusal for the audit.
func TestCloudEnabledServerReceivesNothing(t *testing.T) {
	src := Sources{Endpoint: "http://127.0.0.1:11434", EndpointFrom: "default", ConfigFile: "/home/u/.config/carebook/config.toml"}
	for _, c := range []struct {
		name  string
		setup func(*ollamatest.Server)
		want  string
	}{
		{"cloud on", func(s *ollamatest.Server) { s.SetCloudEnabled(true) },
			"refused: the Ollama at http://127.0.0.1:11434 (from default) has its cloud features on, so a cloud model could take the place of the local one and requests would leave this machine; start Ollama with OLLAMA_NO_CLOUD=1, or set allow_cloud_enabled_ollama = true in /home/u/.config/carebook/config.toml"},
		{"no /api/status", func(s *ollamatest.Server) { s.NoStatus = true },
			"does not say whether its cloud features are off (it has no /api/status: upgrade it)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := seedStore(t)
			srv, a := scripted(t, Options{Sources: src}, listAll)
			c.setup(srv)
			_, err := a.Decide(context.Background(), vocabOf(t, st), testEnv, "list every patient named Smyth", prepareWith(st, testEnv))
			var enabled *CloudEnabledError
			var cloud *CloudModelError
			if !errors.As(err, &enabled) || !errors.As(err, &cloud) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a *CloudEnabledError (also a *CloudModelError) with %q", err, c.want)
			}
			if srv.ChatCount() != 0 || srv.Received("Smyth") {
				t.Error("the request reached a cloud-enabled server")
			}

			// allow_cloud_enabled_ollama = true: requests go, each checked.
			srv, a = scripted(t, Options{AllowCloudEnabledOllama: true}, listAll)
			c.setup(srv)
			if _, err := a.Decide(context.Background(), vocabOf(t, st), testEnv, "list every patient", prepareWith(st, testEnv)); err != nil {
				t.Fatalf("allowed: %v", err)
			}
			srv.SwapToCloud()
			if _, err := a.Decide(context.Background(), vocabOf(t, st), testEnv, "list every patient named Smyth", prepareWith(st, testEnv)); !errors.As(err, &cloud) || srv.Received("Smyth") {
				t.Errorf("allowed, then swapped: %v", err)
			}
		})
	}
}

// The digest may change within a session only through a new full check:
// a new local model is looked at again and then used, with its digest in
// the decision; weights that keep changing are refused.
func TestDigestChangeMeansRecheck(t *testing.T) {
	st := seedStore(t)
	const d2, d3, d4 = "sha256:2222", "sha256:3333", "sha256:4444"
	srv, a := scripted(t, Options{}, listAll)
	srv.SetDigests(ollamatest.Digest, d2, d2, d3, d4)
	ctx := context.Background()
	decide := func() (*Decision, error) {
		return a.Decide(ctx, vocabOf(t, st), testEnv, "list every patient", prepareWith(st, testEnv))
	}
	if d, err := decide(); err != nil || d.ModelDigest != ollamatest.Digest {
		t.Fatalf("first: %+v %v", d, err)
	}
	shows := count(srv.Paths(), "/api/show")
	if d, err := decide(); err != nil || d.ModelDigest != d2 {
		t.Fatalf("changed once: %+v %v", d, err)
	}
	if n := count(srv.Paths(), "/api/show") - shows; n != 2 {
		t.Errorf("a changed digest was looked at %d times, want twice", n)
	}
	_, err := decide()
	var changed *ModelChangedError
	var cloud *CloudModelError
	if !errors.As(err, &changed) || !errors.As(err, &cloud) {
		t.Fatalf("changing under the check: %v", err)
	}
	if n := srv.ChatCount(); n != 2 {
		t.Errorf("%d chats, want 2", n)
	}
}

func count(paths []string, path string) int {
	n := 0
	for _, p := range paths {
		if p == path {
			n++
		}
	}
	return n
}

// The check costs three calls per request, made at once: /api/status,
// /api/show and /api/tags. The test logs what they cost against the
// scripted server.
func TestCheckCostPerRequest(t *testing.T) {
	st := seedStore(t)
	srv, a := scripted(t, Options{}, listAll)
	ctx := context.Background()
	vocab := vocabOf(t, st)
	if _, err := a.Decide(ctx, vocab, testEnv, "list every patient", prepareWith(st, testEnv)); err != nil {
		t.Fatal(err)
	}
	before := srv.Paths()
	if _, err := a.Decide(ctx, vocab, testEnv, "list every patient", prepareWith(st, testEnv)); err != nil {
		t.Fatal(err)
	}
	extra := slices.DeleteFunc(srv.Paths()[len(before):], func(p string) bool { return p == "/api/chat" })
	slices.Sort(extra)
	if !slices.Equal(extra, []string{"/api/show", "/api/status", "/api/tags"}) {
		t.Errorf("calls besides the chat: %v", extra)
	}
	const n = 200
	start := time.Now()
	for range n {
		if _, err := a.Check(ctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("check before each request: 3 calls, %v per request (scripted server, loopback)", time.Since(start)/n)
}

func BenchmarkCheck(b *testing.B) {
	srv := ollamatest.New(testModel)
	defer srv.Close()
	base, err := ParseBaseURL(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	a := New(NewClient(base, NewHTTPClient(ClientOptions{})), testModel, Options{})
	ctx := context.Background()
	for b.Loop() {
		if _, err := a.Check(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// Something else on the Ollama port is named as such, without its page.
func TestNotOllamaIsSaidPlainly(t *testing.T) {
	st := seedStore(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotImplemented)
		w.Write([]byte("<html><body><h1>Error response</h1><p>Error code: 501</p></body></html>"))
	}))
	defer srv.Close()
	a := agentFor(t, srv.URL)
	a.opts.Sources.EndpointFrom = "$OLLAMA_HOST"
	_, err := a.Decide(context.Background(), vocabOf(t, st), testEnv, "list every patient", prepareWith(st, testEnv))
	var notOllama *NotOllamaError
	if !errors.As(err, &notOllama) {
		t.Fatalf("got %v, want a *NotOllamaError", err)
	}
	want := "the server at " + srv.URL + " (from $OLLAMA_HOST) answered but is not Ollama (HTTP 501); stop the program that holds that port and start `ollama serve`, or point Carebook at Ollama with --ollama-host"
	if err.Error() != want {
		t.Errorf("message\n got %s\nwant %s", err, want)
	}
}

// An Ollama too old for an endpoint answers a plain 404 from its router:
// that is Ollama, not another program.
func TestPlain404IsStillOllama(t *testing.T) {
	srv := ollamatest.New(testModel)
	defer srv.Close()
	srv.NoStatus = true
	a := agentFor(t, srv.URL)
	state, err := ServerCloud(context.Background(), a.client)
	if err != nil || !state.Unknown {
		t.Errorf("state %+v, err %v; want unknown", state, err)
	}
}
