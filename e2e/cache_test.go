//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/carebook/carebook/agent"
	"github.com/carebook/carebook/bench"
	"github.com/carebook/carebook/internal/ptytest"
	"github.com/carebook/carebook/internal/qwen3"
	"github.com/carebook/carebook/store"
)

// statsLine is what CAREBOOK_MODEL_STATS=1 prints for each model call.
var statsLine = regexp.MustCompile(`carebook: model call: prompt_eval_count=(\d+) prompt_eval_ms=(\d+) eval_count=(\d+) eval_ms=(\d+) load_ms=(\d+) total_ms=(\d+) done=(true|false)`)

// call is one stats line.
type call struct {
	promptTokens, promptMS, loadMS, totalMS int
	done                                    bool
}

func calls(screen string) []call {
	var out []call
	for _, m := range statsLine.FindAllStringSubmatch(screen, -1) {
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		out = append(out, call{promptTokens: n(1), promptMS: n(2), loadMS: n(5), totalMS: n(6), done: m[7] == "true"})
	}
	return out
}

// serverLog reads the harness's Ollama log (OLLAMA_DEBUG=1) from offset.
func serverLog(t *testing.T, offset int) string {
	t.Helper()
	path := os.Getenv("CAREBOOK_E2E_OLLAMA_LOG")
	if path == "" {
		t.Fatal("CAREBOOK_E2E_OLLAMA_LOG not set: run through e2e/ollama.sh")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data[min(offset, len(data)):])
}

// unload asks Ollama to drop the model, so that the next request starts
// cold: loading, and the whole prompt evaluated.
func unload(t *testing.T) {
	t.Helper()
	host, model := ollamaEnv(t)
	body, _ := json.Marshal(map[string]any{"model": model, "keep_alive": 0})
	resp, err := http.Post(host+"/api/generate", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("unload the model: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("unload the model: %s", resp.Status)
	}
}

// Two requests in one REPL session: the first evaluates the whole prompt
// (Ollama just loaded the model), the second only its last turn, because
// everything before it (system prompt and examples) is the same bytes and
// Ollama kept the model, and its cache of that prefix, loaded.
//
// Ollama v0.17.4's prompt_eval_count (carebook prints it with
// CAREBOOK_MODEL_STATS=1) counts the whole prompt, cached or not: it must
// equal Qwen3's count of the chat as the model's template renders it. What
// was evaluated is in the runner's "loading cache slot" debug line, and it
// shows in prompt_eval_ms.
func TestPromptPrefixCachedAcrossREPLRequests(t *testing.T) {
	p := newPractice(t)
	tok, err := qwen3.LoadDefault()
	if err != nil {
		t.Fatalf("e2e/ollama.sh sets %s: %v", qwen3.EnvPath, err)
	}
	st, err := store.Open(context.Background(), p.db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	vocab, err := st.Reader().Vocabulary(context.Background())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC).In(time.Local) // CAREBOOK_NOW, as carebook reads it

	unload(t)
	logAt := len(serverLog(t, 0))
	cmd := exec.Command(carebookBin)
	cmd.Env = append(append([]string{}, p.env...), "CAREBOOK_MODEL_STATS=1")
	term := ptytest.Start(t, cmd)
	at := term.WaitFor(t, 0, "carebook> ", time.Minute)
	reqs := []string{"how many patients have diabetes", "who has an upcoming appointment with Dr. Kim"}
	var got [][]call
	var evaluated [][]bench.CacheSlot
	for _, req := range reqs {
		term.Send(req + "\r")
		at = term.WaitFor(t, at, req+"\r\n", time.Minute)
		start := at
		at = answerUntilPrompt(t, term, at)
		got = append(got, calls(term.Screen()[start:at]))
		log := serverLog(t, logAt)
		logAt += len(log)
		evaluated = append(evaluated, bench.CacheSlots(log))
	}
	term.Send("\x04")
	if err := term.Wait(30 * time.Second); err != nil {
		t.Fatalf("the REPL did not leave cleanly: %v\n%s", err, term.Screen())
	}
	if len(got[0]) == 0 || len(got[1]) == 0 {
		t.Fatalf("no stats line for a request (%d, %d):\n%s", len(got[0]), len(got[1]), term.Screen())
	}
	if len(evaluated[0]) != len(got[0]) || len(evaluated[1]) != len(got[1]) {
		t.Fatalf("the server log has %d and %d cache-slot lines for %d and %d model calls",
			len(evaluated[0]), len(evaluated[1]), len(got[0]), len(got[1]))
	}

	static, turn1 := tok.Split(agent.Messages(now, vocab, reqs[0]))
	_, turn2 := tok.Split(agent.Messages(now, vocab, reqs[1]))
	first, second := got[0][0], got[1][0]
	cold, warm := evaluated[0][0], evaluated[1][0]
	t.Logf("Qwen3 tokens: static prefix %d, request turns %d and %d", static, turn1, turn2)
	t.Logf("first request (cold): %d prompt tokens, %d evaluated in %d ms (load %d ms, total %d ms)",
		first.promptTokens, cold.Remaining, first.promptMS, first.loadMS, first.totalMS)
	t.Logf("second request (warm): %d prompt tokens, %d reused, %d evaluated in %d ms (total %d ms)",
		second.promptTokens, warm.Used, warm.Remaining, second.promptMS, second.totalMS)
	if !first.done || !second.done {
		t.Fatalf("Ollama cut an answer off and sent no counts (first done=%t, second done=%t)", first.done, second.done)
	}

	// prompt_eval_count is the whole prompt, as Qwen3 tokenizes it. Ollama's
	// tokenizer may split a place or two differently from Hugging Face's
	// (see internal/qwen3): allow 1%.
	for i, c := range []struct {
		got, want int
	}{{first.promptTokens, static + turn1}, {second.promptTokens, static + turn2}} {
		if abs(c.got-c.want) > c.want/100 {
			t.Errorf("request %d: prompt_eval_count %d, want the whole prompt as Qwen3 counts it, %d", i+1, c.got, c.want)
		}
	}
	if cold.Prompt != first.promptTokens || warm.Prompt != second.promptTokens {
		t.Errorf("the runner saw prompts of %d and %d tokens, Ollama reported %d and %d", cold.Prompt, warm.Prompt, first.promptTokens, second.promptTokens)
	}
	// Cold: everything evaluated.
	if cold.Used != 0 || cold.Remaining != cold.Prompt {
		t.Errorf("first request after unloading reused %d tokens and evaluated %d of %d", cold.Used, cold.Remaining, cold.Prompt)
	}
	// Warm: the last turn at most, and a few tokens of slack.
	const slack = 8
	if warm.Remaining > turn2+slack || warm.Used < warm.Prompt-turn2-slack {
		t.Errorf("second request evaluated %d prompt tokens and reused %d; with the prefix cached it should evaluate the request turn at most, %d (+%d)",
			warm.Remaining, warm.Used, turn2, slack)
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
