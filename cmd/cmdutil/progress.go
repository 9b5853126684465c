package cmdutil

import (
	"fmt"
	"io"
	"time"
)

// ProgressBar draws one self-overwriting line on a terminal. Commands create
// one only when stderr is a terminal, so scripts never see it. A nil
// *ProgressBar is valid and draws nothing.
type ProgressBar struct {
	w     io.Writer
	label string
	last  time.Time
	drawn bool
}

// NewProgressBar starts a bar on w.
func NewProgressBar(w io.Writer, label string) *ProgressBar {
	return &ProgressBar{w: w, label: label}
}

// Update redraws the bar, at most ten times a second. total < 0 means unknown.
func (b *ProgressBar) Update(done, total int64) { b.UpdateText(done, total, "") }

// UpdateText redraws the bar with text after it ("12 done, 1 failed").
func (b *ProgressBar) UpdateText(done, total int64, text string) {
	if b == nil || time.Since(b.last) < 100*time.Millisecond {
		return
	}
	b.last = time.Now()
	b.drawn = true
	if text != "" {
		text = "  " + text
	}
	if total <= 0 {
		fmt.Fprintf(b.w, "\r%s  %d MB%s\033[K", b.label, done>>20, text)
		return
	}
	pct := int(done * 100 / total)
	const width = 30
	filled := pct * width / 100
	bar := make([]byte, width)
	for i := range bar {
		if i < filled {
			bar[i] = '#'
		} else {
			bar[i] = '.'
		}
	}
	fmt.Fprintf(b.w, "\r%s  [%s] %3d%%%s\033[K", b.label, bar, pct, text)
}

// Done clears the bar's line.
func (b *ProgressBar) Done() {
	if b == nil || !b.drawn {
		return
	}
	fmt.Fprint(b.w, "\r\033[K")
	b.drawn = false
}

// Clear takes the bar off its line, so that other output can be printed
// there; the next Update draws it again at once.
func (b *ProgressBar) Clear() {
	if b == nil {
		return
	}
	b.Done()
	b.last = time.Time{}
}
