//go:build e2e

// Package e2e holds end-to-end tests against a real `ollama serve` serving
// the tiny random-weight model "carebook-tiny" (internal/tinymodel). Run them
// through the harness, which starts the server and sets the environment:
//
//	e2e/ollama.sh build
//	e2e/ollama.sh run -- go test -tags e2e -count=1 -v ./e2e/
//
// Tests that need the server call ollamaEnv/ollamaClient, which skip when
// CAREBOOK_OLLAMA_HOST is unset. Tests that drive the CLI run carebookBin,
// built once by TestMain.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
)

// carebookBin is the path of the carebook binary built from ./cmd/carebook
// by TestMain.
var carebookBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "carebook-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)

	carebookBin = filepath.Join(dir, "carebook")
	build := exec.Command("go", "build", "-o", carebookBin, "./cmd/carebook")
	build.Dir = ".." // the module root; go test runs in the package directory
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build ./cmd/carebook failed:", err)
		return 1
	}
	return m.Run()
}

// ollamaEnv returns the server URL and model name set by e2e/ollama.sh, and
// skips the test when they are not set.
func ollamaEnv(t *testing.T) (host, model string) {
	t.Helper()
	host = os.Getenv("CAREBOOK_OLLAMA_HOST")
	if host == "" {
		t.Skip("CAREBOOK_OLLAMA_HOST not set: run through e2e/ollama.sh run -- go test -tags e2e ./e2e/")
	}
	model = os.Getenv("CAREBOOK_MODEL")
	if model == "" {
		model = "carebook-tiny"
	}
	return host, model
}

// ollamaClient returns an API client for the harness's server.
func ollamaClient(t *testing.T) (*api.Client, string) {
	t.Helper()
	host, model := ollamaEnv(t)
	u, err := url.Parse(host)
	if err != nil {
		t.Fatalf("CAREBOOK_OLLAMA_HOST=%q: %v", host, err)
	}
	return api.NewClient(u, http.DefaultClient), model
}

// toolSchema is the structured-output schema of TestChatStructured: the
// shape of a carebook agent's decision. maxLength keeps the random model's
// string short: without it greedy decoding may never close the string.
const toolSchema = `{
  "type": "object",
  "properties": {
    "tool": {"type": "string", "enum": ["query", "refuse"]},
    "message": {"type": "string", "maxLength": 40}
  },
  "required": ["tool", "message"]
}`

func TestChatStructured(t *testing.T) {
	client, model := ollamaClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	stream := false
	req := &api.ChatRequest{
		Model: model,
		Messages: []api.Message{
			{Role: "system", Content: "You are Carebook's assistant. Answer with JSON."},
			{Role: "user", Content: "How many patients are tagged vip?"},
		},
		Format: json.RawMessage(toolSchema),
		Stream: &stream,
		Think:  &api.ThinkValue{Value: false},
		Options: map[string]any{
			"temperature": 0,
			"seed":        1,
			// A bound in case the grammar lets the model ramble; an answer
			// cut short by it is not JSON and fails the test below.
			"num_predict": 256,
		},
	}

	var resp api.ChatResponse
	start := time.Now()
	if err := client.Chat(ctx, req, func(r api.ChatResponse) error {
		resp = r
		return nil
	}); err != nil {
		t.Fatalf("chat: %v", err)
	}
	t.Logf("chat took %v: %q (done_reason %q)", time.Since(start).Round(time.Millisecond), resp.Message.Content, resp.DoneReason)
	if resp.EvalDuration > 0 {
		t.Logf("prompt %d tokens, eval %d tokens at %.1f tokens/s",
			resp.PromptEvalCount, resp.EvalCount, float64(resp.EvalCount)/resp.EvalDuration.Seconds())
	}

	var out struct {
		Tool    string  `json:"tool"`
		Message *string `json:"message"`
	}
	if err := json.Unmarshal([]byte(resp.Message.Content), &out); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, resp.Message.Content)
	}
	if !slices.Contains([]string{"query", "refuse"}, out.Tool) {
		t.Errorf("tool = %q, want query or refuse", out.Tool)
	}
	if out.Message == nil {
		t.Errorf("answer has no message: %s", resp.Message.Content)
	} else if n := len([]rune(*out.Message)); n > 40 {
		t.Errorf("message has %d characters, schema allows 40", n)
	}
}

func TestModelInfo(t *testing.T) {
	client, model := ollamaClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	show, err := client.Show(ctx, &api.ShowRequest{Model: model})
	if err != nil {
		t.Fatalf("show %s: %v", model, err)
	}
	t.Logf("show: family=%s parameters=%s quantization=%s capabilities=%v",
		show.Details.Family, show.Details.ParameterSize, show.Details.QuantizationLevel, show.Capabilities)
	if arch := show.ModelInfo["general.architecture"]; arch != "qwen3" {
		t.Errorf("general.architecture = %v, want qwen3", arch)
	}

	tags, err := client.List(ctx)
	if err != nil {
		t.Fatalf("tags: %v", err)
	}
	var found bool
	for _, m := range tags.Models {
		if m.Name == model || m.Name == model+":latest" {
			found = true
			t.Logf("model %s digest %s size %d bytes", m.Name, m.Digest, m.Size)
		}
	}
	if !found {
		t.Errorf("%s not in /api/tags: %+v", model, tags.Models)
	}
}

// TestCarebookBinary checks that TestMain built a runnable binary; tests
// that drive the CLI against the server go next to it.
func TestCarebookBinary(t *testing.T) {
	out, err := exec.Command(carebookBin, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("carebook --help: %v\n%s", err, out)
	}
}
