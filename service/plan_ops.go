package service

import (
	"context"
	"errors"
	"slices"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Prepare validates and resolves an action, and executes it when it may.
func (v *view) Prepare(ctx context.Context, req backend.PrepareRequest) (*backend.Reply, error) {
	entry := v.entry(req.Channel)
	entry.Request = tools.AuditText([]byte(req.Request))
	action := req.Action
	if req.Line != "" {
		entry.Action = tools.AuditText([]byte(req.Line))
		var err error
		if action, err = tools.ParseAction([]byte(req.Line)); err != nil {
			return nil, v.failedRead(ctx, entry, err, nil)
		}
	}
	entry.Action = tools.AuditText([]byte(action.JSON()))
	if err := v.allowTool(ctx, action.Tool, req.Channel); err != nil {
		return nil, err
	}
	return v.prepareAction(ctx, entry, action, req.Yes, req.DryRun, nil)
}

// prepareAction prepares action and goes on as finish says. A write that
// is confirmed already is prepared and executed in one unit of work.
func (v *view) prepareAction(ctx context.Context, entry store.AuditEntry, action tools.Action, yes, dryRun bool, reply *backend.Reply) (*backend.Reply, error) {
	env := v.env()
	if yes && !dryRun && isWrite(action.Tool) {
		// Prepared beside everyone else; only the execution takes the
		// write lane, and it selects the patients again in its
		// transaction. Should they have changed in between (another
		// write came first), it is prepared again in the lane.
		// (In direct mode, where every unit opens the file, it is all one
		// unit.)
		prepare := func(st *store.Store) (*tools.Plan, error) {
			plan, err := tools.Prepare(ctx, st.Reader(), action, env)
			if err != nil {
				return nil, v.failed(ctx, st, entry, err, &pending{decided: &action, env: env})
			}
			return plan, nil
		}
		var plan *tools.Plan
		if v.s.cfg.DB.Lent() {
			err := v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
				var err error
				plan, err = prepare(st)
				return err
			})
			if err != nil {
				return nil, err
			}
			if plan.NoOp {
				// Nothing to write: the preview is the read it was.
				return v.finish(ctx, entry, plan, env, yes, dryRun, reply)
			}
		}
		var out *backend.Reply
		var noop *tools.Plan
		err := v.s.cfg.DB.Write(ctx, func(st *store.Store) error {
			var err error
			if plan != nil {
				out, err = v.execute(ctx, st, entry, plan, reply)
				if !errors.Is(err, tools.ErrSelectionChanged) {
					return err
				}
			}
			if plan, err = prepare(st); err != nil {
				return err
			}
			if plan.NoOp {
				noop = plan
				return nil
			}
			out, err = v.execute(ctx, st, entry, plan, reply)
			return err
		})
		if err == nil && noop != nil {
			// Nothing to write: the preview is the read it was.
			return v.finish(ctx, entry, noop, env, yes, dryRun, reply)
		}
		return out, err
	}
	var plan *tools.Plan
	err := v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
		var err error
		if plan, err = tools.Prepare(ctx, st.Reader(), action, env); err != nil {
			return v.failed(ctx, st, entry, err, &pending{decided: &action, env: env})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v.finish(ctx, entry, plan, env, yes, dryRun, reply)
}

// isWrite says whether a tool changes the database, before it is prepared.
func isWrite(tool string) bool { return tools.Writes(tool) }

// allowTool refuses a tool the caller's role does not include: merging
// two patients' records is for managers (see managerOps).
func (v *view) allowTool(ctx context.Context, tool, channel string) error {
	if tool == tools.ToolMergePatients {
		return v.allow(ctx, "merge", channel)
	}
	return nil
}

// finish goes on with a prepared plan: a read is executed (unless a dry
// run); a write is executed when confirmed in advance, else its preview is
// audited (it shows patients) and it waits, under an ID, for Execute.
func (v *view) finish(ctx context.Context, entry store.AuditEntry, plan *tools.Plan, env tools.Env, yes, dryRun bool, reply *backend.Reply) (*backend.Reply, error) {
	entry.Action = plan.Action.JSON()
	if reply == nil {
		reply = &backend.Reply{}
	}
	pv := plan.View()
	reply.Plan = &pv
	// A write that would change nothing is not executed, and nothing
	// waits for a confirmation: the person is told so.
	noop := plan.Write && plan.NoOp
	switch {
	case !plan.Write && !dryRun:
		var out *backend.Reply
		err := v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
			var err error
			out, err = v.execute(ctx, st, entry, plan, reply)
			return err
		})
		return out, err
	case plan.Write && yes && !dryRun && !noop:
		var out *backend.Reply
		err := v.s.cfg.DB.Write(ctx, func(st *store.Store) error {
			var err error
			out, err = v.execute(ctx, st, entry, plan, reply)
			return err
		})
		return out, err
	}
	// A preview that names patients, or a request the model read, is a
	// read of its own.
	if len(plan.Targets) > 0 || entry.Request != "" || noop {
		msg := "previewed; waiting for confirmation"
		switch {
		case noop:
			msg = "previewed; nothing to do"
		case dryRun:
			msg = "previewed; dry run, nothing done"
		}
		err := v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
			return st.LogOutcome(ctx, entry, plan.TargetIDs(), plan.TargetCount, store.OutcomePreviewed, msg)
		})
		if err != nil {
			return nil, err
		}
	}
	if plan.Write && !dryRun && !noop {
		pv.ID, reply.Expires = v.s.plans.put(&pending{plan: plan, entry: entry, env: env, owner: v.c.Session})
		reply.Plan = &pv
	}
	return reply, nil
}

// execute runs plan on st and words its result for the caller.
func (v *view) execute(ctx context.Context, st *store.Store, entry store.AuditEntry, plan *tools.Plan, reply *backend.Reply) (*backend.Reply, error) {
	if reply == nil {
		reply = &backend.Reply{}
	}
	pv := plan.View()
	reply.Plan = &pv
	res, err := plan.Execute(ctx, st, entry)
	if err != nil {
		return nil, err
	}
	rj, err := resultJSON(ctx, st.Reader(), res)
	if err != nil {
		return nil, err
	}
	reply.Result = rj
	return reply, nil
}

// resultJSON names the patients a write changed by MRN.
func resultJSON(ctx context.Context, r store.Reader, res *tools.Result) (*tools.ResultJSON, error) {
	var changed []string
	if len(res.Changed) > 0 {
		mrns, err := r.MRNs(ctx, res.Changed)
		if err != nil {
			return nil, err
		}
		for _, id := range res.Changed {
			changed = append(changed, mrns[id])
		}
	}
	rj := res.JSON(changed)
	return &rj, nil
}

// Ask decides a request with the model, with no database held while it
// thinks, and goes on as Prepare does.
func (v *view) Ask(ctx context.Context, req backend.AskRequest, progress func(backend.Progress)) (*backend.Reply, error) {
	entry := v.entry(req.Channel)
	entry.Request = tools.AuditText([]byte(req.Request))
	report := func(p backend.Progress) {
		if progress != nil {
			progress(p)
		}
	}
	dec, err := v.s.deciderFor()
	if err != nil {
		return nil, v.failedRead(ctx, entry, err, nil)
	}
	env := v.env()
	var vocab store.Vocabulary
	if err := v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
		var err error
		vocab, err = st.Reader().Vocabulary(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	report(backend.Progress{Stage: "asking " + dec.Model()})
	prepare := func(ctx context.Context, a tools.Action) (*tools.Plan, error) {
		report(backend.Progress{Stage: "checking the answer"})
		// PrepareForModel refuses the plain commands' tools (adding and
		// merging patients, renaming and deleting tags), whatever a model
		// answers: the schema is no security boundary.
		var plan *tools.Plan
		err := v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
			var err error
			plan, err = tools.PrepareForModel(ctx, st.Reader(), a, env)
			return err
		})
		return plan, err
	}
	d, err := dec.Decide(ctx, vocab, env, req.Request, prepare)
	reply := &backend.Reply{}
	if d != nil {
		entry.Model, entry.ModelDigest = d.Model, d.ModelDigest
		reply.Model, reply.Digest = d.Model, d.ModelDigest
		if d.Action.Tool != "" {
			entry.Action = tools.AuditText([]byte(d.Action.JSON()))
		}
	}
	if err != nil {
		var decided *pending
		if d != nil && d.Action.Tool != "" {
			decided = &pending{decided: &d.Action, env: env}
		}
		return nil, v.failedRead(ctx, entry, err, decided)
	}
	return v.finish(ctx, entry, d.Plan, env, req.Yes, req.DryRun, reply)
}

// Choose continues an ambiguous request with the candidate chosen.
func (v *view) Choose(ctx context.Context, req backend.ChooseRequest) (*backend.Reply, error) {
	p, err := v.s.plans.take(req.PlanID, v.c.Session)
	if err != nil {
		return nil, err
	}
	if p.decided == nil {
		return nil, errPlanGone
	}
	if !slices.ContainsFunc(p.candidates, func(c store.Patient) bool { return c.MRN == req.MRN }) {
		return nil, &tools.ValidationError{Msg: "that patient is not one of those the request matched; choose one of them, or run the request again"}
	}
	action, err := tools.WithPatient(*p.decided, req.MRN)
	if err != nil {
		return nil, err
	}
	reply := &backend.Reply{Model: p.entry.Model, Digest: p.entry.ModelDigest}
	return v.prepareAction(ctx, p.entry, action, req.Yes, req.DryRun, reply)
}

// Execute runs a plan once, or records that it was declined.
func (v *view) Execute(ctx context.Context, req backend.ExecuteRequest, progress func(backend.Progress)) (*backend.Reply, error) {
	p, err := v.s.plans.take(req.PlanID, v.c.Session)
	if err != nil {
		return nil, err
	}
	if p.plan == nil && p.forget == nil {
		return nil, errPlanGone
	}
	if !req.Confirmed {
		return nil, v.decline(ctx, p, req.Reason)
	}
	if p.forget != nil {
		return v.forget(ctx, p, progress)
	}
	var out *backend.Reply
	err = v.s.cfg.DB.Write(ctx, func(st *store.Store) error {
		var err error
		out, err = v.execute(ctx, st, p.entry, p.plan, nil)
		return err
	})
	return out, err
}

// decline records that a previewed plan was not confirmed, naming the
// patients its preview showed.
func (v *view) decline(ctx context.Context, p *pending, reason string) error {
	out := backend.ErrDeclined
	msg := "not confirmed; nothing was written"
	if reason == backend.KindNeedsConfirm {
		out, msg = backend.ErrNeedsConfirmation, "needs --yes without a terminal; nothing was written"
	}
	var ids []int64
	if p.plan != nil {
		ids = p.plan.TargetIDs()
	} else if p.forget != nil {
		ids = []int64{p.forget.ID}
	}
	err := v.s.cfg.DB.Read(context.WithoutCancel(ctx), func(st *store.Store) error {
		return st.LogOutcome(context.WithoutCancel(ctx), p.entry, ids, 0, store.OutcomeRefused, msg)
	})
	if err != nil {
		return errors.Join(out, err)
	}
	return out
}
