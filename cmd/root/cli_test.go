package root

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/cmd/cmdutil"
)

// A mistyped command is a usage error (exit 2) that names the nearest
// command, never the help with exit 0.
func TestUnknownSubcommandSuggests(t *testing.T) {
	p := newPractice(t)
	p.mustRun("init")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"patiens"}, `unknown command "patiens" for carebook; did you mean patient or patients?`},
		{[]string{"tag", "ad", "vip", "P1000"}, `unknown command "ad" for carebook tag; did you mean add?`},
		{[]string{"audit", "verfy"}, "did you mean verify?"},
	} {
		o := p.run("", false, tc.args...)
		if o.code != 2 || !strings.Contains(o.stderr, tc.want) || o.stdout != "" {
			t.Errorf("carebook %s: exit %d, stdout %q, stderr %q; want 2 and %q", strings.Join(tc.args, " "), o.code, o.stdout, o.stderr, tc.want)
		}
	}
	// A group alone still shows its help.
	if o := p.run("", false, "tag"); o.code != 0 || !strings.Contains(o.stdout, "add") {
		t.Errorf("carebook tag: exit %d, %q", o.code, o.stdout)
	}
}

// A usage error says what the argument is and points at the command's own
// help.
func TestUsageErrorsNameTheArgumentAndTheHelp(t *testing.T) {
	p := newPractice(t)
	p.mustRun("init")
	for _, tc := range []struct {
		args       []string
		want, help string
	}{
		{[]string{"show"}, "show needs a PATIENT: an MRN, email or name", "carebook show --help"},
		{[]string{"show", "Jon", "Smyth"}, "put a name with spaces in quotes", "carebook show --help"},
		{[]string{"log", "--channel", "call", "--summary", "x"}, "log needs a PATIENT: an MRN, email or name", "carebook log --help"},
		{[]string{"tag", "add", "vip"}, "tag add needs a TAG and at least one PATIENT", "carebook tag add --help"},
		{[]string{"ask"}, "ask needs a REQUEST in plain language", "carebook ask --help"},
		{[]string{"run"}, "run needs a FILE", "carebook run --help"},
		{[]string{"patients", "--nosuch"}, "unknown flag: --nosuch", "carebook patients --help"},
	} {
		o := p.run("", false, tc.args...)
		if o.code != 2 || !strings.Contains(o.stderr, tc.want) || !strings.Contains(o.stderr, "Run '"+tc.help+"' for usage.") {
			t.Errorf("carebook %s: exit %d, stderr %q; want 2, %q and %q", strings.Join(tc.args, " "), o.code, o.stderr, tc.want, tc.help)
		}
	}
}

// Every command's arguments are checked in the one form, walked over the
// whole tree so that a new command cannot slip: too few or too many
// arguments say what they are ("tag rename needs the OLD tag and its NEW
// name"), never cobra's "accepts 2 arg(s)", and exit 2 with the command's
// own help. A leaf without a check would take any arguments and ignore
// them.
func TestArgumentCountsOnEveryCommand(t *testing.T) {
	p := newPractice(t)
	p.mustRun("init")
	ios, _, _, _ := cmdutil.Test()
	root := NewCmdRoot(&cmdutil.Factory{IOStreams: ios, Getenv: func(string) string { return "" }})
	checked := 0
	for _, c := range leaves(root) {
		path := strings.Fields(c.CommandPath())[1:]
		name := strings.Join(path, " ")
		if c.Args == nil {
			t.Errorf("%s has no Args check: it would take any arguments", name)
			continue
		}
		many := slices.Repeat([]string{"x"}, 9)
		for _, args := range [][]string{nil, many} {
			// Asked of the check alone first: a count it takes would run
			// the command (init, serve).
			if c.Args(c, args) == nil {
				continue
			}
			checked++
			o := p.run("", false, append(slices.Clone(path), args...)...)
			wantMsg := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + ` (needs |takes )`)
			if o.code != 2 || !wantMsg.MatchString(o.stderr) || strings.Contains(o.stderr, "arg(s)") ||
				!strings.Contains(o.stderr, "Run '"+c.CommandPath()+" --help' for usage.") {
				t.Errorf("carebook %s with %d arguments: exit %d, stderr %q; want 2, %q… and its help", name, len(args), o.code, o.stderr, name+" needs/takes")
			}
		}
	}
	if checked < 30 {
		t.Errorf("only %d argument counts refused over the tree; the walk missed commands", checked)
	}
}

// leaves is every command that runs, not a group of others.
func leaves(c *cobra.Command) []*cobra.Command {
	if !c.HasSubCommands() {
		return []*cobra.Command{c}
	}
	var out []*cobra.Command
	for _, sub := range c.Commands() {
		out = append(out, leaves(sub)...)
	}
	return out
}

// A value a flag cannot take exits 2 on every command, in one wording.
func TestBadFlagValuesHaveOneWording(t *testing.T) {
	p := newPractice(t)
	p.mustRun("init")
	for _, tc := range []struct {
		args        []string
		flag, value string
	}{
		{[]string{"patients", "--limit", "abc"}, "limit", "abc"},
		{[]string{"patients", "--limit", "-1"}, "limit", "-1"},
		{[]string{"patients", "--status", "asleep"}, "status", "asleep"},
		{[]string{"log", "P1000", "--channel", "fax", "--summary", "x"}, "channel", "fax"},
		{[]string{"log", "P1000", "--channel", "call", "--direction", "sideways", "--summary", "x"}, "direction", "sideways"},
		{[]string{"log", "P1000", "--channel", "call", "--summary", "x", "--at", "someday"}, "at", "someday"},
		{[]string{"export", "patients", "--format", "xml"}, "format", "xml"},
		{[]string{"demo", "--patients", "0"}, "patients", "0"},
		{[]string{"ask", "x", "--yes=maybe"}, "yes", "maybe"},
	} {
		o := p.run("", false, tc.args...)
		want := `invalid value "` + tc.value + `" for --` + tc.flag + ": use "
		if o.code != 2 || !strings.HasPrefix(o.stderr, want) {
			t.Errorf("carebook %s: exit %d, stderr %q; want 2 and %q…", strings.Join(tc.args, " "), o.code, o.stderr, want)
		}
	}
}

// --model and --ollama-host belong to the commands that ask the model.
func TestModelFlagsOnlyOnModelCommands(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	root := NewCmdRoot(&cmdutil.Factory{IOStreams: ios, Getenv: func(string) string { return "" }})
	want := []string{"carebook", "carebook ask", "carebook doctor", "carebook eval", "carebook repl", "carebook run"}
	var got []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		model, host := c.Flags().Lookup("model") != nil || c.InheritedFlags().Lookup("model") != nil,
			c.Flags().Lookup("ollama-host") != nil || c.InheritedFlags().Lookup("ollama-host") != nil
		if model != host {
			t.Errorf("%s has one of --model and --ollama-host without the other", c.CommandPath())
		}
		if model {
			got = append(got, c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("commands with --model: %v, want %v", got, want)
	}
	p := newPractice(t)
	p.mustRun("init")
	if o := p.run("", false, "patients", "--model", "x"); o.code != 2 || !strings.Contains(o.stderr, "unknown flag: --model") {
		t.Errorf("patients --model: exit %d, %q", o.code, o.stderr)
	}
}
