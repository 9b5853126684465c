// Package session is the terminal side of a plain-language request: it
// sends the request to the backend (which asks the model with nothing
// held), offers the numbered choice between namesakes where a person can
// answer, and hands the reply to present for the preview, the confirmation
// and the result. ask, run and the REPL are thin shells around it.
package session

import (
	"context"
	"errors"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/present"
	"github.com/carebook/carebook/tools"
)

// Session holds what every request of one ask, run or REPL needs.
type Session struct {
	IO      *cmdutil.IOStreams
	Backend backend.Planner
	Channel string
	// Progress, when set, is told what the backend is doing too.
	Progress func(backend.Progress)
	// Status, when set, leads the spinner's line: run says which line of
	// how many it is at.
	Status string
}

// Options for one request.
type Options struct {
	present.Options
}

// Ask decides request with the model and takes the reply to its end.
// While the model thinks (10 s and more on a laptop), a terminal shows a
// spinner with the model's name, the time so far and "Ctrl-C to stop".
func (s *Session) Ask(ctx context.Context, request string, opts Options) (*backend.Reply, error) {
	spin := s.IO.StartSpinner(s.Status, "asking the model")
	reply, err := s.Backend.Ask(ctx, backend.AskRequest{Channel: s.Channel, Request: request, Yes: opts.Yes, DryRun: opts.DryRun},
		func(p backend.Progress) {
			spin.Stage(p.Stage)
			if s.Progress != nil {
				s.Progress(p)
			}
		})
	spin.Stop()
	if err != nil {
		reply, err = s.choose(ctx, err, opts)
		if err != nil {
			return nil, err
		}
	}
	return present.Run(ctx, s.IO, s.Backend, reply, opts.Options)
}

// Prepare runs an action given as JSON (no model), as the plain commands
// and the REPL's slash commands do.
func (s *Session) Prepare(ctx context.Context, action tools.Action, opts Options) (*backend.Reply, error) {
	reply, err := s.Backend.Prepare(ctx, backend.PrepareRequest{Channel: s.Channel, Action: action, Yes: opts.Yes, DryRun: opts.DryRun})
	if err != nil {
		reply, err = s.choose(ctx, err, opts)
		if err != nil {
			return nil, err
		}
	}
	return present.Run(ctx, s.IO, s.Backend, reply, opts.Options)
}

// PrepareLine runs an action as written in a file (run FILE.jsonl on a
// terminal): the backend parses it, so that a bad line is audited too.
func (s *Session) PrepareLine(ctx context.Context, line string, opts Options) (*backend.Reply, error) {
	reply, err := s.Backend.Prepare(ctx, backend.PrepareRequest{Channel: s.Channel, Line: line, Yes: opts.Yes, DryRun: opts.DryRun})
	if err != nil {
		reply, err = s.choose(ctx, err, opts)
		if err != nil {
			return nil, err
		}
	}
	return present.Run(ctx, s.IO, s.Backend, reply, opts.Options)
}

// choose offers the numbered choice for an ambiguous patient where a
// person can answer (IO.ChoosePatient, set by the REPL), and continues the
// request with the one chosen. Elsewhere (ask, run) the request fails with
// the candidates.
func (s *Session) choose(ctx context.Context, err error, opts Options) (*backend.Reply, error) {
	var amb *backend.AmbiguousError
	if !errors.As(err, &amb) || amb.PlanID == "" || s.IO.ChoosePatient == nil {
		return nil, err
	}
	i, cerr := s.IO.ChoosePatient(ctx, amb.Candidates)
	if cerr != nil {
		return nil, cerr
	}
	if i < 0 || i >= len(amb.Candidates) {
		return nil, errors.New("no patient chosen; nothing was done")
	}
	return s.Backend.Choose(ctx, backend.ChooseRequest{PlanID: amb.PlanID, MRN: amb.Candidates[i].MRN, Yes: opts.Yes, DryRun: opts.DryRun})
}
