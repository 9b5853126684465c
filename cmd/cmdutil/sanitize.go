package cmdutil

import (
	"bytes"
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"
)

// SafeWriter is what a terminal gets: every control character but newline
// and tab is shown escaped (^[ for ESC, \u009b for CSI) instead of being
// obeyed, and so are the Unicode controls that reorder text. A name
// imported with escape sequences in it can then neither rewrite the
// preview it sits in ("Tag 1 patient" while 26 are tagged), nor clear the
// screen, nor set the clipboard; neither can a model's sentence. Carebook's
// own drawing (progress bars, the line editor, clearing the screen) uses
// the raw terminal, never this.
type SafeWriter struct {
	w     io.Writer
	carry []byte // an incomplete UTF-8 sequence from the last Write
}

// NewSafeWriter wraps w.
func NewSafeWriter(w io.Writer) *SafeWriter { return &SafeWriter{w: w} }

func (s *SafeWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(s.carry) > 0 {
		p = append(s.carry, p...)
		s.carry = nil
	}
	// Keep an incomplete rune at the end for the next Write.
	if i := lastRuneStart(p); i >= 0 && !utf8.FullRune(p[i:]) {
		s.carry = append([]byte(nil), p[i:]...)
		p = p[:i]
	}
	if _, err := s.w.Write(Sanitize(p)); err != nil {
		return 0, err
	}
	return n, nil
}

func lastRuneStart(p []byte) int {
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax; i-- {
		if utf8.RuneStart(p[i]) {
			return i
		}
	}
	return -1
}

// Sanitize escapes the characters a terminal would obey in p. A carriage
// return is kept only before a newline (Windows line endings).
func Sanitize(p []byte) []byte {
	if isPlain(p) {
		return p
	}
	var b bytes.Buffer
	b.Grow(len(p) + 8)
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString("\uFFFD")
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == '\r':
			if i+1 < len(p) && p[i+1] == '\n' {
				b.WriteRune(r)
			} else {
				b.WriteString("^M")
			}
		case r < 0x20:
			b.WriteByte('^')
			b.WriteByte(byte(r) + '@')
		case r == 0x7f:
			b.WriteString("^?")
		case unsafeRune(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.Write(p[i : i+size])
		}
		i += size
	}
	return b.Bytes()
}

// isPlain is the fast path: printable ASCII, newlines and tabs.
func isPlain(p []byte) bool {
	for _, c := range p {
		if c >= 0x80 || (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// unsafeRune is a C1 control, or a character that reorders or hides text.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return unicode.Is(unicode.Cc, r)
}

// Clip cuts s to at most n characters, on one line.
func Clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
