package cmdutil

import (
	"strings"
	"time"

	"github.com/carebook/carebook/tools"
)

// DayUse and RangeUse say what a day or a range flag takes, in BadFlag's
// "use …".
var (
	DayUse   = `a date like 2026-06-15, today, yesterday or "90 days ago"`
	RangeUse = "a range like " + quoteForms(tools.RangeForms)
)

// CheckDay refuses a value the tools would not read as a day, before the
// command reaches the backend: there the mistake would come back as the
// model's field ("interactions.when") and exit 1, not as the flag the
// person gave. The clock only decides whether a form reads at all, so the
// machine's is as good as the practice's.
func CheckDay(flag, value string) error {
	if value == "" {
		return nil
	}
	if _, err := tools.ParsePoint(value, time.Now()); err != nil {
		return BadFlag(flag, value, DayUse)
	}
	return nil
}

// CheckRange is CheckDay for a flag that takes a range ("next week").
func CheckRange(flag, value string) error {
	if value == "" {
		return nil
	}
	if _, err := tools.ParseRange(value, time.Now()); err != nil {
		return BadFlag(flag, value, RangeUse)
	}
	return nil
}

// OneOf refuses a value that is none of vals, case aside.
func OneOf[T ~string](flag, value string, vals []T) error {
	if value == "" {
		return nil
	}
	for _, v := range vals {
		if strings.EqualFold(string(v), value) {
			return nil
		}
	}
	return BadFlag(flag, value, "one of "+Values(vals))
}

func quoteForms(forms []string) string {
	q := make([]string, len(forms))
	for i, f := range forms {
		q[i] = `"` + f + `"`
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
