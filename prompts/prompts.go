// Package prompts holds the text the model is given before each request: the
// system prompt and the few-shot examples. They live in plain files beside
// this one (system.txt, examples.jsonl) so that a reviewer can read and edit
// them without reading Go.
//
// Everything here is fixed: the same bytes start every request, so Ollama
// can reuse its cache of the prompt prefix. What varies (today's date, the
// practice's vocabulary, the request) is added after it, by the agent.
package prompts

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/carebook/carebook/tools"
)

//go:embed system.txt
var systemText string

//go:embed examples.jsonl
var examplesJSONL []byte

// Example is one few-shot pair: a request and the action it should become.
type Example struct {
	Request string          `json:"request"`
	Action  json.RawMessage `json:"action"`
}

// System is the fixed system prompt: the rules from system.txt, then the
// action format from tools.StaticSchemaDoc.
func System() string { return system() }

var system = sync.OnceValue(func() string {
	return strings.TrimSpace(systemText) + "\n\n" + tools.StaticSchemaDoc()
})

// Examples returns the few-shot pairs of examples.jsonl, in order. Each
// action is compact JSON on one line, as the model is to write it.
func Examples() []Example {
	ex := examples()
	out := make([]Example, len(ex))
	copy(out, ex)
	return out
}

var examples = sync.OnceValue(func() []Example {
	ex, err := parseExamples(examplesJSONL)
	if err != nil {
		// The file is embedded at build time and checked by the tests.
		panic(err)
	}
	return ex
})

func parseExamples(data []byte) ([]Example, error) {
	var out []Example
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var ex Example
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ex); err != nil {
			return nil, fmt.Errorf("examples.jsonl line %d: %w", line, err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, ex.Action); err != nil {
			return nil, fmt.Errorf("examples.jsonl line %d: %w", line, err)
		}
		ex.Action = compact.Bytes()
		out = append(out, ex)
	}
	return out, sc.Err()
}
