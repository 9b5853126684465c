package root

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

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
// Every flag that reads a number, a duration or true/false is tried on
// every command of the tree; every flag that takes a word from a list or a
// date needs a case below, so that a new one cannot slip.
func TestBadFlagValuesHaveOneWording(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	cases := map[string][]string{
		"patients --limit":          {"patients", "--limit", "-1"},
		"patients --status":         {"patients", "--status", "asleep"},
		"log --channel":             {"log", "P1000", "--channel", "fax", "--summary", "x"},
		"log --direction":           {"log", "P1000", "--channel", "call", "--direction", "sideways", "--summary", "x"},
		"log --at":                  {"log", "P1000", "--channel", "call", "--summary", "x", "--at", "someday"},
		"export --format":           {"export", "patients", "--format", "xml"},
		"export --profile":          {"export", "patients", "--profile", "everyone"},
		"demo --patients":           {"demo", "--patients", "0"},
		"appointments --status":     {"appointments", "--status", "asleep"},
		"appointments --from":       {"appointments", "--from", "someday"},
		"appointments --to":         {"appointments", "--to", "someday"},
		"appointments --when":       {"appointments", "--when", "someday"},
		"appointments --limit":      {"appointments", "--limit", "-1"},
		"interactions --channel":    {"interactions", "--channel", "fax"},
		"interactions --direction":  {"interactions", "--direction", "sideways"},
		"interactions --since":      {"interactions", "--since", "someday"},
		"interactions --when":       {"interactions", "--when", "someday"},
		"interactions --limit":      {"interactions", "--limit", "-1"},
		"task list --due":           {"task", "list", "--due", "someday"},
		"task add --due":            {"task", "add", "P1000", "call back", "--due", "someday"},
		"task done --log":           {"task", "done", "1", "--log", "fax", "left a message"},
		"audit log --since":         {"audit", "log", "--since", "someday"},
		"audit log --until":         {"audit", "log", "--until", "someday"},
		"audit disclosures --since": {"audit", "disclosures", "--since", "someday"},
		"audit disclosures --until": {"audit", "disclosures", "--until", "someday"},
		"audit export --since":      {"audit", "export", "--since", "someday"},
		"staff add --role":          {"staff", "add", "Ana", "--role", "boss"},
		"patient edit --status":     {"patient", "edit", "P1000", "--status", "asleep"},
		"consent --source":          {"consent", "P1000", "marketing", "off", "--source", "pigeon"},
		"consent --at":              {"consent", "P1000", "marketing", "off", "--source", "phone", "--at", "someday"},
		"report --from":             {"report", "--from", "someday", "--to", "2026-01-31", "--json"},
		"report --to":               {"report", "--from", "2026-01-01", "--to", "someday", "--json"},
		"report --month":            {"report", "--month", "Maytember", "--json"},
	}
	ios, _, _, _ := cmdutil.Test()
	root := NewCmdRoot(&cmdutil.Factory{IOStreams: ios, Getenv: func(string) string { return "" }})
	dates := []string{"at", "since", "until", "from", "to", "when", "due", "month"}
	// export --to is who receives the export, not a day.
	notDates := []string{"export --to"}
	for _, c := range leaves(root) {
		path := strings.Fields(c.CommandPath())[1:]
		c.LocalFlags().VisitAll(func(fl *pflag.Flag) {
			key := strings.Join(path, " ") + " --" + fl.Name
			switch typ := fl.Value.Type(); {
			case typ != "string":
				// pflag refuses these while parsing, before anything runs.
				if _, ok := cases[key]; !ok && typ != "stringSlice" && typ != "stringArray" {
					cases[key+"=abc"] = append(slices.Clone(path), "--"+fl.Name+"=abc")
				}
			case slices.Contains(dates, fl.Name) && !slices.Contains(notDates, key):
				if _, ok := cases[key]; !ok {
					t.Errorf("%s takes a date: add a bad value for it here", key)
				}
			default:
				_, completed := c.GetFlagCompletionFunc(fl.Name)
				_, ok := cases[key]
				if completed && !ok && !vocabularyFlags[fl.Name] {
					t.Errorf("%s takes a word from a list: add a bad value for it here", key)
				}
			}
		})
	}
	for key, args := range cases {
		flag, value, _ := strings.Cut(key[strings.LastIndex(key, "--")+2:], "=")
		if value == "" {
			i := slices.Index(args, "--"+flag)
			value = args[i+1]
		}
		o := p.run("", false, args...)
		want := `invalid value "` + value + `" for --` + flag + ": use "
		if o.code != 2 || !strings.HasPrefix(o.stderr, want) {
			t.Errorf("carebook %s: exit %d, stderr %q; want 2 and %q…", strings.Join(args, " "), o.code, o.stderr, want)
		}
	}
}

// vocabularyFlags take a name the practice's records hold (a provider, a
// tag, an MRN): one nobody has is not a mistake of the flag's form but of
// the data, refused with exit 1 as an unknown tag is, and said without the
// model's field names.
var vocabularyFlags = map[string]bool{"patient": true, "mrn": true, "tag": true, "provider": true, "type": true, "staff": true, "assign": true, "assigned": true, "user": true}

func TestUnknownNamesInFlagsAreDataErrors(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"appointments", "--provider", "Dr. Nobody"}, `there is no provider "Dr. Nobody" (known: Dr. Alvarez, Dr. Kim, Dr. Okafor, Dr. Patel)`},
		{[]string{"appointments", "--type", "massage"}, `there is no appointment type "massage" (known: annual-physical,`},
	} {
		o := p.run("", false, tc.args...)
		if o.code != 1 || !strings.HasPrefix(o.stderr, tc.want) || strings.Contains(o.stderr, "appointments.") {
			t.Errorf("carebook %s: exit %d, stderr %q; want 1 and %q", strings.Join(tc.args, " "), o.code, o.stderr, tc.want)
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
