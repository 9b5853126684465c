// Package askcmd is `carebook ask`: one plain-language request.
package askcmd

import (
	"context"
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/present"
	"github.com/carebook/carebook/cmd/session"
)

// Options holds the ask command's dependencies and flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)

	Request string
	Yes     bool
	DryRun  bool
	JSON    bool
}

// NewCmdAsk builds `carebook ask`.
func NewCmdAsk(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Backend: f.ExistingBackend}
	cmd := &cobra.Command{
		Use:   `ask "REQUEST"`,
		Short: "Do one plain-language request",
		Long: `Turn one plain-language request into one action with the local Ollama model,
show what it will do, and do it. A change needs --yes, or a y/N answer on a
terminal. The model sees the request, today's date and the practice's tags,
providers and cities, never a patient's record.`,
		Example: `  carebook ask "how many patients have diabetes"
  carebook ask "tag everyone who no-showed in the last 6 months as no-show-risk"
  carebook ask "log a call with P1000: confirmed Thursday" --yes
  carebook ask "who has a birthday in June" --json`,
		Args: cmdutil.Args(1, -1, "a REQUEST in plain language, in quotes"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Request = strings.TrimSpace(strings.Join(args, " "))
			if opts.Request == "" {
				return cmdutil.FlagErrorf("the request is empty")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show the action and its preview; do nothing")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the action and the result as JSON")
	cmdutil.AddModelFlags(cmd, f)
	return cmd
}

// Run decides and runs the request.
func Run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	s := &session.Session{IO: opts.IO, Backend: b, Channel: cmdutil.ChannelAsk}
	_, err = s.Ask(ctx, opts.Request, session.Options{
		Options: present.Options{Yes: opts.Yes, DryRun: opts.DryRun, JSON: opts.JSON, WithAction: true},
	})
	var msg *backend.MessageError
	switch {
	case errors.As(err, &msg):
		// The sentence is printed already; the exit code says it was not done.
		return cmdutil.ErrSilent
	case err != nil && opts.JSON:
		cmdutil.WriteJSON(opts.IO.Out, present.ActionAndResult{Error: err.Error()})
	}
	return err
}
