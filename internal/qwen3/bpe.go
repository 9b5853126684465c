package qwen3

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// pretokenize splits s as Qwen2's pre-tokenizer pattern (Pretokenizer)
// does, scanning left to right and taking, at each place, the first of its
// alternatives that matches:
//
//  1. 's 't 're 've 'm 'll 'd, in any case;
//  2. at most one character that is not a letter, digit, CR or LF, then
//     letters;
//  3. one digit;
//  4. an optional space, characters that are none of whitespace, letters
//     and digits, then any CRs and LFs;
//  5. whitespace up to its last CR or LF;
//  6. whitespace not followed by a non-space: a run of whitespace less its
//     last character when something follows;
//  7. whitespace.
//
// Go's regexp has no lookahead for 6, hence the hand-written scanner.
// Whitespace is Unicode's (unicode.IsSpace), as in Hugging Face's
// tokenizers; letters are \p{L} and digits \p{N}.
func pretokenize(s string) []string {
	var out []string
	for s != "" {
		n := matchAt(s)
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

func isLetter(r rune) bool { return unicode.IsLetter(r) }
func isNumber(r rune) bool { return unicode.IsNumber(r) }
func isSpace(r rune) bool  { return unicode.IsSpace(r) }
func isCRLF(r rune) bool   { return r == '\r' || r == '\n' }

// other is [^\s\p{L}\p{N}].
func other(r rune) bool { return !isSpace(r) && !isLetter(r) && !isNumber(r) }

// matchAt returns the length in bytes of the pre-token at the start of s
// (never 0 for a non-empty s).
func matchAt(s string) int {
	r0, w0 := utf8.DecodeRuneInString(s)

	// 1. Contractions.
	if r0 == '\'' {
		for _, c := range []string{"s", "t", "re", "ve", "m", "ll", "d"} {
			if len(s) > len(c) && strings.EqualFold(s[1:1+len(c)], c) {
				return 1 + len(c)
			}
		}
	}

	// 2. [^\r\n\p{L}\p{N}]?\p{L}+
	if !isCRLF(r0) && !isLetter(r0) && !isNumber(r0) {
		if r1, w1 := utf8.DecodeRuneInString(s[w0:]); w1 > 0 && isLetter(r1) {
			return w0 + span(s[w0:], isLetter)
		}
	}
	if isLetter(r0) {
		return span(s, isLetter)
	}

	// 3. \p{N}
	if isNumber(r0) {
		return w0
	}

	// 4. ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	start := 0
	if r0 == ' ' {
		if r1, w1 := utf8.DecodeRuneInString(s[w0:]); w1 > 0 && other(r1) {
			start = w0
		}
	}
	if r, _ := utf8.DecodeRuneInString(s[start:]); other(r) {
		n := start + span(s[start:], other)
		return n + span(s[n:], isCRLF)
	}

	// Whitespace from here on: 5, 6 and 7.
	run := span(s, isSpace)
	// 5. \s*[\r\n]+ ends at the last CR or LF of the run.
	if last := strings.LastIndexAny(s[:run], "\r\n"); last >= 0 {
		return last + 1
	}
	// 6. \s+(?!\S): the whole run at the end of the text, else the run less
	// its last character, if that leaves any.
	if run == len(s) {
		return run
	}
	if _, wl := utf8.DecodeLastRuneInString(s[:run]); run-wl > 0 {
		return run - wl
	}
	// 7. \s+
	return run
}

// span is the length in bytes of the prefix of s whose runes all satisfy f.
func span(s string, f func(rune) bool) int {
	for i, r := range s {
		if !f(r) {
			return i
		}
	}
	return len(s)
}

// byteRune is GPT-2's bytes_to_unicode: each byte as the character that
// byte-level BPE vocabularies spell it with (printable bytes as
// themselves, the others from U+0100 up).
var byteRune = func() (m [256]rune) {
	n := rune(0)
	for b := range 256 {
		switch {
		case b >= '!' && b <= '~', b >= 0xA1 && b <= 0xAC, b >= 0xAE && b <= 0xFF:
			m[b] = rune(b)
		default:
			m[b] = 256 + n
			n++
		}
	}
	return m
}()

// bpe appends the ids of one pre-token: its bytes as byte-level symbols,
// merged pair by pair, always the pair of lowest merge rank, the leftmost
// of equals (as Hugging Face's BPE does).
func (t *Tokenizer) bpe(ids []int32, piece string) []int32 {
	syms := make([]string, 0, len(piece))
	for i := 0; i < len(piece); i++ {
		syms = append(syms, string(byteRune[piece[i]]))
	}
	for len(syms) > 1 {
		best, at := -1, -1
		for i := 0; i+1 < len(syms); i++ {
			if r, ok := t.ranks[syms[i]+" "+syms[i+1]]; ok && (best < 0 || r < best) {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		syms[at] += syms[at+1]
		syms = append(syms[:at+1], syms[at+2:]...)
	}
	for _, s := range syms {
		// Every byte is a token, so every symbol has an id.
		ids = append(ids, t.ids[s])
	}
	return ids
}
