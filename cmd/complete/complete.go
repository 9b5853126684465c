// Package complete is shell completion for the plain commands (carebook
// completion bash|zsh|fish|powershell): tag names, MRNs and flag values,
// through cobra's ValidArgsFunction and RegisterFlagCompletionFunc.
// Tags and MRNs come from backend.Complete, so that MRNs offered are an
// audited read of at most backend.MaxCompletions patients, and nothing is
// offered for a prefix shorter than two characters. Patient names are not
// offered to the shell: a name has spaces, which shells split, and the
// REPL completes them already.
package complete

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
)

// Open opens the backend a completion asks.
type Open func(context.Context) (backend.Backend, error)

const none = cobra.ShellCompDirectiveNoFileComp

// Tags completes the tags in use.
func Tags(open Open) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return ask(cmd.Context(), open, backend.CompleteTags, prefix)
	}
}

// MRNs completes patients' MRNs (an audited read; two characters at least).
func MRNs(open Open) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return ask(cmd.Context(), open, backend.CompleteMRNs, prefix)
	}
}

// Providers completes the providers on the schedule.
func Providers(open Open) cobra.CompletionFunc { return vocabulary(open, backend.CompleteProviders) }

// AppointmentTypes completes the appointment types on the schedule.
func AppointmentTypes(open Open) cobra.CompletionFunc { return vocabulary(open, backend.CompleteTypes) }

// Staff completes staff members' names and the names calls were logged
// under.
func Staff(open Open) cobra.CompletionFunc { return vocabulary(open, backend.CompleteStaff) }

func vocabulary(open Open, kind string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return ask(cmd.Context(), open, kind, prefix)
	}
}

// Each completes the i-th argument with fs[i], and nothing past the last
// (consent PATIENT marketing on|off). A nil one offers nothing.
func Each(fs ...cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= len(fs) || fs[len(args)] == nil {
			return nil, none
		}
		return fs[len(args)](cmd, args, prefix)
	}
}

// First completes the first argument with first and every other with rest
// (tag add TAG PATIENT...: a tag, then MRNs). Either may be nil: nothing.
func First(first, rest cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		f := rest
		if len(args) == 0 {
			f = first
		}
		if f == nil {
			return nil, none
		}
		return f(cmd, args, prefix)
	}
}

// Only completes the first n arguments with f, and nothing after.
func Only(n int, f cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= n {
			return nil, none
		}
		return f(cmd, args, prefix)
	}
}

// Values completes a fixed set (channels, statuses, roles, formats).
func Values[T ~string](vals ...T) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, v := range vals {
			if strings.HasPrefix(string(v), strings.ToLower(prefix)) {
				out = append(out, string(v))
			}
		}
		return out, none
	}
}

// Flag registers f for flag name on cmd. A flag that does not exist is a
// programming error, caught by the tests that build the tree.
func Flag(cmd *cobra.Command, name string, f cobra.CompletionFunc) {
	if err := cmd.RegisterFlagCompletionFunc(name, f); err != nil {
		panic(err)
	}
}

// ask is one completion: nothing at all when the backend cannot be
// reached, since a shell has nowhere to show why.
func ask(ctx context.Context, open Open, kind, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if ctx == nil {
		ctx = context.Background()
	}
	b, err := open(ctx)
	if err != nil {
		return nil, none
	}
	got, err := b.Complete(ctx, backend.CompleteRequest{Channel: backend.ChannelCLI, Kind: kind, Prefix: prefix})
	if err != nil {
		return nil, none
	}
	return got, none
}
