package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/carebook/carebook/agent"
)

// Execute runs the command line. A usage mistake comes back as a
// *FlagError that names the command it is about, so that ExitCode points
// at that command's own help.
func Execute(ctx context.Context, root *cobra.Command) error {
	c, err := root.ExecuteContextC(ctx)
	if err == nil {
		return nil
	}
	var fe *FlagError
	if !errors.As(err, &fe) && isCobraUsageError(err) {
		fe = &FlagError{Err: err}
		err = fe
	}
	if fe != nil && fe.Command == "" && c != nil {
		fe.Command = c.CommandPath()
	}
	return err
}

// FlagErrorFunc is the root's: every flag mistake is a usage error, and a
// value the flag cannot take is said in BadFlag's words.
func FlagErrorFunc(c *cobra.Command, err error) error {
	var bad *pflag.InvalidValueError
	if errors.As(err, &bad) {
		err = BadFlag(bad.GetFlag().Name, bad.GetValue(), kindOf(bad.GetFlag().Value.Type()))
	}
	var fe *FlagError
	if !errors.As(err, &fe) {
		fe = &FlagError{Err: err}
	}
	fe.Command = c.CommandPath()
	return fe
}

// kindOf says what a flag of pflag's type takes.
func kindOf(typ string) string {
	switch {
	case strings.HasPrefix(typ, "int"), strings.HasPrefix(typ, "uint"):
		return "a whole number"
	case strings.HasPrefix(typ, "float"):
		return "a number"
	case typ == "bool":
		return "true or false"
	case typ == "duration":
		return "a duration like 10m or 1h30m"
	}
	return "a " + typ
}

// Args checks a command's arguments and says what they are when they are
// wrong: "show needs a PATIENT: an MRN, email or name". what names them
// ("a PATIENT: an MRN, email or name"); max < 0 is no limit.
func Args(min, max int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		name := strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
		switch {
		case len(args) < min:
			return &FlagError{Err: fmt.Errorf("%s needs %s", name, what), Command: c.CommandPath()}
		case max == 0 && len(args) > 0:
			return &FlagError{Err: fmt.Errorf("%s takes no arguments", name), Command: c.CommandPath()}
		case max >= 0 && len(args) > max:
			return &FlagError{Err: fmt.Errorf("%s takes %s, not %d; put a name with spaces in quotes", name, Plural(max, "argument", "arguments"), len(args)), Command: c.CommandPath()}
		}
		return nil
	}
}

// SuggestSubcommands makes every command that has subcommands refuse a
// word that is none of them, with the nearest ("did you mean add?"), and
// exit 2: cobra would print the help and exit 0 for `tag ad vip P1000`.
// A group without a command of its own still shows its help when given
// nothing.
func SuggestSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		SuggestSubcommands(sub)
	}
	if !c.HasSubCommands() {
		return
	}
	c.SuggestionsMinimumDistance = 2
	c.Args = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %s", args[0], c.CommandPath())
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return &FlagError{Err: errors.New(msg), Command: c.CommandPath()}
	}
	if !c.Runnable() {
		c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	}
}

// AddModelFlags gives a command that asks the model --model and
// --ollama-host. Only those commands have them: on any other command they
// would be accepted and do nothing.
func AddModelFlags(c *cobra.Command, f *Factory) {
	c.Flags().StringVar(&f.OllamaHostFlag, "ollama-host", f.OllamaHostFlag, "Ollama address (default $CAREBOOK_OLLAMA_HOST, $OLLAMA_HOST, else http://127.0.0.1:11434)")
	c.Flags().StringVar(&f.ModelFlag, "model", f.ModelFlag, "Ollama model (default $CAREBOOK_MODEL, else "+agent.DefaultModel+")")
}
