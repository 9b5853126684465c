// Package charset reads a CSV file's text as UTF-8, whatever encoding it
// was saved in, so that `carebook import`, `migrate` and `scan` read the
// same file the same way.
//
// A byte order mark decides (UTF-8, UTF-16 LE or BE); else the encoding the
// user named; else the file must be UTF-8, and the first byte that is not
// makes reading fail with the line it is on. A file is never read as one
// encoding when it is another: a Latin-1 "José" read as UTF-8 used to import
// as an empty name.
package charset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encoding is a text encoding as --encoding names it.
type Encoding string

const (
	// Auto reads a byte order mark, else UTF-16 recognised by its zero
	// bytes, else UTF-8, checked.
	Auto        Encoding = ""
	UTF8        Encoding = "utf-8"
	Windows1252 Encoding = "windows-1252"
	// Latin1 is read as Windows-1252, as browsers do (the WHATWG Encoding
	// Standard): the two differ only in 0x80–0x9F, which ISO-8859-1 spends
	// on control characters no text holds and Windows-1252 on € “ ” – and
	// the like, which files saved as "Latin-1" often do hold.
	Latin1  Encoding = "latin1"
	UTF16   Encoding = "utf-16" // byte order from the mark, else guessed, else little-endian
	UTF16LE Encoding = "utf-16le"
	UTF16BE Encoding = "utf-16be"
)

// Names lists what --encoding accepts, for help texts and messages.
const Names = "utf-8, latin1, windows-1252, utf-16 (utf-16le, utf-16be)"

// Parse reads an encoding as a user types it: case and the dash ignored,
// and the usual other names (iso-8859-1, cp1252, utf8).
func Parse(s string) (Encoding, error) {
	key := strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(strings.TrimSpace(s)))
	switch key {
	case "", "auto":
		return Auto, nil
	case "utf8":
		return UTF8, nil
	case "latin1", "iso88591", "l1":
		return Latin1, nil
	case "windows1252", "cp1252", "win1252":
		return Windows1252, nil
	case "utf16", "ucs2", "unicode":
		return UTF16, nil
	case "utf16le":
		return UTF16LE, nil
	case "utf16be":
		return UTF16BE, nil
	}
	return Auto, fmt.Errorf("--encoding %q is not an encoding Carebook reads; use one of %s", s, Names)
}

// Error says the text is not valid in the encoding it is read as. It
// names the line, never the bytes: they are patient data.
type Error struct {
	Line int // physical line of the first bad byte; the first line is 1
}

func (e *Error) Error() string {
	return fmt.Sprintf(`line %d is not UTF-8 text, so the file was saved in another encoding: `+
		`if Excel saved it as "CSV (Comma delimited)", add --encoding windows-1252 (or latin1, utf-16), or save it as "CSV UTF-8"`, e.Line)
}

// Byte order marks.
const (
	bomUTF8    = "\xEF\xBB\xBF"
	bomUTF16LE = "\xFF\xFE"
	bomUTF16BE = "\xFE\xFF"
)

// NewReader returns the text of r as UTF-8, without a byte order mark. A
// mark in the file overrides enc. Reading fails with an *Error at the first
// byte that is not UTF-8 when the file is read as UTF-8; the other
// encodings decode every byte sequence (a broken UTF-16 pair becomes
// U+FFFD).
func NewReader(r io.Reader, enc Encoding) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	peeked, _ := br.Peek(4) // a short or failing read shows up on the first Read
	head := string(peeked)
	switch {
	case strings.HasPrefix(head, bomUTF8):
		br.Discard(len(bomUTF8))
		return newChecked(br)
	case strings.HasPrefix(head, bomUTF16LE), strings.HasPrefix(head, bomUTF16BE):
		return decode(br, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM))
	}
	switch enc {
	case Latin1, Windows1252:
		return decode(br, charmap.Windows1252)
	case UTF16LE:
		return decode(br, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM))
	case UTF16BE:
		return decode(br, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM))
	case UTF16:
		if guessUTF16(head) == UTF16BE {
			return decode(br, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM))
		}
		return decode(br, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM))
	case Auto:
		// UTF-16 without a mark: a CSV starts with an ASCII header, which
		// UTF-16 spells with a zero byte beside each letter. No UTF-8 text
		// holds a zero byte there.
		switch guessUTF16(head) {
		case UTF16LE:
			return decode(br, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM))
		case UTF16BE:
			return decode(br, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM))
		}
	}
	return newChecked(br)
}

// guessUTF16 tells UTF-16 from its first two characters when they are
// ASCII: "Pa" is 50 00 61 00 in little-endian order, 00 50 00 61 in big.
func guessUTF16(head string) Encoding {
	if len(head) < 4 {
		return Auto
	}
	switch {
	case head[0] != 0 && head[1] == 0 && head[2] != 0 && head[3] == 0:
		return UTF16LE
	case head[0] == 0 && head[1] != 0 && head[2] == 0 && head[3] != 0:
		return UTF16BE
	}
	return Auto
}

func decode(r io.Reader, enc encoding.Encoding) io.Reader {
	return enc.NewDecoder().Reader(r)
}

// checked passes UTF-8 through and counts lines, so that the first invalid
// byte can be reported by its line.
type checked struct {
	r     io.Reader
	lines int // newlines passed so far
}

func newChecked(r io.Reader) *checked {
	return &checked{r: transform.NewReader(r, encoding.UTF8Validator)}
}

func (c *checked) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.lines += bytes.Count(p[:n], []byte{'\n'})
	if errors.Is(err, encoding.ErrInvalidUTF8) {
		// The validator hands over every valid byte before the bad one,
		// so the bad byte is on the line after the newlines counted.
		return n, &Error{Line: c.lines + 1}
	}
	return n, err
}
