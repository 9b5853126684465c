package replcmd

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/chzyer/readline"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/store"
)

// completer completes what the slash commands take, where they take it:
// the commands, add/remove/list after /tag, a tag name after /tag add and
// --tag, channels in /log, statuses after --status, and patients (MRNs
// for a word with a digit, else names) wherever a PATIENT goes; in a
// plain-language request, tags and names. What it inserts is what the
// command accepts: a name needs no quotes.
//
// Tags are loaded on the first Tab and again after anything that may have
// changed them. Names and MRNs are asked of the backend for what was typed
// (two characters at least, at most 50 patients, each lookup audited),
// never all loaded into the session.
type completer struct {
	b backend.Reader

	mu     sync.Mutex
	loaded bool
	tags   []string
}

func (c *completer) forget() {
	c.mu.Lock()
	c.loaded = false
	c.mu.Unlock()
}

func (c *completer) complete(kind, prefix string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out, _ := c.b.Complete(ctx, backend.CompleteRequest{Channel: cmdutil.ChannelREPL, Kind: kind, Prefix: prefix})
	return out
}

func (c *completer) tagNames() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		if tags := c.complete(backend.CompleteTags, ""); tags != nil {
			c.tags, c.loaded = tags, true
		}
	}
	return c.tags
}

// Do implements readline.AutoCompleter: it returns what to insert at the
// cursor for each candidate, and how much of the line before the cursor
// the candidates continue.
func (c *completer) Do(line []rune, pos int) ([][]rune, int) {
	head := string(line[:pos])
	start := strings.LastIndexFunc(head, unicode.IsSpace) + 1
	word := head[start:]
	fields := strings.Fields(head[:start])
	if len(fields) == 0 {
		if strings.HasPrefix(word, "/") {
			var names []string
			for _, cmd := range slashCommands {
				names = append(names, cmd.name)
			}
			return suffixes(names, word), len([]rune(word))
		}
		return c.request(head, word)
	}
	if !strings.HasPrefix(fields[0], "/") {
		return c.request(head, word)
	}
	prev := fields[len(fields)-1]
	args := fields[1:]
	switch {
	case prev == "--tag":
		return suffixes(c.tagNames(), strings.ToLower(word)), len([]rune(word))
	case prev == "--status" && fields[0] == "/appointments":
		return suffixes(appointmentStatusNames(), word), len([]rune(word))
	case prev == "--status":
		return suffixes(statusNames(), word), len([]rune(word))
	case prev == "--channel":
		return suffixes(channelNames(), word), len([]rune(word))
	case prev == "--direction":
		return suffixes([]string{"inbound", "outbound"}, word), len([]rune(word))
	case strings.HasPrefix(word, "-"):
		return nil, 0
	}
	switch fields[0] {
	case "/tag":
		switch {
		case len(args) == 0:
			return suffixes([]string{"add", "remove", "list"}, word), len([]rune(word))
		case len(args) == 1 && (args[0] == "add" || args[0] == "remove"):
			return suffixes(c.tagNames(), strings.ToLower(word)), len([]rune(word))
		case args[0] == "add" || args[0] == "remove":
			return c.patients(head, word, 2)
		}
	case "/show", "/patients", "/appointments", "/interactions":
		return c.patients(head, word, 0)
	case "/log":
		// After a patient, the channel; a name may still be going on.
		var out [][]rune
		if len(args) > 0 {
			out = suffixes(channelNames(), strings.ToLower(word))
		}
		patients, n := c.patients(head, word, 0)
		if len(patients) > 0 && (len(out) == 0 || word != "") {
			return append(out, patients...), n
		}
		return out, len([]rune(word))
	}
	return nil, 0
}

// request completes in a plain-language request: tags and names.
func (c *completer) request(head, word string) ([][]rune, int) {
	var out [][]rune
	if word != "" {
		out = suffixes(c.tagNames(), strings.ToLower(word))
	}
	names, n := c.patients(head, word, 0)
	if len(names) > 0 {
		return append(out, names...), n
	}
	return out, len([]rune(word))
}

// patients completes a PATIENT: an MRN for a word with a digit in it,
// else a name of one or two words (or since an opening quote). skip is
// how many words after the command are not part of names (/tag add TAG).
func (c *completer) patients(head, word string, skip int) ([][]rune, int) {
	if strings.ContainsAny(word, "0123456789") {
		return suffixes(c.complete(backend.CompleteMRNs, word), word), len([]rune(word))
	}
	for _, typed := range nameCandidates(head, skip) {
		var hits [][]rune
		for _, n := range c.complete(backend.CompleteNames, typed) {
			// The backend matched ignoring case and accents; what is
			// inserted is the rest of the name after what was typed.
			if r := []rune(n); len(r) > len([]rune(typed)) {
				hits = append(hits, append(r[len([]rune(typed)):], ' '))
			}
		}
		if len(hits) > 0 {
			return hits, len([]rune(word))
		}
	}
	return nil, len([]rune(word))
}

// nameCandidates is what may be the start of a name, longest first: the
// words since an opening quote, the last two words, the last one. The
// command and skip words after it are never part of a name.
func nameCandidates(head string, skip int) []string {
	if strings.HasSuffix(head, " ") {
		return nil
	}
	var out []string
	if i := strings.LastIndexAny(head, `"`); i >= 0 && strings.Count(head[i:], " ") <= 3 {
		out = append(out, head[i+1:])
	}
	fields := strings.Fields(head)
	if strings.HasPrefix(head, "/") {
		fields = fields[min(len(fields), 1+skip):]
	}
	if len(fields) >= 2 {
		out = append(out, strings.Join(fields[len(fields)-2:], " "))
	}
	if len(fields) >= 1 && len([]rune(fields[len(fields)-1])) >= 2 {
		out = append(out, fields[len(fields)-1])
	}
	return out
}

// suffixes are the rest of each candidate that begins with typed (case
// ignored: p10 completes P1002), each followed by a space, as readline
// inserts them.
func suffixes(candidates []string, typed string) [][]rune {
	var out [][]rune
	for _, c := range candidates {
		if len(c) < len(typed) || !strings.EqualFold(c[:len(typed)], typed) {
			continue
		}
		rest := c[len(typed):] + " "
		if !slices.ContainsFunc(out, func(r []rune) bool { return string(r) == rest }) {
			out = append(out, []rune(rest))
		}
	}
	return out
}

func statusNames() []string {
	out := make([]string, len(store.Statuses))
	for i, s := range store.Statuses {
		out[i] = string(s)
	}
	return out
}

func appointmentStatusNames() []string {
	out := make([]string, len(store.AppointmentStatuses))
	for i, s := range store.AppointmentStatuses {
		out[i] = string(s)
	}
	return out
}

var _ readline.AutoCompleter = (*completer)(nil)
