package runcmd

import (
	"testing"
	"time"
)

// The estimate never says "0s" while a line is still being worked on.
func TestRoughly(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "a few seconds"},
		{2*time.Second + 600*time.Millisecond, "a few seconds"},
		{4900 * time.Millisecond, "a few seconds"},
		{5 * time.Second, "about 5s"},
		{42 * time.Second, "about 40s"},
		{90 * time.Second, "about 2m"},
		{3 * time.Hour, "about 3.0h"},
	} {
		if got := roughly(tc.d); got != tc.want {
			t.Errorf("roughly(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
