package cmdutil

import (
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestBars(t *testing.T) {
	cases := []struct {
		name   string
		counts []int
		width  int
		want   []string
	}{
		{"largest fills the width", []int{10, 5, 0}, 4, []string{"████", "██", ""}},
		{"eighths", []int{16, 3}, 2, []string{"██", "▍"}},
		{"a small count keeps a sliver", []int{1000, 1}, 10, []string{"██████████", "▏"}},
		{"nothing counted", []int{0, 0}, 10, []string{"", ""}},
		{"no room", []int{3, 1}, 0, []string{"", ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, Bars(c.counts, c.width)); diff != "" {
				t.Errorf("Bars(%v, %d) (-want +got):\n%s", c.counts, c.width, diff)
			}
		})
	}
}

func TestWithBarsFitsTheTerminal(t *testing.T) {
	rows := [][]string{{"hypertension", "837"}, {"vip", "12"}}
	got := WithBars(rows, []int{837, 12}, 80, "TAG", "COUNT")
	// "hypertension" + 2, "COUNT" + 2, one column spare: 59 for the bar.
	if n := utf8.RuneCountInString(got[0][2]); n != 80-14-7-1 {
		t.Errorf("the longest bar is %d columns", n)
	}
	if len(rows[0]) != 2 {
		t.Error("WithBars changed the rows it was given")
	}
	if got := WithBars(rows, []int{837, 12}, 10, "TAG", "COUNT"); got[0][2] != "" {
		t.Errorf("a terminal too narrow for bars got %q", got[0][2])
	}
}
