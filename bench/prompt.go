package bench

import (
	"regexp"
	"strconv"
)

// Prompt budgets of issue 17, in Qwen3 tokens: the fixed prefix every
// request starts with (paid in full on a cold cache), and the last turn
// (paid on every request) on the 100k demo practice, whose vocabulary is
// large.
const (
	StaticPromptTokenBudget = 1200
	RequestTurnTokenBudget  = 250
)

// BudgetRequest is the request whose turn is measured against
// RequestTurnTokenBudget: a typical short question.
const BudgetRequest = "how many patients have diabetes"

// CacheSlot is Ollama's runner's account of one prompt, from its debug log
// (OLLAMA_DEBUG=1, as e2e/ollama.sh runs it): the prompt's tokens, those
// reused from the cache, and those evaluated. Ollama v0.17.4 says this
// nowhere else: its prompt_eval_count counts the whole prompt.
type CacheSlot struct{ Prompt, Used, Remaining int }

var cacheSlotLine = regexp.MustCompile(`msg="loading cache slot" .*prompt=(\d+) used=(\d+) remaining=(\d+)`)

// CacheSlots returns the cache-slot lines of an Ollama server log, in order.
func CacheSlots(log string) []CacheSlot {
	var out []CacheSlot
	for _, m := range cacheSlotLine.FindAllStringSubmatch(log, -1) {
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		out = append(out, CacheSlot{Prompt: n(1), Used: n(2), Remaining: n(3)})
	}
	return out
}
