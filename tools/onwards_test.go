package tools

import (
	"testing"
	"time"
)

// "X onwards" is from X's start on, with no end: carebook appointments
// --from X.
func TestRangeOnwards(t *testing.T) {
	now := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	for _, in := range []string{"2026-06-22 onwards", "from 2026-06-22 onwards", "06/22/2026 onward"} {
		r, err := ParseRange(in, now)
		if err != nil || !r.From.Equal(time.Date(2026, 6, 22, 0, 0, 0, 0, time.UTC)) || !r.To.IsZero() {
			t.Errorf("%q: %+v, %v", in, r, err)
		}
	}
	if r, err := ParseRange("today onwards", now); err != nil || !r.From.Equal(time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("today onwards: %+v, %v", r, err)
	}
	if _, err := ParseRange("someday onwards", now); err == nil {
		t.Error("someday onwards was read")
	}
}
