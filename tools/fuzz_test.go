package tools_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// actionSeeds are the seed corpus of FuzzAction: the gold actions of the
// eval, then shapes a hostile batch file or a confused model might write.
func actionSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	f, err := os.Open("testdata/dev_gold.jsonl")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var seeds [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var gold struct {
			Action json.RawMessage `json:"action"`
		}
		if err := json.Unmarshal(sc.Bytes(), &gold); err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, gold.Action)
	}
	for _, s := range []string{
		`{"tool":"tag","args":{"tag":"recall-due","patient":{"match":"John Smith","born":"1958"}}}`,
		`{"tool":"tag","args":{"tag":"vip","patient":{"match":"P1"},"where":{"status":"active"}}}`,
		`{"tool":"untag","args":{"tag":"vip","where":{}}}`,
		`{"tool":"log_interaction","args":{"patient":{"match":"john@example.org"},"channel":"call","summary":"ok","at":"9999-12-31"}}`,
		`{"tool":"log_interaction","args":{"where":{"city":"montreal"},"channel":"letter","direction":"inbound","summary":"x","at":"100000 years ago"}}`,
		`{"tool":"query","args":{"entity":"patients","where":{"city":"Sprinfield","language":"Français"}}}`,
		`{"tool":"query","args":{"entity":"appointments","appointments":{"provider":"dr. kim","type":"FOLLOW-UP","when":"last 100000 weeks"}}}`,
		`{"tool":"query","args":{"entity":"interactions","interactions":{"channel":"sms","when":"between 2026-05-01 and 2026-04-01"}}}`,
		`{"tool":"query","args":{"entity":"patients","output":"groups","group_by":"age_band","where":{"older_than":130,"younger_than":0}}}`,
		`{"tool":"query","args":{"entity":"patients","limit":-1,"where":{"birthday_month":13,"phone_ends_with":"x"}}}`,
		`{"tool":"query","args":{"entity":"patients","limit":1e309}}`,
		`{"tool":"query","args":{"entity":"patients","where":{"name":"smith","Name":"jones"}}}`,
		`{"tool":"query","tool":"tag","args":{}}`,
		`{"tool":"query","args":{"entity":"patients","where":{"name":"\u0000","email":"\ud800"}}}`,
		`{"tool":"tag","args":{"tag":"vip","patient":{"match":"\u0000"}}}`,
		`{"tool":"query","args":{"entity":"patients","where":{"mrns":["P1","' OR 1=1 --"],"tags_any":["diabetes"],"tags_none":["nope"]}}}`,
		`{"tool":"clarify","args":{"message":"Which one?"}}`,
		`{"tool":"refuse","args":null}`,
		`{"tool":"nope"}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`,
		"{\"tool\":\"query\",\"args\":{\"entity\":\"patients\",\"where\":{\"name\":\"Sm\xffith\"}}}",
		`{"tool":"query","args":{"entity":"patients","where":{"has_appointment":{"status":"no-show","when":"last 6 months"},"no_interaction":{"channel":"call","when":"upcoming"}}}}`,
		`{"tool":"add_patient","args":{"first_name":"John","last_name":"Smith","dob":"1958-03-02"}}`,
		`{"tool":"add_patient","args":{"first_name":"\u0000","last_name":"x","dob":"02/30/2026","mrn":"P1000"}}`,
		`{"tool":"update_patient","args":{"patient":{"match":"P1000"},"email":"a@@b","phone":"5.55E+09","status":"gone"}}`,
		`{"tool":"update_patient","args":{"patient":{"match":"P1000"}}}`,
		`{"tool":"set_consent","args":{"patient":{"match":"P1000"},"marketing":false,"source":"fax","at":"tomorrow"}}`,
		`{"tool":"add_task","args":{"text":"x","where":{},"due":"in 100000 years"}}`,
		`{"tool":"add_task","args":{"text":"recall","where":{"tags":["diabetes"]},"due":"next blursday","assign_to":"\u0007"}}`,
		`{"tool":"complete_task","args":{"id":-5,"channel":"call"}}`,
		`{"tool":"complete_task","args":{"patient":{"match":"P1000"},"task":"lab"}}`,
		`{"tool":"reopen_task","args":{"id":9223372036854775807}}`,
		`{"tool":"merge_patients","args":{"keep":{"match":"P1000"},"other":{"match":"P1000"}}}`,
		`{"tool":"query","args":{"entity":"tasks","tasks":{"due":"this week","overdue":true,"status":"done","mine":true,"assigned_to":"x"}}}`,
		`{"tool":"query","args":{"entity":"tasks","output":"groups","group_by":"kind","where":{"has_open_task":false}}}`,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// FuzzAction feeds any bytes through ParseAction and then Prepare against a
// real practice, and runs the reads that pass. Whatever the input, nothing
// panics, every failure is the user's or the model's to fix (a
// ValidationError, NotFoundError or AmbiguousError), never a raw database
// error; a ValidationError is one line, and an accepted action records as
// UTF-8 text in the audit log.
func FuzzAction(f *testing.F) {
	for _, s := range actionSeeds(f) {
		f.Add(s)
	}
	st := seedStore(f)
	env := tools.Env{Now: testNow, Staff: "fuzz"}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := tools.ParseAction(data)
		if err != nil {
			checkUserError(t, data, err)
			return
		}
		if s := a.JSON(); !utf8.ValidString(s) {
			t.Errorf("%q: the audit text %q is not UTF-8", data, s)
		}
		plan, err := tools.Prepare(context.Background(), st.Reader(), a, env)
		if err != nil {
			checkUserError(t, data, err)
			return
		}
		// A read that passed validation must run: a database error here is
		// a check Prepare missed. Writes are left alone, to keep the
		// practice the same from one input to the next.
		if !plan.Write {
			if _, err := plan.Execute(context.Background(), st, store.AuditEntry{Channel: "fuzz"}); err != nil {
				t.Fatalf("%q: prepared, then failed to run: %v", data, err)
			}
		}
	})
}

func checkUserError(t *testing.T, data []byte, err error) {
	t.Helper()
	if !tools.IsUserError(err) {
		t.Fatalf("%q: %T %v; want a ValidationError, NotFoundError or AmbiguousError", data, err, err)
	}
	var invalid *tools.ValidationError
	if errors.As(err, &invalid) {
		if msg := invalid.Msg; msg == "" || strings.ContainsAny(msg, "\n\r") || !utf8.ValidString(msg) {
			t.Errorf("%q: the message %q is not one line of text", data, msg)
		}
	}
}

// FuzzDates reads any text as a range and as a day, at any "now" within a
// century of today, in a zone with daylight saving time. Nothing panics; a
// range ends after it starts; every date is between 1900 and 2200.
func FuzzDates(f *testing.F) {
	for _, s := range append(append([]string{}, tools.RangeForms...), tools.DateForms...) {
		f.Add(s, int64(0))
	}
	for _, s := range []string{
		"last 100000 years", "100000 days ago", "next 100000 months", "past week", "this week", "last year",
		"since January", "before 1/2/2006", "after May 2026", "between 2026-05-01 and 2026-04-01",
		"2026-05-01 to now", "from today until tomorrow", "2026", "1899", "2201", "0001-01-01", "9999-12-31",
		"2026-03-08T02:30:00-05:00", "31/12/2026", "Feb 30 2026", "a year ago", "twelve months ago", "in the next 2 weeks",
		"", "   ", "since since since", "after after 2026", "2026-05-01 – 2026-05-31.",
	} {
		f.Add(s, int64(86400*45))
	}
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		loc = time.FixedZone("EST", -5*3600)
	}
	base := time.Date(2026, 3, 8, 1, 30, 0, 0, loc) // an hour before clocks go forward
	const century = 100 * 365 * 86400
	f.Fuzz(func(t *testing.T, s string, offset int64) {
		now := base.Add(time.Duration(offset%century) * time.Second)
		if r, err := tools.ParseRange(s, now); err == nil {
			if !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
				t.Errorf("ParseRange(%q) at %v = %v to %v: ends before it starts", s, now, r.From, r.To)
			}
			var bounds []time.Time
			if !r.From.IsZero() {
				bounds = append(bounds, r.From)
			}
			if !r.To.IsZero() {
				// To is exclusive: the last instant in the range is just before.
				bounds = append(bounds, r.To.Add(-time.Nanosecond))
			}
			for _, b := range bounds {
				if b.Year() < 1900 || b.Year() > 2200 {
					t.Errorf("ParseRange(%q) at %v = %v to %v: out of 1900-2200", s, now, r.From, r.To)
				}
			}
		} else if strings.ContainsAny(err.Error(), "\n\r") {
			t.Errorf("ParseRange(%q): %q is not one line", s, err)
		}
		if p, err := tools.ParsePoint(s, now); err == nil {
			if p.Year() < 1900 || p.Year() > 2200 {
				t.Errorf("ParsePoint(%q) at %v = %v: out of 1900-2200", s, now, p)
			}
		} else if strings.ContainsAny(err.Error(), "\n\r") {
			t.Errorf("ParsePoint(%q): %q is not one line", s, err)
		}
	})
}
