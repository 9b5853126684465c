package reportcmd

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/service"
	"github.com/carebook/carebook/store"
)

var now = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestPeriodOf(t *testing.T) {
	cases := []struct {
		name     string
		opts     Options
		from, to time.Time
	}{
		{"default: last month", Options{}, day(2026, 5, 1), day(2026, 6, 1)},
		{"a month", Options{Month: "2026-02"}, day(2026, 2, 1), day(2026, 3, 1)},
		{"a quarter, last day included", Options{From: "2026-01-01", To: "03/31/2026"}, day(2026, 1, 1), day(2026, 4, 1)},
		{"relative days", Options{From: "30 days ago", To: "yesterday"}, day(2026, 5, 16), day(2026, 6, 15)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := periodOf(&c.opts, now)
			if err != nil {
				t.Fatal(err)
			}
			if !p.From.Equal(c.from) || !p.To.Equal(c.to) {
				t.Errorf("period %v to %v, want %v to %v", p.From, p.To, c.from, c.to)
			}
		})
	}
	for _, bad := range []Options{{Month: "May"}, {From: "someday", To: "2026-01-01"}, {From: "2026-02-01", To: "2026-01-01"}} {
		var flagErr *cmdutil.FlagError
		if _, err := periodOf(&bad, now); !errors.As(err, &flagErr) {
			t.Errorf("%+v: %v, want a usage error", bad, err)
		}
	}
}

// An empty practice still makes a report: zeros, and rates with nothing
// to divide.
func TestRunJSONOnAnEmptyPractice(t *testing.T) {
	ios, _, out, _ := cmdutil.Test()
	path := filepath.Join(t.TempDir(), "p.duckdb")
	opts := &Options{
		IO:    ios,
		Clock: func() (func() time.Time, error) { return func() time.Time { return now }, nil },
		Backend: func(context.Context) (backend.Backend, error) {
			return service.Local(path, store.Options{Now: func() time.Time { return now }}, true), nil
		},
		JSON: true,
	}
	if err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Summary []struct {
			Key   string
			Value *float64
		}
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, f := range rep.Summary {
		rate := f.Key == "no_show_rate" || f.Key == "consenting_today"
		if rate != (f.Value == nil) || (!rate && *f.Value != 0) {
			t.Errorf("%s on an empty practice: %v", f.Key, f.Value)
		}
	}
}
