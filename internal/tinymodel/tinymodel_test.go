package tinymodel

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ollama/ollama/fs/ggml"
)

// byteVocab is a small stand-in for Qwen3's vocabulary (the e2e harness
// fetches the real one): a token per byte in GPT-2's byte-to-unicode form,
// one merge, and Qwen3's three special tokens.
func byteVocab() Vocab {
	var v Vocab
	n := rune(0)
	for b := range 256 {
		r := rune(b)
		if !(b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF) {
			r = 256 + n
			n++
		}
		v.Tokens = append(v.Tokens, string(r))
		v.Types = append(v.Types, 1)
	}
	v.Tokens = append(v.Tokens, "in", "<|endoftext|>", "<|im_start|>", "<|im_end|>")
	v.Types = append(v.Types, 1, 3, 3, 3)
	v.Merges = []string{"i n"}
	v.Pre, v.BOS, v.EOS, v.PAD = "qwen2", 257, 259, 257
	return v
}

func TestWriteDecode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	vocab := byteVocab()
	if err := Write(path, vocab, 1); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := ggml.Decode(f, -1)
	if err != nil {
		t.Fatal(err)
	}
	kv := m.KV()
	if got := kv.Architecture(); got != "qwen3" {
		t.Errorf("architecture = %q, want qwen3", got)
	}
	if got := kv.BlockCount(); got != Layers {
		t.Errorf("block_count = %d, want %d", got, Layers)
	}
	if got := kv.EmbeddingLength(); got != Embedding {
		t.Errorf("embedding_length = %d, want %d", got, Embedding)
	}
	if got := kv.ContextLength(); got != Context {
		t.Errorf("context_length = %d, want %d", got, Context)
	}
	if got := kv.String("tokenizer.ggml.model"); got != "gpt2" {
		t.Errorf("tokenizer model = %q, want gpt2", got)
	}
	if got := kv.String("tokenizer.ggml.pre"); got != "qwen2" {
		t.Errorf("pre-tokenizer = %q, want qwen2", got)
	}
	tokens := kv.Strings("tokenizer.ggml.tokens")
	if len(tokens) != len(vocab.Tokens) {
		t.Fatalf("%d tokens, want %d", len(tokens), len(vocab.Tokens))
	}
	if tokens['a'] != "a" || tokens[' '] != "Ġ" || tokens['\n'] != "Ċ" {
		t.Errorf("byte tokens not in GPT-2 byte-to-unicode form: %q %q %q", tokens['a'], tokens[' '], tokens['\n'])
	}
	if m := kv.Strings("tokenizer.ggml.merges"); len(m) != 1 || m[0] != "i n" {
		t.Errorf("merges = %q", m)
	}
	if bos, eos := kv.Uint("tokenizer.ggml.bos_token_id"), kv.Uint("tokenizer.ggml.eos_token_id"); tokens[bos] != "<|endoftext|>" || tokens[eos] != "<|im_end|>" {
		t.Errorf("special tokens = %q %q", tokens[bos], tokens[eos])
	}
	if kv.Bool("tokenizer.ggml.add_bos_token", true) {
		t.Error("add_bos_token is true; Qwen3 adds no BOS")
	}
	seen := map[string]bool{}
	for _, tok := range tokens {
		if seen[tok] {
			t.Errorf("duplicate token %q", tok)
		}
		seen[tok] = true
	}

	ts := m.Tensors().Items()
	if want := 3 + 11*Layers; len(ts) != want {
		t.Errorf("%d tensors, want %d", len(ts), want)
	}
	byName := map[string]*ggml.Tensor{}
	for _, tt := range ts {
		byName[tt.Name] = tt
	}
	emb := byName["token_embd.weight"]
	if emb == nil || emb.Shape[0] != Embedding || emb.Shape[1] != uint64(len(vocab.Tokens)) {
		t.Errorf("token_embd.weight = %+v", emb)
	}
	for _, name := range []string{"blk.1.ffn_down.weight", "blk.0.attn_q_norm.weight", "blk.1.attn_k_norm.weight"} {
		if byName[name] == nil {
			t.Error("missing " + name)
		}
	}
	if out := byName["output.weight"]; out == nil || out.Shape[1] != uint64(len(vocab.Tokens)) {
		t.Errorf("output.weight = %+v", out)
	}

	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	var data uint64
	for _, tt := range ts {
		data += tt.Size()
	}
	if size := uint64(st.Size()); size < data || size > 1<<20 {
		t.Errorf("file is %d bytes for %d bytes of tensor data", size, data)
	}
}

func TestWriteDeterministic(t *testing.T) {
	dir := t.TempDir()
	read := func(name string, seed int64) []byte {
		p := filepath.Join(dir, name)
		if err := Write(p, byteVocab(), seed); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := read("a", 7), read("b", 7), read("c", 8)
	if !bytes.Equal(a, b) {
		t.Error("same seed gave different files")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds gave the same file")
	}
}

// The output layer favours closing quotes, braces and the end of the
// answer, and never whitespace.
func TestPreference(t *testing.T) {
	v := byteVocab()
	p := preference(v, rand.New(rand.NewPCG(1, 2)))
	if p['"'] != prefQuote || p['}'] != prefClose || p[v.EOS] != prefEnd {
		t.Errorf("preferences: quote %v, close %v, end %v", p['"'], p['}'], p[v.EOS])
	}
	for b, tok := range v.Tokens[:256] {
		if ws := whitespace(tok); ws != (b == ' ' || b == '\n' || b == '\t' || b == '\r' || b == '\v' || b == '\f') {
			t.Errorf("byte %#x (%q): whitespace = %v", b, tok, ws)
		}
	}
	if p[' '] != prefWhitespace {
		t.Errorf("space preference %v", p[' '])
	}
}
