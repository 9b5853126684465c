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

func TestBarRoomFitsTheTerminal(t *testing.T) {
	keys := []string{"TAG", "hypertension", "vip"}
	nums := []string{"COUNT", "837", "12"}
	room := BarRoom(80, keys, nums)
	// "hypertension" + 2, "COUNT" + 2, one spare.
	if room != 80-14-7-1 {
		t.Errorf("room %d", room)
	}
	line := "hypertension  837    " + Bars([]int{837, 12}, room)[0]
	if n := utf8.RuneCountInString(line); n > 80 {
		t.Errorf("the longest line takes %d columns of 80", n)
	}
}
