package replcmd

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// slashCommand is one of the REPL's commands. argv turns what follows the
// command's name, as a person types it (no quotes needed around a name),
// into the carebook command line that does the work; nil means the REPL
// does it itself.
type slashCommand struct {
	name, args, help string
	argv             func(words []word, flags []string) ([]string, error)
}

// slashCommands are the REPL's commands, in the order /help lists them.
var slashCommands = []slashCommand{
	{"/patients", "[NAME] [--tag T] [--status S] [--limit N]", "list or search patients", patientsArgv},
	{"/show", "PATIENT", "one patient's record", showArgv},
	{"/tag", "add|remove TAG PATIENT[, PATIENT…]", "add or remove a tag", tagArgv},
	{"/tags", "", "list tags with counts", func([]word, []string) ([]string, error) { return []string{"tag", "list"}, nil }},
	{"/appointments", `[WHEN|PATIENT] [--provider "Dr. Kim"] [--type T] [--status S]`, "the schedule: today's, a range's (tomorrow, next week) or a patient's to come", appointmentsArgv},
	{"/interactions", "[WHEN|PATIENT] [--channel C] [--staff S] [--since DAY]", "the contact log, newest first", interactionsArgv},
	{"/log", "PATIENT CHANNEL SUMMARY", "log a call, text, email… (" + strings.Join(channelNames(), ", ") + ")", logArgv},
	{"/clear", "", "clear the screen", nil},
	{"/help", "", "this list", nil},
	{"/bye", "", "leave (or /quit, exit, Ctrl-D)", nil},
}

// leaving are the lines that end the session.
var leaving = []string{"/bye", "/quit", "/exit", "exit", "quit", `\q`}

func lookupSlash(name string) (slashCommand, bool) {
	i := slices.IndexFunc(slashCommands, func(c slashCommand) bool { return c.name == name })
	if i < 0 {
		return slashCommand{}, false
	}
	return slashCommands[i], true
}

// word is one word of a slash command's line; a quoted one may hold
// spaces.
type word struct {
	text   string
	quoted bool
}

// parseSlash splits the rest of a slash command's line into its words and
// its flags (--tag vip, --yes). Quotes group, as in a shell, but are never
// needed: the commands put the words of a name back together.
func parseSlash(rest string) (words []word, flags []string, err error) {
	toks, err := splitArgs(rest)
	if err != nil {
		return nil, nil, err
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.quoted || !strings.HasPrefix(t.text, "-") || len(t.text) < 2 {
			words = append(words, t)
			continue
		}
		flags = append(flags, t.text)
		if !strings.Contains(t.text, "=") && !boolFlag(t.text) && i+1 < len(toks) {
			i++
			flags = append(flags, toks[i].text)
		}
	}
	return words, flags, nil
}

// boolFlag names the flags of the slash commands that take no value.
func boolFlag(f string) bool {
	return slices.Contains([]string{"-y", "--yes", "--json", "--dry-run", "-h", "--help", "--today"}, f)
}

// joined is the words as one: a name typed as "Jon Smyth".
func joined(words []word) string {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = w.text
	}
	return strings.Join(parts, " ")
}

func patientsArgv(words []word, flags []string) ([]string, error) {
	argv := []string{"patients"}
	if len(words) > 0 {
		argv = append(argv, joined(words))
	}
	return append(argv, flags...), nil
}

func showArgv(words []word, flags []string) ([]string, error) {
	argv := []string{"show"}
	if len(words) > 0 {
		argv = append(argv, joined(words))
	}
	return append(argv, flags...), nil
}

// appointmentsArgv: /appointments, /appointments tomorrow, /appointments
// next week --provider "Dr. Kim", /appointments Jon Smyth. The words are a
// range when they read as one, else the patient.
func appointmentsArgv(words []word, flags []string) ([]string, error) {
	rangeFlags := []string{"--when", "--from", "--to", "--today"}
	argv := whenOrPatient("appointments", words, flags, rangeFlags...)
	if hasFlag(argv, "--patient") && !hasFlag(argv, rangeFlags...) {
		// Asked for by name at the desk, it is "when is she coming",
		// not "is she coming today" (the command's own default).
		argv = append(argv, "--when", "upcoming")
	}
	return argv, nil
}

// interactionsArgv: /interactions, /interactions last week --channel call,
// /interactions Jon Smyth.
func interactionsArgv(words []word, flags []string) ([]string, error) {
	return whenOrPatient("interactions", words, flags, "--when", "--since"), nil
}

// whenOrPatient is the command line of a listing that takes a range or a
// patient as flags: the words become --when when they read as a range and
// no range flag was given, and --patient otherwise. A quoted word is a
// name, never a range, for the patient whose name reads like a date.
func whenOrPatient(command string, words []word, flags []string, rangeFlags ...string) []string {
	argv := []string{command}
	if len(words) > 0 {
		text := joined(words)
		flag := "--patient"
		if !slices.ContainsFunc(words, func(w word) bool { return w.quoted }) && !hasFlag(flags, rangeFlags...) && isRange(text) {
			flag = "--when"
		}
		argv = append(argv, flag, text)
	}
	return append(argv, flags...)
}

// isRange reports whether s reads as a time range. The command works the
// range out again with its own clock; this only asks whether it is one.
func isRange(s string) bool {
	_, err := tools.ParseRange(s, time.Now())
	return err == nil
}

func hasFlag(flags []string, names ...string) bool {
	return slices.ContainsFunc(flags, func(f string) bool {
		name, _, _ := strings.Cut(f, "=")
		return slices.Contains(names, name)
	})
}

// tagArgv: /tag add vip Jon Smyth, /tag remove newsletter P1000 P1002,
// /tag add flu-2026 Jon Smyth, Ann Lee.
func tagArgv(words []word, flags []string) ([]string, error) {
	if len(words) == 0 {
		return nil, fmt.Errorf("/tag needs add, remove or list: /tag add vip Jon Smyth")
	}
	verb := strings.ToLower(words[0].text)
	argv := []string{"tag", verb}
	if verb == "add" || verb == "remove" {
		if len(words) > 1 {
			argv = append(argv, words[1].text)
		}
		if len(words) > 2 {
			argv = append(argv, patientList(words[2:])...)
		}
	} else {
		for _, w := range words[1:] {
			argv = append(argv, w.text)
		}
	}
	return append(argv, flags...), nil
}

// patientList reads several patients from words: an MRN or an email (a
// word with a digit or an @) stands alone, a quoted name too, and other
// words run together into a name until a comma or one of those: "P1000
// Jon Smyth, Ann Lee" is three patients.
func patientList(words []word) []string {
	var out []string
	var name []string
	flush := func() {
		if len(name) > 0 {
			out = append(out, strings.Join(name, " "))
			name = nil
		}
	}
	for _, w := range words {
		text := w.text
		if w.quoted || strings.ContainsAny(text, "@0123456789") {
			flush()
			if t := strings.TrimSuffix(text, ","); t != "" {
				out = append(out, t)
			}
			continue
		}
		for _, part := range strings.SplitAfter(text, ",") {
			if t := strings.TrimSuffix(part, ","); t != "" {
				name = append(name, t)
			}
			if strings.HasSuffix(part, ",") {
				flush()
			}
		}
	}
	flush()
	return out
}

// logArgv: /log P1002 call Left a voicemail. The patient is the words
// before the first channel, the summary the words after it. With
// --channel given, every word is the patient.
func logArgv(words []word, flags []string) ([]string, error) {
	if slices.ContainsFunc(flags, func(f string) bool { return f == "--channel" || strings.HasPrefix(f, "--channel=") }) {
		argv := []string{"log"}
		if len(words) > 0 {
			argv = append(argv, joined(words))
		}
		return append(argv, flags...), nil
	}
	at := slices.IndexFunc(words, func(w word) bool { return !w.quoted && isChannel(w.text) })
	if at == 0 && len(words) > 1 {
		// "/log call …": a channel cannot be the patient; look further.
		if next := slices.IndexFunc(words[1:], func(w word) bool { return !w.quoted && isChannel(w.text) }); next >= 0 {
			at = next + 1
		}
	}
	if at < 1 {
		return nil, fmt.Errorf("/log needs a PATIENT, a CHANNEL (%s) and what happened: /log P1002 call Left a voicemail", strings.Join(channelNames(), ", "))
	}
	argv := []string{"log", joined(words[:at]), "--channel", strings.ToLower(words[at].text)}
	if summary := joined(words[at+1:]); summary != "" {
		argv = append(argv, "--summary", summary)
	}
	return append(argv, flags...), nil
}

func isChannel(s string) bool { return store.Channel(strings.ToLower(s)).Valid() }

func channelNames() []string {
	out := make([]string, len(store.Channels))
	for i, c := range store.Channels {
		out[i] = string(c)
	}
	return out
}

// splitArgs splits a line much as a shell would: spaces separate, quotes
// at the start of a word group, a backslash escapes.
func splitArgs(s string) ([]word, error) {
	var args []word
	var cur strings.Builder
	inArg, quoted, escaped := false, false, false
	var quote rune
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inArg = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case (r == '"' || r == '\'') && !inArg:
			// A quote opens a group only at the start of a word: the
			// apostrophe in O'Brien is a letter.
			quote, inArg, quoted = r, true, true
		case unicode.IsSpace(r):
			if inArg {
				args = append(args, word{cur.String(), quoted})
				cur.Reset()
				inArg, quoted = false, false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("a quote is not closed")
	}
	if inArg {
		args = append(args, word{cur.String(), quoted})
	}
	return args, nil
}
