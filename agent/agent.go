// Package agent turns one plain-language request into one validated action:
// one call to a local Ollama model, whose answer is constrained by the action
// schema, then tools.Prepare against the database. The model sees the
// request, the action format, today's date and the practice's vocabulary
// (tags, providers, appointment types, cities, languages, staff), never a
// patient row. The agent prints nothing and logs nothing.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/carebook/carebook/prompts"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// DefaultModel is the model used when neither --model nor $CAREBOOK_MODEL
// names one: Qwen3 4B Instruct (2507), about 2.5 GB. It is among the best
// small models at following a schema and at tool use, and it runs on a
// practice's ordinary desktop without a GPU. It is the instruct variant on
// purpose: plain `qwen3:4b` is now the thinking-only variant, which ignores
// think:false, and Ollama servers before the fix of ollama/ollama#14645
// silently drop `format` for thinking models when thinking is off. A model
// without thinking is constrained by every Ollama version.
const DefaultModel = "qwen3:4b-instruct"

// Defaults of Options.
const (
	// DefaultNumCtx holds the prompt (about 2,700 Qwen3 tokens), one retry
	// and the answer with room to spare.
	DefaultNumCtx = 8192
	// DefaultKeepAlive keeps the model loaded, and Ollama's cache of the
	// prompt's fixed prefix warm, through a working day with its lunch
	// break: each request starts the time again. A model unloaded is
	// loaded again on the next request, and the whole prompt evaluated.
	// $CAREBOOK_KEEP_ALIVE or keep_alive in the configuration file change
	// it (cmdutil.Factory.NewAgent).
	DefaultKeepAlive = 12 * time.Hour
)

const (
	// maxAnswerTokens caps an answer: an action takes well under 300 tokens,
	// and a free-text string that never closes should not run on.
	maxAnswerTokens = 512
	// MaxRequestLen bounds a request, in characters, so that it fits the
	// context window with the fixed prompt.
	MaxRequestLen = 2000
	// maxAttempts is the first answer and one retry.
	maxAttempts = 2
)

// Options tune the model call. The zero value is ready to use.
type Options struct {
	// NumCtx is the context window, in tokens. Zero means DefaultNumCtx.
	NumCtx int
	// KeepAlive is how long Ollama keeps the model loaded after a call.
	// Zero means DefaultKeepAlive.
	KeepAlive time.Duration
	// Temperature of sampling; 0, the default, makes the answer the same
	// for the same request.
	Temperature float64
	// Observe, when set, is called after each model call with Ollama's
	// counts and timings (never text): for debugging and benchmarks.
	Observe func(Call)
}

// Call is what Ollama reported about one chat call: counts and timings,
// nothing of the prompt or the answer.
type Call struct {
	// PromptTokens is the prompt's tokens (prompt_eval_count). Ollama
	// counts the whole prompt, the part it reused from its cache of the
	// previous prompt included; the reuse shows in PromptEval.
	PromptTokens int
	// EvalTokens is the answer's tokens (eval_count).
	EvalTokens int
	// Load, PromptEval, Eval and Total are Ollama's durations: loading the
	// model, evaluating the prompt, generating the answer, and the whole
	// call.
	Load, PromptEval, Eval, Total time.Duration
	// Done says Ollama finished the answer and sent its counts. Ollama cuts
	// an answer that repeats one token more than 30 times, and then sends
	// neither: the counts above are zero.
	Done bool
}

// Agent decides requests with one model. It checks the model once, on the
// first request, and reuses what it learnt. It is safe for concurrent use.
type Agent struct {
	client *api.Client
	model  string
	opts   Options

	mu   sync.Mutex
	info *ModelInfo // set by the first successful check

	// refused is the guard's verdict on the endpoint, when it refused it
	// before any client was made: every call returns it.
	refused error
}

// Refused returns an agent that refuses every call with err. The factory
// builds one when the guard refuses the configured endpoint, so that the
// refusal reaches the caller, and the audit log, the way a failed call does;
// no HTTP client exists to send anything.
func Refused(model string, err error) *Agent {
	return &Agent{model: model, refused: err}
}

// New returns an agent that asks model through client (see NewClient).
func New(client *api.Client, model string, opts Options) *Agent {
	if opts.NumCtx == 0 {
		opts.NumCtx = DefaultNumCtx
	}
	if opts.KeepAlive == 0 {
		opts.KeepAlive = DefaultKeepAlive
	}
	return &Agent{client: client, model: model, opts: opts}
}

// Model is the name of the model the agent asks.
func (a *Agent) Model() string { return a.model }

// ModelInfo is what Ollama says about the model.
type ModelInfo struct {
	Name string
	// Digest identifies the exact weights, for the audit log.
	Digest string
	// Capabilities are Ollama's, such as completion, tools and thinking.
	Capabilities []string
}

// CloudModelError says the model runs in Ollama's cloud: the local server
// would forward the prompt, patient data and all.
type CloudModelError struct {
	Model string
	Why   string
}

func (e *CloudModelError) Error() string {
	return fmt.Sprintf("refused: model %s runs in Ollama's cloud (%s), so requests would leave this machine; choose a model that runs locally (ollama list)", e.Model, e.Why)
}

// CloudName reports a model name of Ollama's cloud models (gpt-oss:120b-cloud,
// qwen3-coder:480b-cloud, …:cloud).
func CloudName(model string) bool {
	return strings.HasSuffix(strings.ToLower(strings.TrimSpace(model)), "cloud")
}

func remoteOf(host string) string {
	if host == "" {
		return "a remote host"
	}
	return host
}

// Check makes sure Ollama is running and has the model, and that the model
// runs on this machine. The first success is remembered; a failure is not,
// so that a REPL recovers once Ollama is started or the model pulled.
func (a *Agent) Check(ctx context.Context) (ModelInfo, error) {
	if a.refused != nil {
		return ModelInfo{}, a.refused
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.info != nil {
		return *a.info, nil
	}
	if CloudName(a.model) {
		return ModelInfo{}, &CloudModelError{Model: a.model, Why: "its name ends in cloud"}
	}
	show, err := a.client.Show(ctx, &api.ShowRequest{Model: a.model})
	if err != nil {
		return ModelInfo{}, callError(ctx, a.model, err)
	}
	if show.RemoteHost != "" || show.RemoteModel != "" {
		return ModelInfo{}, &CloudModelError{Model: a.model, Why: "Ollama reports that it is served from " + remoteOf(show.RemoteHost)}
	}
	list, err := a.client.List(ctx)
	if err != nil {
		return ModelInfo{}, callError(ctx, a.model, err)
	}
	info := ModelInfo{Name: a.model}
	for _, m := range list.Models {
		if sameModel(m.Name, a.model) || sameModel(m.Model, a.model) {
			info.Digest = m.Digest
			break
		}
	}
	for _, c := range show.Capabilities {
		info.Capabilities = append(info.Capabilities, string(c))
	}
	a.info = &info
	return info, nil
}

// sameModel compares model names the way Ollama resolves them: a name
// without a tag means :latest.
func sameModel(a, b string) bool {
	norm := func(s string) string {
		if !strings.Contains(s[strings.LastIndex(s, "/")+1:], ":") {
			return s + ":latest"
		}
		return s
	}
	return a != "" && b != "" && norm(a) == norm(b)
}

// Decision is the outcome of one request.
type Decision struct {
	// Plan is the validated action, ready to preview and execute. It is nil
	// when Decide returns an error.
	Plan *tools.Plan
	// Action is the model's last answer that parsed as an action: with an
	// AmbiguousError, the action to run again once the user has picked a
	// patient.
	Action tools.Action
	// Model and ModelDigest name the model, for the audit log.
	Model, ModelDigest string
	// Attempts is how many answers were asked for: 1, or 2 after a retry.
	Attempts int
	// PromptTokens and EvalTokens are what Ollama counted, over all attempts:
	// tokens of prompt (the whole prompt: Ollama counts the part it reused
	// from its cache too) and of answer generated.
	PromptTokens, EvalTokens int
	// PromptEval and Total are Ollama's timings, over all attempts.
	PromptEval, Total time.Duration
}

// PrepareFunc validates and resolves an action against the database
// (tools.Prepare). The caller opens the database for each call and releases
// it after, so that nothing is held while the model thinks.
type PrepareFunc func(ctx context.Context, action tools.Action) (*tools.Plan, error)

// Decide asks the model for one action for request, given the practice's
// vocabulary, and prepares it with prepare. Nothing is written.
//
// An answer that fails validation (not JSON, an unknown tool, an unknown tag,
// an impossible date, an empty bulk filter…) is handed back to the model with
// the reason, once; if the second answer fails too, the error says so and
// wraps the *tools.ValidationError. A *tools.AmbiguousError or
// *tools.NotFoundError from resolving a patient is returned as it is: the
// model did its part, and the user must choose. Whenever the model has
// answered, the Decision is returned too, with a nil Plan on error, so that
// the caller can record the model and retry with a chosen patient.
func (a *Agent) Decide(ctx context.Context, vocab store.Vocabulary, env tools.Env, request string, prepare PrepareFunc) (*Decision, error) {
	request = strings.TrimSpace(request)
	if request == "" {
		return nil, &tools.ValidationError{Msg: "the request is empty"}
	}
	if n := len([]rune(request)); n > MaxRequestLen {
		return nil, &tools.ValidationError{Msg: fmt.Sprintf("the request is too long (%d characters; at most %d)", n, MaxRequestLen)}
	}
	if env.Now.IsZero() {
		env.Now = time.Now()
	}
	info, err := a.Check(ctx)
	if err != nil {
		return nil, err
	}
	format, err := json.Marshal(tools.ActionSchema(vocab))
	if err != nil {
		return nil, fmt.Errorf("encode the action schema: %w", err)
	}

	d := &Decision{Model: a.model, ModelDigest: info.Digest}
	msgs := Messages(env.Now, vocab, request)
	for {
		answer, err := a.chat(ctx, msgs, format, d)
		if err != nil {
			if d.Attempts == 0 {
				return nil, err
			}
			return d, err
		}
		d.Attempts++
		err = d.prepare(ctx, answer, prepare)
		var invalid *tools.ValidationError
		switch {
		case err == nil:
			return d, nil
		case !errors.As(err, &invalid):
			return d, err
		case d.Attempts >= maxAttempts:
			return d, fmt.Errorf("the model's answer could not be used: %w; nothing was written", err)
		}
		msgs = append(msgs,
			api.Message{Role: "assistant", Content: answer},
			api.Message{Role: "user", Content: RetryPrompt(invalid)})
	}
}

func (d *Decision) prepare(ctx context.Context, answer string, prepare PrepareFunc) error {
	action, err := tools.ParseAction([]byte(answer))
	if err != nil {
		return err
	}
	d.Action = action
	d.Plan, err = prepare(ctx, action)
	return err
}

// RetryPrompt is the user turn that hands a rejected action back. Only a
// ValidationError goes back to the model: its message names tools, fields,
// the vocabulary and what the model wrote, never a patient row (an
// AmbiguousError, which lists patients, is never retried).
func RetryPrompt(err *tools.ValidationError) string {
	return "That action was rejected: " + strings.TrimRight(err.Msg, ". ") + ". Reply with one corrected action."
}

// chat makes one /api/chat call and returns the answer's text.
func (a *Agent) chat(ctx context.Context, msgs []api.Message, format json.RawMessage, d *Decision) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("the model call was stopped: %w", err)
	}
	stream := false
	req := &api.ChatRequest{
		Model:     a.model,
		Messages:  msgs,
		Stream:    &stream,
		Format:    format,
		KeepAlive: &api.Duration{Duration: a.opts.KeepAlive},
		Think:     &api.ThinkValue{Value: false},
		Options: map[string]any{
			"temperature": a.opts.Temperature,
			"num_ctx":     a.opts.NumCtx,
			"num_predict": maxAnswerTokens,
		},
	}
	var answer strings.Builder
	var call Call
	err := a.client.Chat(ctx, req, func(r api.ChatResponse) error {
		if r.RemoteHost != "" || r.RemoteModel != "" {
			return &CloudModelError{Model: a.model, Why: "the answer came from " + remoteOf(r.RemoteHost)}
		}
		answer.WriteString(r.Message.Content)
		if r.Done {
			d.PromptTokens += r.PromptEvalCount
			d.EvalTokens += r.EvalCount
			d.PromptEval += r.PromptEvalDuration
			d.Total += r.TotalDuration
			call = Call{
				PromptTokens: r.PromptEvalCount, EvalTokens: r.EvalCount,
				Load: r.LoadDuration, PromptEval: r.PromptEvalDuration, Eval: r.EvalDuration, Total: r.TotalDuration,
				Done: true,
			}
		}
		return nil
	})
	if err == nil && a.opts.Observe != nil {
		a.opts.Observe(call)
	}
	var cloud *CloudModelError
	if errors.As(err, &cloud) {
		return "", cloud
	}
	if err != nil {
		return "", callError(ctx, a.model, err)
	}
	return answer.String(), nil
}

// Messages builds the chat for one request. Everything before the last
// message (the system prompt and the few-shot pairs) is the same bytes on
// every request, so that Ollama reuses its cache of that prefix; today's
// date, the vocabulary and the request come last.
func Messages(now time.Time, v store.Vocabulary, request string) []api.Message {
	return append(slices.Clone(prefix()), api.Message{Role: "user", Content: RequestTurn(now, v, request)})
}

var prefix = sync.OnceValue(func() []api.Message {
	msgs := []api.Message{{Role: "system", Content: prompts.System()}}
	for _, ex := range prompts.Examples() {
		msgs = append(msgs,
			api.Message{Role: "user", Content: "Request: " + ex.Request},
			api.Message{Role: "assistant", Content: string(ex.Action)})
	}
	return msgs
})

// RequestTurn is the last user message: what varies from one request to
// the next.
func RequestTurn(now time.Time, v store.Vocabulary, request string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Today is %s.\n", now.Format("Monday, 2006-01-02"))
	for _, l := range []struct {
		name string
		vals []string
	}{
		{"Tags", v.Tags}, {"Providers", v.Providers}, {"Appointment types", v.AppointmentTypes},
		{"Cities", v.Cities}, {"Languages", v.Languages}, {"Staff", v.Staff},
	} {
		vals := "none yet"
		if len(l.vals) > 0 {
			vals = strings.Join(l.vals, ", ")
		}
		fmt.Fprintf(&b, "%s: %s\n", l.name, vals)
	}
	b.WriteString("Request: " + request)
	return b.String()
}

// StaticPromptBytes is the size of the prompt's stable prefix (the system
// prompt and the examples), which Ollama caches between requests: make
// bench fails when it outgrows its budget.
func StaticPromptBytes() int {
	n := 0
	for _, m := range prefix() {
		n += len(m.Content)
	}
	return n
}
