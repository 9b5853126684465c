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

// statsLine is what CAREBOOK_MODEL_STATS=1 prints for each model call:
// "model warm-up" for the warm-up's, "model call" for a request's.
var statsLine = regexp.MustCompile(`carebook: model (call|warm-up): prompt_eval_count=(\d+) prompt_eval_ms=(\d+) eval_count=(\d+) eval_ms=(\d+) load_ms=(\d+) total_ms=(\d+) done=(true|false)`)

// call is one stats line.
type call struct {
	warmup                                  bool
	promptTokens, promptMS, loadMS, totalMS int
	done                                    bool
}

func calls(screen string) []call {
	var out []call
	for _, m := range statsLine.FindAllStringSubmatch(screen, -1) {
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		out = append(out, call{warmup: m[1] == "warm-up", promptTokens: n(2), promptMS: n(3), loadMS: n(6), totalMS: n(7), done: m[8] == "true"})
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

// A REPL session warms the model as it starts: the warm-up sends the
// prompt's fixed prefix (system prompt and examples) alone, and Ollama,
// which had just dropped the model, loads it and evaluates the whole prefix:
// that is the cold start, and the warm-up pays it. Once the banner says the
// model is ready, the first request evaluates only its own turn (and the
// two tokens that close the last example, which the warm-up left open),
// because everything before it is the same bytes with the same options;
// the second request does the same.
//
// Ollama v0.17.4's prompt_eval_count (carebook prints it with
// CAREBOOK_MODEL_STATS=1) counts the whole prompt, cached or not: it must
// equal Qwen3's count of the chat as the model's template renders it. What
// was evaluated is in the runner's "loading cache slot" debug line, and it
// shows in prompt_eval_ms.
func TestWarmUpCachesThePrefixForTheFirstRequest(t *testing.T) {
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
	_, model := ollamaEnv(t)
	now := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC).In(time.Local) // CAREBOOK_NOW, as carebook reads it

	unload(t)
	logAt := len(serverLog(t, 0))
	cmd := exec.Command(carebookBin)
	cmd.Env = append(append([]string{}, p.env...), "CAREBOOK_MODEL_STATS=1")
	term := ptytest.Start(t, cmd)
	at := term.WaitFor(t, 0, "The model "+model+" is ready.", 5*time.Minute)
	at = term.WaitFor(t, at, "carebook> ", time.Minute)
	warmCalls := calls(term.Screen()[:at])
	log := serverLog(t, logAt)
	logAt += len(log)
	warmSlots := bench.CacheSlots(log)

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
	if len(warmCalls) != 1 || !warmCalls[0].warmup || len(warmSlots) != 1 {
		t.Fatalf("before the prompt: %d stats lines (%+v) and %d cache-slot lines; want the warm-up's one each:\n%s",
			len(warmCalls), warmCalls, len(warmSlots), term.Screen()[:at])
	}
	if len(got[0]) == 0 || len(got[1]) == 0 {
		t.Fatalf("no stats line for a request (%d, %d):\n%s", len(got[0]), len(got[1]), term.Screen())
	}
	for i := range got {
		if got[i][0].warmup {
			t.Errorf("request %d's call is marked as a warm-up", i+1)
		}
	}
	if len(evaluated[0]) != len(got[0]) || len(evaluated[1]) != len(got[1]) {
		t.Fatalf("the server log has %d and %d cache-slot lines for %d and %d model calls",
			len(evaluated[0]), len(evaluated[1]), len(got[0]), len(got[1]))
	}

	// The warm-up's prompt is the prefix as the template renders a chat
	// that ends with the assistant's turn: left open, without <|im_end|>\n.
	warmPrompt := tok.Count(qwen3.ChatML(agent.Prefix()))
	static, turn1 := tok.Split(agent.Messages(now, vocab, reqs[0]))
	_, turn2 := tok.Split(agent.Messages(now, vocab, reqs[1]))
	warm, first, second := warmCalls[0], got[0][0], got[1][0]
	cold, slot1, slot2 := warmSlots[0], evaluated[0][0], evaluated[1][0]
	t.Logf("Qwen3 tokens: static prefix %d (%d as the warm-up sends it), request turns %d and %d", static, warmPrompt, turn1, turn2)
	t.Logf("warm-up (cold start): %d prompt tokens, %d reused, %d evaluated in %d ms (load %d ms, total %d ms)",
		warm.promptTokens, cold.Used, cold.Remaining, warm.promptMS, warm.loadMS, warm.totalMS)
	t.Logf("first request: %d prompt tokens, %d reused, %d evaluated in %d ms (load %d ms, total %d ms)",
		first.promptTokens, slot1.Used, slot1.Remaining, first.promptMS, first.loadMS, first.totalMS)
	t.Logf("second request: %d prompt tokens, %d reused, %d evaluated in %d ms (load %d ms, total %d ms)",
		second.promptTokens, slot2.Used, slot2.Remaining, second.promptMS, second.loadMS, second.totalMS)
	if !warm.done || !first.done || !second.done {
		t.Fatalf("Ollama sent no counts (warm-up done=%t, first done=%t, second done=%t)", warm.done, first.done, second.done)
	}

	// prompt_eval_count is the whole prompt, as Qwen3 tokenizes it. Ollama's
	// tokenizer may split a place or two differently from Hugging Face's
	// (see internal/qwen3): allow 1%.
	for _, c := range []struct {
		what      string
		got, want int
	}{{"the warm-up", warm.promptTokens, warmPrompt}, {"request 1", first.promptTokens, static + turn1}, {"request 2", second.promptTokens, static + turn2}} {
		if abs(c.got-c.want) > c.want/100 {
			t.Errorf("%s: prompt_eval_count %d, want the whole prompt as Qwen3 counts it, %d", c.what, c.got, c.want)
		}
	}
	if cold.Prompt != warm.promptTokens || slot1.Prompt != first.promptTokens || slot2.Prompt != second.promptTokens {
		t.Errorf("the runner saw prompts of %d, %d and %d tokens, Ollama reported %d, %d and %d",
			cold.Prompt, slot1.Prompt, slot2.Prompt, warm.promptTokens, first.promptTokens, second.promptTokens)
	}
	// Cold: the warm-up, right after the model was dropped, evaluates all.
	if cold.Used != 0 || cold.Remaining != cold.Prompt {
		t.Errorf("the warm-up after unloading reused %d tokens and evaluated %d of %d", cold.Used, cold.Remaining, cold.Prompt)
	}
	// Warm, the first request too: its turn at most, and a few tokens of
	// slack (the last example's <|im_end|>\n, which the warm-up left open).
	const slack = 8
	for i, c := range []struct {
		slot bench.CacheSlot
		turn int
	}{{slot1, turn1}, {slot2, turn2}} {
		if c.slot.Remaining > c.turn+slack || c.slot.Used < c.slot.Prompt-c.turn-slack {
			t.Errorf("request %d evaluated %d prompt tokens and reused %d; with the prefix cached it should evaluate the request turn at most, %d (+%d)",
				i+1, c.slot.Remaining, c.slot.Used, c.turn, slack)
		}
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
