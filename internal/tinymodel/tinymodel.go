// Package tinymodel writes a tiny llama-architecture GGUF model with random
// weights. Ollama can load and serve it, so end-to-end tests can exercise a
// real `ollama serve` without downloading any weights. Its output is noise,
// but with a JSON schema as `format` Ollama's grammar makes it schema-valid.
package tinymodel

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"

	"github.com/ollama/ollama/fs/ggml"
)

// Shape of the model. Small enough to write in milliseconds (~0.4 MB) and
// to decode quickly on a CPU.
const (
	Embedding   = 64
	Layers      = 2
	Heads       = 4
	HeadsKV     = 4
	FeedForward = 128
	Context     = 2048
)

// Special tokens, after the 256 byte tokens. Marked as control tokens, so
// llama.cpp parses them as single tokens in prompts.
var Specials = []string{"<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"}

const (
	BOS = 256 // id of <s>
	EOS = 257 // id of </s>
)

// VocabSize is the number of tokens: one per byte plus Specials.
var VocabSize = 256 + len(Specials)

// Vocab returns the token strings and GGUF token types. Token i < 256 is
// byte i in GPT-2's byte-to-unicode form (what a "gpt2" byte-level BPE
// tokenizer looks up); then come Specials.
func Vocab() (tokens []string, types []int32) {
	const normal, control = 1, 3
	for _, r := range byteToRune() {
		tokens = append(tokens, string(r))
		types = append(types, normal)
	}
	for _, s := range Specials {
		tokens = append(tokens, s)
		types = append(types, control)
	}
	return tokens, types
}

// byteToRune is GPT-2's bytes_to_unicode table: printable bytes map to
// themselves, the rest to code points from 256 up.
func byteToRune() [256]rune {
	var m [256]rune
	n := rune(0)
	for b := 0; b < 256; b++ {
		switch {
		case b >= '!' && b <= '~', b >= 0xA1 && b <= 0xAC, b >= 0xAE && b <= 0xFF:
			m[b] = rune(b)
		default:
			m[b] = 256 + n
			n++
		}
	}
	return m
}

// KV returns the GGUF metadata of the model.
func KV() ggml.KV {
	tokens, types := Vocab()
	return ggml.KV{
		"general.architecture": "llama",
		"general.name":         "carebook-tiny",
		"general.file_type":    uint32(0), // all F32
		"general.alignment":    uint32(32),

		"llama.vocab_size":                       uint32(VocabSize),
		"llama.context_length":                   uint32(Context),
		"llama.embedding_length":                 uint32(Embedding),
		"llama.block_count":                      uint32(Layers),
		"llama.feed_forward_length":              uint32(FeedForward),
		"llama.attention.head_count":             uint32(Heads),
		"llama.attention.head_count_kv":          uint32(HeadsKV),
		"llama.attention.layer_norm_rms_epsilon": float32(1e-5),
		"llama.rope.dimension_count":             uint32(Embedding / Heads),
		"llama.rope.freq_base":                   float32(10000),

		"tokenizer.ggml.model":      "gpt2",
		"tokenizer.ggml.pre":        "default",
		"tokenizer.ggml.tokens":     tokens,
		"tokenizer.ggml.token_type": types,
		// llama.cpp refuses a gpt2 vocabulary without this key; no merges
		// means text is tokenized byte by byte.
		"tokenizer.ggml.merges":           []string{},
		"tokenizer.ggml.bos_token_id":     uint32(BOS),
		"tokenizer.ggml.eos_token_id":     uint32(EOS),
		"tokenizer.ggml.add_bos_token":    true,
		"tokenizer.ggml.add_eos_token":    false,
		"tokenizer.ggml.padding_token_id": uint32(EOS),
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

// Tensors returns the model's tensors filled with random values drawn from
// seed: the same seed gives the same model. Shapes are in GGUF order
// (innermost dimension first).
func Tensors(seed int64) []*ggml.Tensor {
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
	kv := uint64(e / Heads * HeadsKV)
	v := uint64(VocabSize)
	add("token_embd.weight", 1, e, v)
	for i := range Layers {
		p := fmt.Sprintf("blk.%d.", i)
		add(p+"attn_norm.weight", 0, e)
		add(p+"attn_q.weight", 0.1, e, e)
		add(p+"attn_k.weight", 0.1, e, kv)
		add(p+"attn_v.weight", 0.1, e, kv)
		add(p+"attn_output.weight", 0.1, e, e)
		add(p+"ffn_norm.weight", 0, e)
		add(p+"ffn_gate.weight", 0.1, e, ff)
		add(p+"ffn_up.weight", 0.1, e, ff)
		add(p+"ffn_down.weight", 0.1, ff, e)
	}
	add("output_norm.weight", 0, e)
	add("output.weight", 0.2, e, v)
	return ts
}

// Write writes the tiny model to path as GGUF.
func Write(path string, seed int64) (err error) {
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
	if err := ggml.WriteGGUF(f, KV(), Tensors(seed)); err != nil {
		return fmt.Errorf("tinymodel: write %s: %w", path, err)
	}
	return nil
}
