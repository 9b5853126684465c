package tinymodel

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ollama/ollama/fs/ggml"
)

func TestWriteDecode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := Write(path, 1); err != nil {
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
	if got := kv.Architecture(); got != "llama" {
		t.Errorf("architecture = %q, want llama", got)
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
	tokens := kv.Strings("tokenizer.ggml.tokens")
	if len(tokens) != VocabSize {
		t.Fatalf("%d tokens, want %d", len(tokens), VocabSize)
	}
	if tokens['a'] != "a" || tokens[' '] != "Ġ" || tokens['\n'] != "Ċ" {
		t.Errorf("byte tokens not in GPT-2 byte-to-unicode form: %q %q %q", tokens['a'], tokens[' '], tokens['\n'])
	}
	if tokens[BOS] != "<s>" || tokens[EOS] != "</s>" {
		t.Errorf("special tokens = %q %q", tokens[BOS], tokens[EOS])
	}
	seen := map[string]bool{}
	for _, tok := range tokens {
		if seen[tok] {
			t.Errorf("duplicate token %q", tok)
		}
		seen[tok] = true
	}

	ts := m.Tensors().Items()
	if want := 3 + 9*Layers; len(ts) != want {
		t.Errorf("%d tensors, want %d", len(ts), want)
	}
	byName := map[string]*ggml.Tensor{}
	for _, tt := range ts {
		byName[tt.Name] = tt
	}
	emb := byName["token_embd.weight"]
	if emb == nil || emb.Shape[0] != Embedding || emb.Shape[1] != uint64(VocabSize) {
		t.Errorf("token_embd.weight = %+v", emb)
	}
	if byName["blk.1.ffn_down.weight"] == nil {
		t.Error("missing blk.1.ffn_down.weight")
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
		if err := Write(p, seed); err != nil {
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
