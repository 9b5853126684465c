// Package ollamatest is a scripted Ollama server for tests: it speaks the
// real HTTP API (/api/version, /api/status, /api/show, /api/tags,
// /api/chat) and answers chats from a script, so that the client, the
// schema and the validation path are exercised for real. Its model can be
// swapped for a cloud one mid-session, as `ollama cp` of a cloud model onto
// the same name does on a real server.
package ollamatest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"
)

// Digest is the digest the server reports for its model.
const Digest = "sha256:5ca1ab1e0000000000000000000000000000000000000000000000000000cafe"

// CloudDigest is the model's digest once it was swapped for a cloud model.
const CloudDigest = "sha256:c10dc10dc10d0000000000000000000000000000000000000000000000000000"

// cloudHost is what a real Ollama reports for a model of its cloud.
const cloudHost = "https://ollama.com:443"

// Server is a scripted Ollama.
type Server struct {
	*httptest.Server
	Model string

	mu      sync.Mutex
	answers []string
	// Block makes chats wait until the client goes away (Ctrl-C tests).
	Block bool
	// Delay makes every chat take this long before it answers (a slow
	// model on a small machine), unless the client goes away first. Set
	// it with SetDelay once the server is in use.
	Delay time.Duration
	// Remote makes /api/show report a cloud model.
	Remote bool
	// RemoteChat makes chat answers carry remote_host, as a cloud model's do.
	RemoteChat bool
	// CloudEnabled makes /api/status report cloud features on; the default
	// is OLLAMA_NO_CLOUD=1's answer.
	CloudEnabled bool
	// NoStatus makes /api/status a 404, as on an Ollama too old to have it.
	NoStatus bool
	// Requests counts every request received, of any kind.
	Requests int
	// Chats are the chat requests received, in order: requests, whose
	// last message is a user turn. A warm-up is not one of them.
	Chats []api.ChatRequest
	// Warmups are the chats whose last message is the assistant's: the
	// prompt's fixed prefix sent ahead of the first request (agent.Warm),
	// with nothing to answer. They take no scripted answer.
	Warmups []api.ChatRequest
	// Bodies are the chat requests' bodies, byte for byte.
	Bodies [][]byte

	// digests, when set, are what /api/tags reports for the local model,
	// one per call; past the end it repeats the last one.
	digests []string
	// swapAfter, when above zero, swaps the model for a cloud one once
	// that many chats were answered.
	swapAfter int
	// received are the bodies of every request, for Received.
	received []string
	// paths are the paths of every request, in order.
	paths []string
}

// SwapToCloud replaces the model behind the name with a cloud model now,
// as `ollama cp gpt-oss:120b-cloud <name>` does: /api/show and /api/tags
// report its remote host and a new digest, and its chat answers carry the
// remote host.
func (s *Server) SwapToCloud() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Remote, s.RemoteChat = true, true
}

// SwapToCloudAfter swaps the model for a cloud one as soon as n chats have
// been answered: between two requests of one session.
func (s *Server) SwapToCloudAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.swapAfter = n
}

// SetDigests makes /api/tags report these digests for the (local) model,
// one per call, as a model re-pulled or re-created under its name would.
func (s *Server) SetDigests(digests ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.digests = digests
}

// SetDelay makes every chat from now on take d before it answers.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Delay = d
}

// SetCloudEnabled sets what /api/status reports.
func (s *Server) SetCloudEnabled(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.CloudEnabled = on
}

// Received reports whether any request, of any kind, carried text.
func (s *Server) Received(text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.received {
		if strings.Contains(b, text) {
			return true
		}
	}
	return false
}

// Paths are the paths of every request received, in order.
func (s *Server) Paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.paths)
}

// ChatRequests are the chat requests received, in order.
func (s *Server) ChatRequests() []api.ChatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.Chats)
}

// New starts a server for model that answers chats with answers, in order;
// past the end it repeats the last one.
func New(model string, answers ...string) *Server {
	s := &Server{Model: model, answers: answers}
	s.Server = httptest.NewServer(s)
	return s
}

// Script replaces the answers still to come.
func (s *Server) Script(answers ...string) {
	s.mu.Lock()
	s.answers = answers
	s.mu.Unlock()
}

// RequestCount is how many requests of any kind were received.
func (s *Server) RequestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Requests
}

// WarmupRequests are the warm-ups received, in order.
func (s *Server) WarmupRequests() []api.ChatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.Warmups)
}

// ChatCount is how many chats were received.
func (s *Server) ChatCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.Chats)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.Requests++
	s.received = append(s.received, string(body))
	s.paths = append(s.paths, r.URL.Path)
	remote, cloudEnabled, noStatus := s.Remote, s.CloudEnabled, s.NoStatus
	digest := Digest
	if r.URL.Path == "/api/tags" && len(s.digests) > 0 {
		digest = s.digests[0]
		if len(s.digests) > 1 {
			s.digests = s.digests[1:]
		}
	}
	s.mu.Unlock()
	if remote {
		digest = CloudDigest
	}
	switch r.URL.Path {
	case "/api/status":
		if noStatus {
			http.NotFound(w, r) // gin's plain 404 for a route it lacks
			return
		}
		status := api.StatusResponse{Cloud: api.CloudStatus{Disabled: true, Source: "env"}}
		if cloudEnabled {
			status.Cloud = api.CloudStatus{Disabled: false, Source: "none"}
		}
		writeJSON(w, http.StatusOK, status)
	case "/api/version":
		writeJSON(w, http.StatusOK, map[string]string{"version": "0.17.4"})
	case "/api/show":
		var req api.ShowRequest
		json.Unmarshal(body, &req)
		if req.Model != s.Model {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("model '%s' not found", req.Model)})
			return
		}
		resp := api.ShowResponse{Details: api.ModelDetails{Family: "llama"}}
		resp.Capabilities = append(resp.Capabilities, "completion")
		if remote {
			resp.RemoteHost, resp.RemoteModel = cloudHost, "gpt-oss:120b"
		}
		writeJSON(w, http.StatusOK, resp)
	case "/api/tags":
		m := api.ListModelResponse{Name: s.Model, Model: s.Model, Digest: digest}
		if remote {
			m.RemoteHost, m.RemoteModel = cloudHost, "gpt-oss:120b"
		}
		writeJSON(w, http.StatusOK, api.ListResponse{Models: []api.ListModelResponse{m}})
	case "/api/chat":
		var req api.ChatRequest
		if err := json.Unmarshal(body, &req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == "assistant" {
			s.warmup(w, req)
			return
		}
		s.mu.Lock()
		s.Chats = append(s.Chats, req)
		s.Bodies = append(s.Bodies, body)
		answer := ""
		if len(s.answers) > 0 {
			answer = s.answers[0]
			if len(s.answers) > 1 {
				s.answers = s.answers[1:]
			}
		}
		block, remoteChat, delay := s.Block, s.RemoteChat, s.Delay
		if s.swapAfter > 0 && len(s.Chats) >= s.swapAfter {
			// The swap lands after this answer: the next request is the
			// first to meet the cloud model.
			s.Remote, s.RemoteChat, s.swapAfter = true, true, 0
		}
		s.mu.Unlock()
		if req.Model != s.Model {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("model '%s' not found", req.Model)})
			return
		}
		if block {
			<-r.Context().Done()
			return
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		resp := api.ChatResponse{
			Model: s.Model, CreatedAt: time.Now(), Message: api.Message{Role: "assistant", Content: answer},
			Done: true, DoneReason: "stop",
			Metrics: api.Metrics{PromptEvalCount: 100, EvalCount: 20, TotalDuration: time.Millisecond},
		}
		if remoteChat {
			resp.RemoteHost = cloudHost
		}
		writeJSON(w, http.StatusOK, resp)
	default:
		http.NotFound(w, r)
	}
}

// warmup answers a warm-up as Ollama does a chat that ends with the
// assistant's turn and may write one token: at once, with one token of
// answer (empty here), and the remote host of a cloud model.
func (s *Server) warmup(w http.ResponseWriter, req api.ChatRequest) {
	s.mu.Lock()
	s.Warmups = append(s.Warmups, req)
	remoteChat := s.RemoteChat
	s.mu.Unlock()
	if req.Model != s.Model {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("model '%s' not found", req.Model)})
		return
	}
	resp := api.ChatResponse{
		Model: s.Model, CreatedAt: time.Now(), Message: api.Message{Role: "assistant"},
		Done: true, DoneReason: "length",
		Metrics: api.Metrics{PromptEvalCount: 1000, EvalCount: 1, TotalDuration: time.Millisecond},
	}
	if remoteChat {
		resp.RemoteHost = cloudHost
	}
	writeJSON(w, http.StatusOK, resp)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
