package charset

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf16"
)

const text = "Patient ID (MRN),First Name,Last Name\nP1,José,Muñoz\nP2,Zoë,“Quoted” Ñandú €\n"

func utf16Bytes(s string, bigEndian, bom bool) []byte {
	var out []byte
	units := utf16.Encode([]rune(s))
	if bom {
		units = append([]uint16{0xFEFF}, units...)
	}
	for _, u := range units {
		if bigEndian {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

// windows1252 encodes the test text by hand, so that the test does not
// check the decoder against itself.
func windows1252(s string) []byte {
	special := map[rune]byte{'“': 0x93, '”': 0x94, '€': 0x80}
	var out []byte
	for _, r := range s {
		if b, ok := special[r]; ok {
			out = append(out, b)
		} else if r < 0x100 {
			out = append(out, byte(r))
		} else {
			panic("not in windows-1252")
		}
	}
	return out
}

func read(t *testing.T, data []byte, enc Encoding) (string, error) {
	t.Helper()
	b, err := io.ReadAll(NewReader(bytes.NewReader(data), enc))
	return string(b), err
}

func TestNewReaderDecodes(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		enc  Encoding
	}{
		{"utf-8", []byte(text), Auto},
		{"utf-8 named", []byte(text), UTF8},
		{"utf-8 with a mark", append([]byte("\xEF\xBB\xBF"), text...), Auto},
		{"utf-8 mark beats a wrong flag", append([]byte("\xEF\xBB\xBF"), text...), Latin1},
		{"utf-16le with a mark", utf16Bytes(text, false, true), Auto},
		{"utf-16be with a mark", utf16Bytes(text, true, true), Auto},
		{"utf-16le mark beats a wrong flag", utf16Bytes(text, false, true), Windows1252},
		{"utf-16le without a mark, guessed", utf16Bytes(text, false, false), Auto},
		{"utf-16be without a mark, guessed", utf16Bytes(text, true, false), Auto},
		{"utf-16 named", utf16Bytes(text, false, false), UTF16},
		{"utf-16be named", utf16Bytes(text, true, false), UTF16BE},
		{"windows-1252", windows1252(text), Windows1252},
		{"latin1 read as windows-1252", windows1252(text), Latin1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := read(t, c.data, c.enc)
			if err != nil {
				t.Fatal(err)
			}
			if got != text {
				t.Errorf("got %q, want %q", got, text)
			}
		})
	}
}

func TestNotUTF8NamesTheLineAndTheFlag(t *testing.T) {
	data := windows1252(text) // line 2 holds the first byte above 0x7F
	got, err := read(t, data, Auto)
	var e *Error
	if !errors.As(err, &e) || e.Line != 2 {
		t.Fatalf("error %v (%T), want an *Error on line 2", err, err)
	}
	if !strings.Contains(err.Error(), "--encoding windows-1252") {
		t.Errorf("error %q does not say what to do", err)
	}
	if strings.Contains(err.Error(), "Jos") {
		t.Errorf("error %q quotes the file", err)
	}
	if !strings.HasPrefix(got, "Patient ID (MRN),First Name,Last Name\nP1,Jos") {
		t.Errorf("the valid text before the bad byte was not passed on: %q", got)
	}
	// A bad byte far into a big file still names its line.
	big := bytes.Repeat([]byte("P1,Ann,Lee\n"), 100_000)
	big = append(big, "P2,Jos\xe9,Lee\n"...)
	if _, err := read(t, big, UTF8); !errors.As(err, &e) || e.Line != 100_001 {
		t.Errorf("big file: error %v, want line 100001", err)
	}
	// A rune cut off by the end of the file is not UTF-8 either.
	if _, err := read(t, []byte("a,b\nc,\xc3"), Auto); !errors.As(err, &e) || e.Line != 2 {
		t.Errorf("truncated rune: error %v, want line 2", err)
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Encoding{
		"": Auto, "UTF-8": UTF8, "utf8": UTF8, "Latin-1": Latin1, "ISO-8859-1": Latin1, "latin1": Latin1,
		"windows-1252": Windows1252, "CP1252": Windows1252, "utf-16": UTF16, "UTF-16LE": UTF16LE, "utf_16be": UTF16BE,
	} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Parse("ebcdic"); err == nil || !strings.Contains(err.Error(), "windows-1252") {
		t.Errorf("Parse(ebcdic): %v", err)
	}
}
