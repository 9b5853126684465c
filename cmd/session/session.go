// Package session runs plain-language requests: the model's decision, the
// choice between namesakes, the preview, the confirmation, the execution and
// the audit row. ask, run and the REPL are thin shells around it.
package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/carebook/carebook/agent"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/present"
	"github.com/carebook/carebook/guard"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Decider turns a request into a prepared plan: the agent, in production.
type Decider interface {
	Decide(ctx context.Context, vocab store.Vocabulary, env tools.Env, request string, prepare agent.PrepareFunc) (*agent.Decision, error)
}

// Session holds what every request of one ask, run or REPL needs.
type Session struct {
	IO      *cmdutil.IOStreams
	Open    present.Opener
	Now     func() time.Time
	Decider Decider
	Channel string
	// Choose asks the user which of several patients a request meant and
	// returns the index, or an error to give up. Nil means fail with the
	// candidates, as ask and run do.
	Choose func(ctx context.Context, candidates []store.Patient) (int, error)
}

// Options for one request.
type Options struct {
	present.Options
	// DryRun shows the action and its preview and executes nothing.
	DryRun bool
}

// Outcome is what became of one request.
type Outcome struct {
	Decision *agent.Decision
	Plan     *tools.Plan
	Result   *tools.Result
}

// MessageError is a clarify or refuse answer: the model's sentence for the
// user. Nothing was done.
type MessageError struct {
	Tool    string
	Message string
}

func (e *MessageError) Error() string { return e.Message }

// Ask decides request with the model and runs the result.
func (s *Session) Ask(ctx context.Context, request string, opts Options) (*Outcome, error) {
	out := &Outcome{}
	audit := store.AuditEntry{Channel: s.Channel, Request: tools.AuditText([]byte(request))}
	env := cmdutil.Env(s.Now())
	// The database is open to read the vocabulary and to prepare, never
	// while the model thinks or a person chooses: other carebook processes
	// get in between.
	st, release, err := s.Open(ctx)
	if err != nil {
		return out, err
	}
	vocab, err := st.Reader().Vocabulary(ctx)
	release()
	if err != nil {
		return out, err
	}
	prepare := func(ctx context.Context, a tools.Action) (*tools.Plan, error) {
		st, release, err := s.Open(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
		return tools.Prepare(ctx, st, a, env)
	}
	d, err := s.Decider.Decide(ctx, vocab, env, request, prepare)
	out.Decision = d
	if d != nil {
		audit.Model, audit.ModelDigest = d.Model, d.ModelDigest
		audit.Action = d.Action.JSON()
		if d.Action.Tool == "" {
			audit.Action = ""
		}
	}
	var amb *tools.AmbiguousError
	if errors.As(err, &amb) && s.Choose != nil && d != nil {
		var plan *tools.Plan
		plan, err = s.choose(ctx, prepare, d.Action, amb)
		if err == nil {
			d.Plan = plan
			audit.Action = plan.Action.JSON()
		}
	}
	if err != nil {
		// The failure is audited without its message when that could name
		// patients (the candidates of an ambiguous name).
		msg := err.Error()
		if errors.As(err, &amb) {
			msg = fmt.Sprintf("ambiguous patient reference: %d candidates", len(amb.Candidates))
		}
		outcome := store.OutcomeError
		if errors.Is(err, context.Canceled) {
			outcome, msg = store.OutcomeRefused, "cancelled by the user"
		}
		// A request the guard stopped never left the machine; its audit
		// row says so and carries no request text, only the rule.
		var refused *guard.RefusedError
		var cloud *agent.CloudModelError
		if errors.As(err, &refused) || errors.As(err, &cloud) {
			outcome = store.OutcomeRefused
			audit.Request, audit.Action = "", ""
		}
		if lerr := logOutcome(context.WithoutCancel(ctx), s.Open, audit, outcome, msg); lerr != nil {
			err = errors.Join(err, lerr)
		}
		return out, err
	}
	out.Plan = d.Plan
	return out, s.execute(ctx, out, audit, opts)
}

// RunActionLine parses one line of `run FILE.jsonl` and runs it. A line
// that is no action is audited too, as it was written (bytes that are not
// UTF-8 replaced), so that the log holds every attempt.
func (s *Session) RunActionLine(ctx context.Context, line []byte, opts Options) (*Outcome, error) {
	action, err := tools.ParseAction(line)
	if err != nil {
		audit := store.AuditEntry{Channel: s.Channel, Action: tools.AuditText(line)}
		if lerr := logOutcome(context.WithoutCancel(ctx), s.Open, audit, store.OutcomeError, err.Error()); lerr != nil {
			err = errors.Join(err, lerr)
		}
		return &Outcome{}, err
	}
	return s.RunAction(ctx, action, opts)
}

// RunAction runs an action given as JSON, as `run FILE.jsonl` does.
func (s *Session) RunAction(ctx context.Context, action tools.Action, opts Options) (*Outcome, error) {
	out := &Outcome{}
	audit := store.AuditEntry{Channel: s.Channel, Action: action.JSON()}
	st, release, err := s.Open(ctx)
	if err != nil {
		return out, err
	}
	plan, err := tools.Prepare(ctx, st, action, cmdutil.Env(s.Now()))
	if err != nil {
		msg := err.Error()
		var amb *tools.AmbiguousError
		if errors.As(err, &amb) {
			msg = fmt.Sprintf("ambiguous patient reference: %d candidates", len(amb.Candidates))
		}
		if lerr := st.LogOutcome(context.WithoutCancel(ctx), audit, nil, 0, store.OutcomeError, msg); lerr != nil {
			err = errors.Join(err, lerr)
		}
		release()
		return out, err
	}
	release()
	out.Plan = plan
	return out, s.execute(ctx, out, audit, opts)
}

func (s *Session) execute(ctx context.Context, out *Outcome, audit store.AuditEntry, opts Options) error {
	plan := out.Plan
	if opts.DryRun {
		return s.dryRun(plan, opts)
	}
	res, err := present.Run(ctx, s.IO, s.Open, plan, audit, opts.Options)
	out.Result = res
	if err != nil {
		return err
	}
	if plan.Tool == tools.ToolClarify || plan.Tool == tools.ToolRefuse {
		return &MessageError{Tool: plan.Tool, Message: plan.Message}
	}
	return nil
}

// dryRun shows what would happen. A query is not run, so no patient data is
// read and nothing needs auditing.
func (s *Session) dryRun(plan *tools.Plan, opts Options) error {
	if opts.Quiet {
		return nil
	}
	if opts.JSON {
		return cmdutil.WriteJSON(s.IO.Out, struct {
			Action  tools.Action `json:"action"`
			Write   bool         `json:"write"`
			Summary string       `json:"summary"`
			Targets int          `json:"targets,omitempty"`
			DryRun  bool         `json:"dry_run"`
		}{plan.Action, plan.Write, plan.Summary, plan.TargetCount, true})
	}
	fmt.Fprintln(s.IO.Out, plan.Action.JSON())
	if plan.Write {
		present.Preview(s.IO.Out, plan)
	} else {
		fmt.Fprintln(s.IO.Out, plan.Summary+".")
	}
	fmt.Fprintln(s.IO.Out, "Dry run: nothing was read or written.")
	return nil
}

// choose lets the user pick one of several patients, then prepares the
// action again naming that patient by MRN.
func (s *Session) choose(ctx context.Context, prepare agent.PrepareFunc, action tools.Action, amb *tools.AmbiguousError) (*tools.Plan, error) {
	i, err := s.Choose(ctx, amb.Candidates)
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= len(amb.Candidates) {
		return nil, fmt.Errorf("no patient chosen; nothing was done")
	}
	var args map[string]json.RawMessage
	if err := json.Unmarshal(action.Args, &args); err != nil {
		return nil, fmt.Errorf("re-read the action: %w", err)
	}
	ref, _ := json.Marshal(tools.PatientRef{Match: amb.Candidates[i].MRN})
	args["patient"] = ref
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("rewrite the action: %w", err)
	}
	return prepare(ctx, tools.Action{Tool: action.Tool, Args: raw})
}

func logOutcome(ctx context.Context, open present.Opener, audit store.AuditEntry, outcome store.Outcome, msg string) error {
	st, release, err := open(ctx)
	if err != nil {
		return err
	}
	defer release()
	return st.LogOutcome(ctx, audit, nil, 0, outcome, msg)
}
