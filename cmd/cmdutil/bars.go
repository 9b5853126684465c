package cmdutil

import (
	"strings"
	"unicode/utf8"
)

// eighths are the left-aligned partial blocks, one eighth of a cell to
// seven: a bar's end is drawn to an eighth of a column.
var eighths = []string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}

// Bars draws a horizontal bar for each count, the largest filling width
// columns, in Unicode block characters. A count above zero always gets at
// least a sliver, so that a small group does not read as none. With no
// room (width < 1) or nothing counted, every bar is empty.
func Bars(counts []int, width int) []string {
	out := make([]string, len(counts))
	top := 0
	for _, n := range counts {
		top = max(top, n)
	}
	if top == 0 || width < 1 {
		return out
	}
	for i, n := range counts {
		if n <= 0 {
			continue
		}
		units := int((int64(n)*int64(width)*8 + int64(top)/2) / int64(top))
		units = max(units, 1)
		out[i] = strings.Repeat("█", units/8) + eighths[units%8]
	}
	return out
}

// WithBars appends to each row of a Table the bar of its count, the bars
// sized to fit a terminal width columns wide beside the rows' other cells
// and the header.
func WithBars(rows [][]string, counts []int, width int, header ...string) [][]string {
	bars := Bars(counts, barRoom(width, append([][]string{header}, rows...)))
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = append(r[:len(r):len(r)], bars[i])
	}
	return out
}

// barRoom is how many columns are left for a bar beside the cells of rows:
// each column is as wide as its widest cell, plus a Table's padding of 2.
func barRoom(width int, rows [][]string) int {
	var widest []int
	for _, r := range rows {
		for c, cell := range r {
			if c == len(widest) {
				widest = append(widest, 0)
			}
			widest[c] = max(widest[c], utf8.RuneCountInString(cell))
		}
	}
	used := 0
	for _, w := range widest {
		used += w + 2
	}
	// One column spare: a line that fills the terminal exactly wraps on
	// some terminals.
	return width - used - 1
}
