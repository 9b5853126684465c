// Package evalcmd is `carebook eval`: plain-language cases run against a
// fresh copy of a fixture practice, scored against their expected outcomes.
package evalcmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/agent"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/eval"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Options holds the eval command's dependencies and flags.
type Options struct {
	IO *cmdutil.IOStreams
	// NewDecider builds the model-backed decider; nil when only --actions
	// may be used.
	NewDecider func(context.Context) (eval.Decider, error)

	CasesPath   string
	FixtureDir  string
	ActionsPath string
	JSON        bool
}

// NewCmdEval builds `carebook eval`.
func NewCmdEval(f *cmdutil.Factory, newDecider func(context.Context) (eval.Decider, error), runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, NewDecider: newDecider}
	cmd := &cobra.Command{
		Use:   "eval CASES.jsonl --fixture DIR",
		Short: "Score plain-language requests against expected outcomes",
		Long: `Run each case against a fresh database imported from the fixture (patients,
appointments, interactions), with "now" fixed at 2026-06-15T10:00:00Z, and compare
the outcome with the case's expectation. The last line is "score: N/M".

With --actions, each case's action comes from a JSON Lines file of
{"id": …, "action": …} instead of the model: gold actions, which check the
executor alone, or another reader's answers. An action that does not parse or
validate counts as a model's answer that failed validation twice would; a case
with no action fails.`,
		Example: `  carebook eval eval/testdata/dev.jsonl --fixture eval/testdata/clinic
  carebook eval eval/testdata/dev.jsonl --fixture eval/testdata/clinic --actions tools/testdata/dev_gold.jsonl`,
		Args: cmdutil.Args(1, 1, "a FILE of cases (.jsonl)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.CasesPath = args[0]
			if opts.FixtureDir == "" {
				return cmdutil.FlagErrorf("--fixture DIR is required")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.FixtureDir, "fixture", "", "folder with patients.csv, appointments.csv and interactions.csv")
	cmd.Flags().StringVar(&opts.ActionsPath, "actions", "", "JSON Lines of {id, action} to execute instead of asking the model")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print per-case results as JSON")
	cmdutil.AddModelFlags(cmd, f)
	return cmd
}

// Run scores the cases.
func Run(ctx context.Context, opts *Options) error {
	cases, err := eval.LoadCases(opts.CasesPath)
	if err != nil {
		return err
	}
	var decider eval.Decider
	if opts.ActionsPath != "" {
		if decider, err = eval.LoadActions(opts.ActionsPath); err != nil {
			return err
		}
	} else {
		if opts.NewDecider == nil {
			return cmdutil.FlagErrorf("this build has no model; use --actions")
		}
		if decider, err = opts.NewDecider(ctx); err != nil {
			return err
		}
	}
	results, err := eval.Run(ctx, cases, decider, eval.Options{FixtureDir: opts.FixtureDir})
	if err != nil {
		return err
	}
	pass, total := eval.Score(results)
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, struct {
			Cases []eval.CaseResult `json:"cases"`
			Pass  int               `json:"pass"`
			Total int               `json:"total"`
		}{results, pass, total})
	}
	for _, r := range results {
		if r.Pass {
			fmt.Fprintf(opts.IO.Out, "pass  %s\n", r.ID)
			continue
		}
		fmt.Fprintf(opts.IO.Out, "FAIL  %s: %s\n", r.ID, r.Diff)
		if r.Action != "" {
			fmt.Fprintf(opts.IO.Out, "      action: %s\n", r.Action)
		}
	}
	fmt.Fprintf(opts.IO.Out, "score: %d/%d\n", pass, total)
	return nil
}

// AgentDecider asks the model, as `carebook ask` does.
type AgentDecider struct{ Agent *agent.Agent }

// Decide asks the model for the case's request.
func (a AgentDecider) Decide(ctx context.Context, st *store.Store, env tools.Env, c eval.Case) (*tools.Plan, error) {
	vocab, err := st.Reader().Vocabulary(ctx)
	if err != nil {
		return nil, err
	}
	d, err := a.Agent.Decide(ctx, vocab, env, c.Request, func(ctx context.Context, action tools.Action) (*tools.Plan, error) {
		return tools.PrepareForModel(ctx, st.Reader(), action, env)
	})
	if d == nil {
		return nil, err
	}
	return d.Plan, err
}
