package replcmd

import (
	"slices"
	"strings"
	"testing"
)

// What a person types after a slash command, and the command line it runs.
func TestSlashArgv(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"/show Jon Smyth", []string{"show", "Jon Smyth"}},
		{`/show "Jon Smyth"`, []string{"show", "Jon Smyth"}},
		{"/show Sean O'Brien", []string{"show", "Sean O'Brien"}},
		{"/show John Smith --born 1990", []string{"show", "John Smith", "--born", "1990"}},
		{"/tag add vip Jon Smyth", []string{"tag", "add", "vip", "Jon Smyth"}},
		{"/tag remove newsletter P1000 P1002", []string{"tag", "remove", "newsletter", "P1000", "P1002"}},
		{"/tag add flu-2026 Jon Smyth, Ann Lee ann@example.org", []string{"tag", "add", "flu-2026", "Jon Smyth", "Ann Lee", "ann@example.org"}},
		{"/tag add vip --yes P1000", []string{"tag", "add", "vip", "P1000", "--yes"}},
		{"/tag list", []string{"tag", "list"}},
		{"/log P1002 call Left a voicemail", []string{"log", "P1002", "--channel", "call", "--summary", "Left a voicemail"}},
		{"/log Jon Smyth sms Sent the call-back number", []string{"log", "Jon Smyth", "--channel", "sms", "--summary", "Sent the call-back number"}},
		{"/log Jon Smyth CALL note to self", []string{"log", "Jon Smyth", "--channel", "call", "--summary", "note to self"}},
		{`/log "Mary Call" call Back at 3`, []string{"log", "Mary Call", "--channel", "call", "--summary", "Back at 3"}},
		{`/log Jon Smyth --channel call --summary "Left a message"`, []string{"log", "Jon Smyth", "--channel", "call", "--summary", "Left a message"}},
		{"/log Jon Smyth call", []string{"log", "Jon Smyth", "--channel", "call"}},
		{"/patients smith --tag diabetes --limit 3", []string{"patients", "smith", "--tag", "diabetes", "--limit", "3"}},
		{"/tags", []string{"tag", "list"}},
		{"/appointments", []string{"appointments"}},
		{"/appointments tomorrow", []string{"appointments", "--when", "tomorrow"}},
		{`/appointments next week --provider "Dr. Kim"`, []string{"appointments", "--when", "next week", "--provider", "Dr. Kim"}},
		{"/appointments Jon Smyth --status scheduled", []string{"appointments", "--patient", "Jon Smyth", "--status", "scheduled", "--when", "upcoming"}},
		{"/appointments P1002 --when upcoming", []string{"appointments", "--patient", "P1002", "--when", "upcoming"}},
		{`/appointments "June" --today`, []string{"appointments", "--patient", "June", "--today"}},
		{"/interactions", []string{"interactions"}},
		{"/interactions last week --channel call", []string{"interactions", "--when", "last week", "--channel", "call"}},
		{"/interactions Sean O'Brien --json", []string{"interactions", "--patient", "Sean O'Brien", "--json"}},
	} {
		name, rest, _ := strings.Cut(tc.line, " ")
		cmd, _ := lookupSlash(name)
		words, flags, err := parseSlash(rest)
		if err != nil {
			t.Fatalf("%s: %v", tc.line, err)
		}
		got, err := cmd.argv(words, flags)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
	for _, line := range []string{"/log P1002", "/log call me", "/tag"} {
		name, rest, _ := strings.Cut(line, " ")
		cmd, _ := lookupSlash(name)
		words, flags, _ := parseSlash(rest)
		if _, err := cmd.argv(words, flags); err == nil {
			t.Errorf("%s: no error", line)
		}
	}
}

// Tab completes the new commands' names, and an appointment's statuses
// (not a patient's) after /appointments --status.
func TestCompleteScheduleCommands(t *testing.T) {
	c := &completer{}
	for _, tc := range []struct{ line, want string }{
		{"/appo", "intments "},
		{"/inter", "actions "},
		{"/appointments --status sch", "eduled "},
		{"/patients --status ina", "ctive "},
	} {
		got, _ := c.Do([]rune(tc.line), len([]rune(tc.line)))
		if len(got) != 1 || string(got[0]) != tc.want {
			t.Errorf("%q: %q, want %q", tc.line, got, tc.want)
		}
	}
}
