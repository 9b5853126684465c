// Package ollamatest is a scripted Ollama server for tests: it speaks the
// real HTTP API (/api/version, /api/show, /api/tags, /api/chat) and answers
// chats from a script, so that the client, the schema and the validation
// path are exercised for real.
package ollamatest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/ollama/ollama/api"
)

// Digest is the digest the server reports for its model.
const Digest = "sha256:5ca1ab1e0000000000000000000000000000000000000000000000000000cafe"

// Server is a scripted Ollama.
type Server struct {
	*httptest.Server
	Model string

	mu      sync.Mutex
	answers []string
	// Block makes chats wait until the client goes away (Ctrl-C tests).
	Block bool
	// Remote makes /api/show report a cloud model.
	Remote bool
	// RemoteChat makes chat answers carry remote_host, as a cloud model's do.
	RemoteChat bool
	// CloudEnabled makes /api/status report cloud features on; the default
	// is OLLAMA_NO_CLOUD=1's answer.
	CloudEnabled bool
	// Requests counts every request received, of any kind.
	Requests int
	// Chats are the chat requests received, in order.
	Chats []api.ChatRequest
	// Bodies are the chat requests' bodies, byte for byte.
	Bodies [][]byte
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
	s.mu.Unlock()
	switch r.URL.Path {
	case "/api/status":
		status := api.StatusResponse{Cloud: api.CloudStatus{Disabled: true, Source: "env"}}
		if s.CloudEnabled {
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
		if s.Remote {
			resp.RemoteHost = "https://ollama.com:443"
		}
		writeJSON(w, http.StatusOK, resp)
	case "/api/tags":
		writeJSON(w, http.StatusOK, api.ListResponse{Models: []api.ListModelResponse{{Name: s.Model, Model: s.Model, Digest: Digest}}})
	case "/api/chat":
		var req api.ChatRequest
		if err := json.Unmarshal(body, &req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
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
		block := s.Block
		s.mu.Unlock()
		if req.Model != s.Model {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("model '%s' not found", req.Model)})
			return
		}
		if block {
			<-r.Context().Done()
			return
		}
		resp := api.ChatResponse{
			Model: s.Model, CreatedAt: time.Now(), Message: api.Message{Role: "assistant", Content: answer},
			Done: true, DoneReason: "stop",
			Metrics: api.Metrics{PromptEvalCount: 100, EvalCount: 20, TotalDuration: time.Millisecond},
		}
		if s.RemoteChat {
			resp.RemoteHost = "https://ollama.com:443"
		}
		writeJSON(w, http.StatusOK, resp)
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
