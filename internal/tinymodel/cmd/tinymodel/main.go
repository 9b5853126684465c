// Command tinymodel writes the tiny random-weight llama GGUF that the
// end-to-end tests serve with Ollama (see e2e/ollama.sh).
//
//	tinymodel -o tiny.gguf [-seed 1]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/carebook/carebook/internal/tinymodel"
)

func main() {
	out := flag.String("o", "", "output GGUF file (required)")
	seed := flag.Int64("seed", 1, "random seed for the weights")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: tinymodel -o FILE.gguf [-seed N]")
		os.Exit(2)
	}
	if err := tinymodel.Write(*out, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "tinymodel:", err)
		os.Exit(1)
	}
}
