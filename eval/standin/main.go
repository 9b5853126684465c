// Command standin judges a prompt without the model's weights. It captures,
// for each case of an eval file, the exact chat Carebook sends the model
// (system prompt, few-shot examples, the request turn with today's date and
// the practice's vocabulary) and the JSON schema that constrains the answer,
// through a scripted Ollama (internal/ollamatest), one file per case.
// Independent readers (people, or other models) answer each with one JSON
// action; standin collects their answers into an actions file that
// `carebook eval --actions` scores like the model's.
//
//	go run ./eval/standin capture CASES.jsonl -fixture DIR -o OUT
//	  (readers write OUT/answers/ID.json, one JSON action each)
//	go run ./eval/standin answers CASES.jsonl OUT/answers -o actions.jsonl
//	carebook eval CASES.jsonl --fixture DIR --actions actions.jsonl
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/carebook/carebook/agent"
	"github.com/carebook/carebook/eval"
	"github.com/carebook/carebook/internal/ollamatest"
	"github.com/carebook/carebook/tools"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "capture":
		err = capture(os.Args[2:])
	case "answers":
		err = answers(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "standin:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  standin capture CASES.jsonl -fixture DIR -o OUT
  standin answers CASES.jsonl ANSWERS_DIR -o actions.jsonl`)
	os.Exit(2)
}

// parse reads flags that may follow the positional arguments.
func parse(fs *flag.FlagSet, args []string, npos int) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) > 0 {
			pos, args = append(pos, args[0]), args[1:]
		}
	}
	if len(pos) != npos {
		usage()
	}
	return pos, nil
}

// model is the name the scripted server answers to.
const model = "carebook-standin:latest"

// placeholder is the scripted server's answer: a valid action, so that
// each case makes exactly one model call.
const placeholder = `{"tool":"refuse","args":{"message":"captured"}}`

func capture(args []string) error {
	fs := flag.NewFlagSet("capture", flag.ExitOnError)
	fixture := fs.String("fixture", "eval/testdata/clinic", "the fixture practice")
	out := fs.String("o", "", "the folder to write one ID.json per case into")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if *out == "" {
		return errors.New("-o OUT is required")
	}
	cases, err := eval.LoadCases(pos[0])
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	srv := ollamatest.New(model, placeholder)
	defer srv.Close()
	base, err := agent.ParseBaseURL(srv.URL)
	if err != nil {
		return err
	}
	a := agent.New(agent.NewClient(base, agent.NewHTTPClient(agent.ClientOptions{})), model, agent.Options{})
	ctx := context.Background()
	for _, c := range cases {
		body, err := captureOne(ctx, a, srv, *fixture, c)
		if err != nil {
			return fmt.Errorf("case %s: %w", c.ID, err)
		}
		if err := os.WriteFile(filepath.Join(*out, c.ID+".json"), body, 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(*out, "INSTRUCTIONS.md"), []byte(instructions), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "standin: captured %d chats into %s\n", len(cases), *out)
	return nil
}

// captureOne asks the scripted server c's request as `carebook eval` would
// ask the model, on the database the case runs on (a fresh copy of the
// fixture, with the case's setup actions run, as they are before the model
// is asked), and returns the chat request's body, indented. Only the
// request's chat is captured: setup actions are actions, not requests.
func captureOne(ctx context.Context, a *agent.Agent, srv *ollamatest.Server, fixture string, c eval.Case) ([]byte, error) {
	st, env, err := eval.CaseStore(ctx, fixture, eval.DefaultNow, c)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	vocab, err := st.Reader().Vocabulary(ctx)
	if err != nil {
		return nil, err
	}
	before := srv.ChatCount()
	if _, err := a.Decide(ctx, vocab, env, c.Request, func(ctx context.Context, action tools.Action) (*tools.Plan, error) {
		return tools.Prepare(ctx, st.Reader(), action, env)
	}); err != nil {
		return nil, err
	}
	if n := srv.ChatCount(); n != before+1 {
		return nil, fmt.Errorf("%d model calls, want 1", n-before)
	}
	raw := srv.Bodies[before]
	msgs := srv.Chats[before].Messages
	if last := msgs[len(msgs)-1]; last.Role != "user" || !strings.HasSuffix(last.Content, "Request: "+strings.TrimSpace(c.Request)) {
		return nil, errors.New("the captured chat does not end with the case's request")
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

const instructions = `# Captured chats

Each ID.json is the body of the /api/chat request that Carebook sends to its
model for one eval case, byte for byte but indented: "messages" holds the
system prompt, the few-shot examples (user/assistant pairs) and the last user
turn (today's date, the practice's vocabulary and the request); "format" is
the JSON schema that Ollama makes the answer fit.

To answer, read the chat as the model would and write exactly one JSON object,
the action for the last request, in answers/ID.json (no prose, no code
fence). Then score:

    go run ./eval/standin answers CASES.jsonl answers -o actions.jsonl
    carebook eval CASES.jsonl --fixture eval/testdata/clinic --actions actions.jsonl
`

func answers(args []string) error {
	fs := flag.NewFlagSet("answers", flag.ExitOnError)
	out := fs.String("o", "", "the actions file to write (JSON Lines of {id, action})")
	pos, err := parse(fs, args, 2)
	if err != nil {
		return err
	}
	if *out == "" {
		return errors.New("-o FILE is required")
	}
	cases, err := eval.LoadCases(pos[0])
	if err != nil {
		return err
	}
	var b bytes.Buffer
	missing, notJSON := 0, 0
	for _, c := range cases {
		action, err := readAnswer(filepath.Join(pos[1], c.ID+".json"))
		switch {
		case errors.Is(err, os.ErrNotExist):
			missing++
			action = json.RawMessage("null")
		case err != nil:
			return err
		case !json.Valid(action):
			notJSON++
			// Kept as a string: it fails its case as an unparseable answer.
			action, _ = json.Marshal(string(action))
		}
		line, err := json.Marshal(struct {
			ID     string          `json:"id"`
			Action json.RawMessage `json:"action"`
		}{c.ID, compact(action)})
		if err != nil {
			return err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "standin: %d cases, %d answers missing, %d not JSON: %s\n", len(cases), missing, notJSON, *out)
	return nil
}

// readAnswer reads one answer, without surrounding space or a Markdown
// code fence.
func readAnswer(path string) (json.RawMessage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := strings.TrimSpace(string(data))
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(s, "```json")
		s = strings.TrimPrefix(s, "```")
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "```"))
	}
	return json.RawMessage(s), nil
}

func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}
