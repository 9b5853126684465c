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

// BarRoom is how many columns are left for a bar on a terminal width
// columns wide, beside a Table whose other columns hold these cells (each
// column is as wide as its widest cell, plus the table's padding of 2).
func BarRoom(width int, columns ...[]string) int {
	used := 0
	for _, col := range columns {
		widest := 0
		for _, cell := range col {
			widest = max(widest, utf8.RuneCountInString(cell))
		}
		used += widest + 2
	}
	// One column spare: a line that fills the terminal exactly wraps on
	// some terminals.
	return width - used - 1
}
