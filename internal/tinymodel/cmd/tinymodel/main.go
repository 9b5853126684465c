// Command tinymodel writes the tiny random-weight Qwen3 GGUF that the
// end-to-end tests serve with Ollama (see e2e/ollama.sh), with Qwen3's real
// vocabulary and merges, and optionally the Modelfile that creates it with
// Qwen3's chat template.
//
//	tinymodel -o tiny.gguf [-modelfile Modelfile] [-tokenizer tokenizer.json] [-seed 1]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/carebook/carebook/internal/qwen3"
	"github.com/carebook/carebook/internal/tinymodel"
)

// NumCtx is the tiny model's window: the agent's (agent.DefaultNumCtx), so
// that the whole prompt fits and the prefix cache can be seen.
const NumCtx = 8192

func main() {
	out := flag.String("o", "", "output GGUF file (required)")
	modelfile := flag.String("modelfile", "", "also write a Modelfile for `ollama create` here")
	tokPath := flag.String("tokenizer", "", "Qwen3's tokenizer.json (default: $CAREBOOK_QWEN3_TOKENIZER or .cache/qwen3)")
	seed := flag.Int64("seed", 1, "random seed for the weights")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: tinymodel -o FILE.gguf [-modelfile FILE] [-tokenizer tokenizer.json] [-seed N]")
		os.Exit(2)
	}
	if err := run(*out, *modelfile, *tokPath, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "tinymodel:", err)
		os.Exit(1)
	}
}

func run(out, modelfile, tokPath string, seed int64) error {
	if tokPath == "" {
		p, err := qwen3.Find()
		if err != nil {
			return err
		}
		tokPath = p
	}
	tok, err := qwen3.Load(tokPath)
	if err != nil {
		return err
	}
	v := tok.Vocabulary()
	vocab := tinymodel.Vocab{
		Tokens: v.Tokens, Types: v.Types, Merges: v.Merges, Pre: "qwen2",
		BOS: qwen3.EndOfText, EOS: qwen3.ImEnd, PAD: qwen3.EndOfText, AddBOS: false,
	}
	if err := tinymodel.Write(out, vocab, seed); err != nil {
		return err
	}
	if modelfile == "" {
		return nil
	}
	rel, err := filepath.Rel(filepath.Dir(modelfile), out)
	if err != nil {
		rel = out
	}
	text := fmt.Sprintf(`FROM ./%s
TEMPLATE """%s"""
PARAMETER stop <|im_start|>
PARAMETER stop <|im_end|>
PARAMETER num_ctx %d
PARAMETER num_thread 1
`, filepath.ToSlash(rel), qwen3.Template, NumCtx)
	return os.WriteFile(modelfile, []byte(text), 0o644)
}
