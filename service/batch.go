package service

import (
	"context"
	"errors"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Batch runs a file of actions. Consecutive writes confirmed in advance,
// and queries, are committed in groups (store.WriteEach): each line is
// prepared inside the group's transaction, so it sees the lines before it
// exactly as if they had committed alone, and has its own audit row; a
// failing line rolls the group back, and the group is replayed one line at
// a time, so that it changes nothing and the others still apply. Between
// groups the write lane is free: a batch interleaves with everyone else's
// requests.
func (v *view) Batch(ctx context.Context, req backend.BatchRequest, line func(backend.LineResult)) error {
	type parsed struct {
		backend.BatchLine
		action tools.Action
		err    error
	}
	lines := make([]parsed, len(req.Lines))
	for i, l := range req.Lines {
		lines[i].BatchLine = l
		lines[i].action, lines[i].err = tools.ParseAction([]byte(l.Action))
	}
	// Writes confirmed in advance, and the queries between them, share
	// group commits: a query's answer is read in the group's transaction
	// and its audit row commits with the group, before the answer leaves.
	groupable := func(p parsed) bool {
		if p.err != nil || req.DryRun {
			return false
		}
		return p.action.Tool == tools.ToolQuery || isWrite(p.action.Tool) && p.action.Tool != tools.ToolMergePatients && req.Yes
	}
	for i := 0; i < len(lines); {
		if err := ctx.Err(); err != nil {
			return err
		}
		if groupable(lines[i]) {
			j := i
			for j < len(lines) && j-i < v.s.cfg.GroupSize && groupable(lines[j]) {
				j++
			}
			var group []backend.BatchLine
			var actions []tools.Action
			for _, p := range lines[i:j] {
				group = append(group, p.BatchLine)
				actions = append(actions, p.action)
			}
			results, err := v.writeGroup(ctx, req.Channel, group, actions)
			if err != nil {
				return err
			}
			for _, r := range results {
				line(r)
				if r.Error != nil && req.StopOnError {
					return nil
				}
			}
			// A group that ran out of time leaves the rest for the next.
			i += len(results)
			continue
		}
		p := lines[i]
		r := backend.LineResult{Line: p.Line}
		entry := v.entry(req.Channel)
		entry.Action = tools.AuditText([]byte(p.Action))
		var err error
		switch {
		case p.err != nil:
			err = v.failedRead(ctx, entry, p.err, nil)
		case p.action.Tool == tools.ToolMergePatients && v.c.Role != backend.RoleManager:
			err = v.allowTool(ctx, p.action.Tool, req.Channel)
		case isWrite(p.action.Tool) && !req.Yes && !req.DryRun:
			// A batch is not interactive: a write needs --yes (or the
			// terminal side asks line by line through Prepare).
			err = v.failedRead(ctx, entry, backend.ErrNeedsConfirmation, nil)
		default:
			var reply *backend.Reply
			reply, err = v.prepareAction(ctx, entry, p.action, req.Yes, req.DryRun, nil)
			if reply != nil {
				r.Plan, r.Result = reply.Plan, reply.Result
			}
		}
		r.Error = backend.ToWire(err, Classify)
		line(r)
		if errors.Is(err, context.Canceled) {
			return err
		}
		if err != nil && req.StopOnError {
			return nil
		}
		i++
	}
	return nil
}

// writeGroup commits lines in one transaction where it can, for as long
// as the group budget allows: it returns the results of the lines it ran,
// the first ones.
func (v *view) writeGroup(ctx context.Context, channel string, lines []backend.BatchLine, actions []tools.Action) ([]backend.LineResult, error) {
	env := v.env()
	n := len(lines)
	plans := make([]*tools.Plan, n)
	results := make([]*tools.Result, n)
	units := make([]store.Unit, n)
	for k := range lines {
		entry := v.entry(channel)
		entry.Action = tools.AuditText([]byte(lines[k].Action))
		units[k] = store.Unit{Entry: entry, Fn: func(tx *store.Tx) error {
			plans[k], results[k] = nil, nil
			plan, err := tools.Prepare(ctx, tx.Reader, actions[k], env)
			if err != nil {
				return auditSafe(tx, err)
			}
			if !plan.Grouped() {
				return &tools.ValidationError{Msg: "this action cannot run in a batch"}
			}
			tx.SetAction(plan.Action.JSON())
			unit := plan.Unit(ctx, entry, &results[k])
			if err := unit.Fn(tx); err != nil {
				return err
			}
			plans[k] = plan
			return nil
		}}
	}
	var out []backend.LineResult
	err := v.s.cfg.DB.Write(ctx, func(st *store.Store) error {
		ran, errs := st.WriteGroup(ctx, units, v.s.cfg.GroupBudget)
		lines := lines[:ran]
		out = make([]backend.LineResult, ran)
		// Every patient the group changed, named by MRN in one query.
		var changed []int64
		for k := range lines {
			if errs[k] == nil {
				changed = append(changed, results[k].Changed...)
			}
		}
		var mrns map[int64]string
		if len(changed) > 0 {
			var err error
			if mrns, err = st.Reader().MRNs(ctx, changed); err != nil {
				return err
			}
		}
		for k := range lines {
			out[k].Line = lines[k].Line
			if errs[k] != nil {
				out[k].Error = backend.ToWire(lineError(errs[k]), Classify)
				continue
			}
			pv := plans[k].View()
			out[k].Plan = &pv
			var names []string
			for _, id := range results[k].Changed {
				names = append(names, mrns[id])
			}
			rj := results[k].JSON(names)
			out[k].Result = &rj
		}
		return nil
	})
	return out, err
}

// lineError is what the person sees of a failed line: the whole error,
// candidates included (the audit row kept only their ids).
func lineError(err error) error {
	var safe *safeError
	if errors.As(err, &safe) {
		err = safe.err
	}
	var amb *tools.AmbiguousError
	if errors.As(err, &amb) {
		return &backend.AmbiguousError{Ref: amb.Ref, Candidates: tools.Briefs(amb.Candidates)}
	}
	return err
}
