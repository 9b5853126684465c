// Package tinymodel writes a tiny qwen3-architecture GGUF model with random
// weights and a real tokenizer. Ollama loads it with its own engine, as it
// does Qwen3 models, so end-to-end tests exercise a real `ollama serve`
// without downloading any weights. Its output is noise, but with a JSON
// schema as `format` Ollama's grammar makes it schema-valid, and a fixed
// preference in its output layer keeps it short (see Tensors).
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
	"strings"

	"github.com/ollama/ollama/fs/ggml"
)

// Shape of the model: tiny, so that it writes in a second and decodes
// quickly on a CPU, but a whole Qwen3 (grouped-query attention with
// query and key norms, SwiGLU). The output layer is its own tensor, not
// the embedding (as in Qwen3 4B), to carry the preferences.
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

// Preferences of the output layer: what the model favours, whatever it
// read. The grammar of a JSON schema then closes strings, arrays and
// objects at once and ends the answer, so answers are short and complete;
// whitespace, which the grammar allows between any two tokens, is never
// favoured (a random model loves it, and Ollama cuts an answer off after 30
// repeats of one token, without counts or timings).
const (
	prefQuote      = 3.0 // "
	prefClose      = 2.8 // }
	prefEnd        = 2.6 // EOS, and ]
	prefWhitespace = -4.0
	// prefSpread is the spread of every other token's preference.
	prefSpread = 0.3
	// bias is the first embedding dimension of every token: it dominates
	// the final norm, so that the output layer's first column (the
	// preferences) dominates the logits; the other dimensions are random
	// and add context-dependent noise.
	bias = 4.0
)

// preference returns the output layer's preference for each token.
func preference(v Vocab, rng *rand.Rand) []float32 {
	p := make([]float32, len(v.Tokens))
	for i, tok := range v.Tokens {
		switch {
		case tok == `"`:
			p[i] = prefQuote
		case tok == "}":
			p[i] = prefClose
		case tok == "]" || uint32(i) == v.EOS:
			p[i] = prefEnd
		case whitespace(tok):
			p[i] = prefWhitespace
		default:
			p[i] = float32(rng.NormFloat64()) * prefSpread
		}
	}
	return p
}

// whitespace reports a token made of whitespace bytes only, in GPT-2's
// byte-to-unicode form (Ġ space, Ċ newline, ĉ tab, č CR, ċ VT, Č FF).
func whitespace(tok string) bool {
	if tok == "" {
		return false
	}
	for _, r := range tok {
		if !strings.ContainsRune("ĠĊĉčċČ", r) {
			return false
		}
	}
	return true
}

// Tensors returns the tensors of a model over vocabulary v, filled with
// random values drawn from seed (the same seed gives the same model), but
// for the output preferences above. Shapes are in GGUF order (innermost
// dimension first).
func Tensors(v Vocab, seed int64) []*ggml.Tensor {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x63617265626f6f6b)) // "carebook"
	var ts []*ggml.Tensor
	// add makes a tensor whose element k is fill(k), or random with std
	// when fill is nil, or 1 (a norm's weights) when std is 0 too.
	add := func(name string, std float32, fill func(k int) float32, shape ...uint64) {
		n := uint64(1)
		for _, d := range shape {
			n *= d
		}
		data := make(f32, n)
		for k := range data {
			switch {
			case fill != nil:
				data[k] = fill(k)
			case std == 0:
				data[k] = 1
			default:
				data[k] = float32(rng.NormFloat64()) * std
			}
		}
		ts = append(ts, &ggml.Tensor{Name: name, Kind: 0 /* F32 */, Shape: shape, WriterTo: data})
	}
	// row fills a [Embedding, vocab] matrix: first each token's dimension
	// 0 from first, then random dimensions with std.
	row := func(first func(tok int) float32, std float32) func(k int) float32 {
		return func(k int) float32 {
			if k%Embedding == 0 {
				return first(k / Embedding)
			}
			return float32(rng.NormFloat64()) * std
		}
	}

	const e, ff = Embedding, FeedForward
	q, kv := uint64(Heads*HeadDim), uint64(HeadsKV*HeadDim)
	vocab := uint64(len(v.Tokens))
	add("token_embd.weight", 0, row(func(int) float32 { return bias }, 0.5), e, vocab)
	for i := range Layers {
		p := fmt.Sprintf("blk.%d.", i)
		add(p+"attn_norm.weight", 0, nil, e)
		add(p+"attn_q.weight", 0.1, nil, e, q)
		add(p+"attn_q_norm.weight", 0, nil, HeadDim)
		add(p+"attn_k.weight", 0.1, nil, e, kv)
		add(p+"attn_k_norm.weight", 0, nil, HeadDim)
		add(p+"attn_v.weight", 0.1, nil, e, kv)
		add(p+"attn_output.weight", 0.1, nil, q, e)
		add(p+"ffn_norm.weight", 0, nil, e)
		add(p+"ffn_gate.weight", 0.1, nil, e, ff)
		add(p+"ffn_up.weight", 0.1, nil, e, ff)
		add(p+"ffn_down.weight", 0.1, nil, ff, e)
	}
	add("output_norm.weight", 0, nil, e)
	pref := preference(v, rng)
	add("output.weight", 0, row(func(tok int) float32 { return pref[tok] }, 0.05), e, vocab)
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
	if err := ggml.WriteGGUF(f, KV(v), Tensors(v, seed)); err != nil {
		return fmt.Errorf("tinymodel: write %s: %w", path, err)
	}
	return nil
}
