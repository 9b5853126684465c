package bench

import (
	"testing"

	"github.com/carebook/carebook/agent"
	"github.com/carebook/carebook/internal/qwen3"
	"github.com/carebook/carebook/store"
)

// The prompt's fixed prefix stays within its Qwen3 token budget. make bench
// enforces it too; this catches an edit of prompts/ or of the action format
// as soon as the tests run, wherever e2e/qwen3.sh has fetched the tokenizer.
func TestStaticPromptWithinBudget(t *testing.T) {
	tok, err := qwen3.LoadDefault()
	if err != nil {
		t.Skip(err)
	}
	static, _ := tok.Split(agent.Messages(Now, store.Vocabulary{}, BudgetRequest))
	if static > StaticPromptTokenBudget {
		t.Errorf("the static prompt is %d Qwen3 tokens; its budget is %d", static, StaticPromptTokenBudget)
	}
	t.Logf("static prompt: %d Qwen3 tokens (budget %d)", static, StaticPromptTokenBudget)
}
