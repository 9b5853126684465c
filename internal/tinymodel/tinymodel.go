// Package tinymodel writes a tiny qwen3-architecture GGUF model with random
// weights and a real tokenizer. Ollama loads it with its own engine, as it
// does Qwen3 models, so end-to-end tests exercise a real `ollama serve`
// without downloading any weights. Its output is noise, but with a JSON
// schema as `format` Ollama's grammar makes it schema-valid.
//
// The e2e harness gives it Qwen3's vocabulary and merges (internal/qwen3),
// so that prompts are tokenized, counted and cached as they are for
// qwen3:4b-instruct; the weights stay tiny (an embedding width of 8).
package tinymodel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"

	"github.com/ollama/ollama/fs/ggml"
)

// Shape of the model: tiny, so that it writes in a second and decodes
// quickly on a CPU, but a whole Qwen3 (grouped-query attention with
// query and key norms, SwiGLU, tied embeddings).
const (
	Embedding   = 8
	Layers      = 2
	Heads       = 2
	HeadsKV     = 1
	HeadDim     = 4
	FeedForward = 16
	// Context is the trained context length, as Qwen3 4B's; the window
	// used is num_ctx.
	Context = 40960
)

// Vocab is the tokenizer the model carries, in GGUF's terms.
type Vocab struct {
	// Tokens are the token strings by id, in GPT-2's byte-to-unicode form.
	Tokens []string
	// Types are llama.cpp's token types: 1 normal, 3 control, 4 user
	// defined.
	Types []int32
	// Merges are the BPE merges in rank order, each "left right".
	Merges []string
	// Pre names the pre-tokenizer (tokenizer.ggml.pre), "qwen2" for Qwen3.
	Pre string
	// BOS, EOS and PAD are token ids.
	BOS, EOS, PAD uint32
	// AddBOS prepends BOS to every prompt (false for Qwen3).
	AddBOS bool
}

func (v Vocab) check() error {
	switch {
	case len(v.Tokens) == 0:
		return errors.New("no tokens")
	case len(v.Types) != len(v.Tokens):
		return fmt.Errorf("%d token types for %d tokens", len(v.Types), len(v.Tokens))
	case int(max(v.BOS, v.EOS, v.PAD)) >= len(v.Tokens):
		return errors.New("a special token id is out of range")
	}
	return nil
}

// KV returns the GGUF metadata of the model with vocabulary v.
func KV(v Vocab) ggml.KV {
	merges := v.Merges
	if merges == nil {
		// llama.cpp refuses a gpt2 vocabulary without this key.
		merges = []string{}
	}
	return ggml.KV{
		"general.architecture": "qwen3",
		"general.name":         "carebook-tiny",
		"general.file_type":    uint32(0), // all F32
		"general.alignment":    uint32(32),

		"qwen3.vocab_size":                       uint32(len(v.Tokens)),
		"qwen3.context_length":                   uint32(Context),
		"qwen3.embedding_length":                 uint32(Embedding),
		"qwen3.block_count":                      uint32(Layers),
		"qwen3.feed_forward_length":              uint32(FeedForward),
		"qwen3.attention.head_count":             uint32(Heads),
		"qwen3.attention.head_count_kv":          uint32(HeadsKV),
		"qwen3.attention.key_length":             uint32(HeadDim),
		"qwen3.attention.value_length":           uint32(HeadDim),
		"qwen3.attention.layer_norm_rms_epsilon": float32(1e-6),
		"qwen3.rope.freq_base":                   float32(1_000_000),

		"tokenizer.ggml.model":            "gpt2",
		"tokenizer.ggml.pre":              v.Pre,
		"tokenizer.ggml.tokens":           v.Tokens,
		"tokenizer.ggml.token_type":       v.Types,
		"tokenizer.ggml.merges":           merges,
		"tokenizer.ggml.bos_token_id":     v.BOS,
		"tokenizer.ggml.eos_token_id":     v.EOS,
		"tokenizer.ggml.padding_token_id": v.PAD,
		"tokenizer.ggml.add_bos_token":    v.AddBOS,
		"tokenizer.ggml.add_eos_token":    false,
	}
}

// f32 is tensor data that WriteGGUF writes out.
type f32 []float32

func (d f32) WriteTo(w io.Writer) (int64, error) {
	buf := make([]byte, 4*len(d))
	for i, v := range d {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	n, err := w.Write(buf)
	return int64(n), err
}

// Tensors returns the tensors of a model over vocab tokens, filled with
// random values drawn from seed: the same seed gives the same model. Shapes
// are in GGUF order (innermost dimension first). The output projection is
// the token embedding (tied, as in Qwen3 4B).
func Tensors(vocab int, seed int64) []*ggml.Tensor {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x63617265626f6f6b)) // "carebook"
	var ts []*ggml.Tensor
	add := func(name string, std float32, shape ...uint64) {
		n := uint64(1)
		for _, d := range shape {
			n *= d
		}
		data := make(f32, n)
		for i := range data {
			if std == 0 {
				data[i] = 1 // norm weights
			} else {
				data[i] = float32(rng.NormFloat64()) * std
			}
		}
		ts = append(ts, &ggml.Tensor{Name: name, Kind: 0 /* F32 */, Shape: shape, WriterTo: data})
	}

	const e, ff = Embedding, FeedForward
	q, kv := uint64(Heads*HeadDim), uint64(HeadsKV*HeadDim)
	add("token_embd.weight", 1, e, uint64(vocab))
	for i := range Layers {
		p := fmt.Sprintf("blk.%d.", i)
		add(p+"attn_norm.weight", 0, e)
		add(p+"attn_q.weight", 0.3, e, q)
		add(p+"attn_q_norm.weight", 0, HeadDim)
		add(p+"attn_k.weight", 0.3, e, kv)
		add(p+"attn_k_norm.weight", 0, HeadDim)
		add(p+"attn_v.weight", 0.3, e, kv)
		add(p+"attn_output.weight", 0.3, q, e)
		add(p+"ffn_norm.weight", 0, e)
		add(p+"ffn_gate.weight", 0.3, e, ff)
		add(p+"ffn_up.weight", 0.3, e, ff)
		add(p+"ffn_down.weight", 0.3, ff, e)
	}
	add("output_norm.weight", 0, e)
	return ts
}

// Write writes the tiny model with vocabulary v to path as GGUF.
func Write(path string, v Vocab, seed int64) (err error) {
	if err := v.check(); err != nil {
		return fmt.Errorf("tinymodel: vocabulary: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if err := ggml.WriteGGUF(f, KV(v), Tensors(len(v.Tokens), seed)); err != nil {
		return fmt.Errorf("tinymodel: write %s: %w", path, err)
	}
	return nil
}
