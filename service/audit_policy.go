package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/carebook/carebook/agent"
	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/guard"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// What an audit row of a failure holds is decided here, for every channel.
//
//   - Namesakes: the row lists every candidate shown (their ids), and its
//     message says how many, never who.
//   - A request the guard stopped never left the machine: its row carries
//     no request text or action, only the rule that stopped it.
//   - Ctrl-C is "cancelled by the user", refused rather than an error.

// failed audits err, the failure of a request described by entry, and
// returns the error the caller sees: an *AmbiguousError becomes the
// backend's, with a PlanID to Choose with when decided is given.
func (v *view) failed(ctx context.Context, st *store.Store, entry store.AuditEntry, err error, decided *pending) error {
	ctx = context.WithoutCancel(ctx)
	var amb *tools.AmbiguousError
	if errors.As(err, &amb) {
		ids := make([]int64, len(amb.Candidates))
		for i, p := range amb.Candidates {
			ids[i] = p.ID
		}
		out := &backend.AmbiguousError{Ref: amb.Ref, Candidates: tools.Briefs(amb.Candidates)}
		if lerr := st.LogOutcome(ctx, entry, ids, 0, store.OutcomePreviewed, ambiguousText(amb)); lerr != nil {
			return errors.Join(out, lerr)
		}
		if decided != nil && decided.decided != nil {
			decided.candidates, decided.entry, decided.owner = amb.Candidates, entry, v.c.Session
			out.PlanID, _ = v.s.plans.put(decided)
		}
		return out
	}
	var dup *tools.DuplicateError
	if errors.As(err, &dup) {
		// Like namesakes: the row lists the patients shown, by id, and
		// its message says how many, never who.
		ids := make([]int64, len(dup.Candidates))
		for i, d := range dup.Candidates {
			ids[i] = d.Patient.ID
		}
		msg := fmt.Sprintf("possible duplicate patient: %d existing records listed", len(ids))
		if lerr := st.LogOutcome(ctx, entry, ids, 0, store.OutcomePreviewed, msg); lerr != nil {
			return errors.Join(err, lerr)
		}
		return err
	}
	outcome, msg := outcomeOf(err)
	if refusedByGuard(err) {
		entry.Request, entry.Action = "", ""
	}
	if lerr := st.LogOutcome(ctx, entry, nil, 0, outcome, msg); lerr != nil {
		return errors.Join(err, lerr)
	}
	return err
}

// failedRead is failed for callers that hold no store.
func (v *view) failedRead(ctx context.Context, entry store.AuditEntry, err error, decided *pending) error {
	var out error
	if rerr := v.s.cfg.DB.Read(context.WithoutCancel(ctx), func(st *store.Store) error {
		out = v.failed(ctx, st, entry, err, decided)
		return nil
	}); rerr != nil {
		return errors.Join(err, rerr)
	}
	return out
}

func ambiguousText(amb *tools.AmbiguousError) string {
	return fmt.Sprintf("ambiguous patient reference: %d candidates", len(amb.Candidates))
}

// outcomeOf is the outcome and message a failure is audited with.
func outcomeOf(err error) (store.Outcome, string) {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, backend.ErrCancelled):
		return store.OutcomeRefused, "cancelled by the user"
	case refusedByGuard(err):
		return store.OutcomeRefused, err.Error()
	case errors.Is(err, backend.ErrNeedsConfirmation):
		return store.OutcomeRefused, "needs --yes without a terminal; nothing was written"
	}
	return store.OutcomeError, err.Error()
}

// refusedByGuard reports a request that never left the machine because
// the guard or the model check stopped it.
func refusedByGuard(err error) bool {
	var refused *guard.RefusedError
	var cloud *agent.CloudModelError
	return errors.As(err, &refused) || errors.As(err, &cloud)
}

// safeError keeps a failure's own message out of the audit row when it
// could name patients (the candidates of an ambiguous name), while callers
// still find the error itself with errors.As.
type safeError struct {
	err error
	msg string
}

func (e *safeError) Error() string { return e.msg }
func (e *safeError) Unwrap() error { return e.err }

// auditSafe readies err, a failure inside a transaction, for the row that
// records it: the candidates of an ambiguous name are recorded as touched,
// by id, and the message does not list them.
func auditSafe(tx *store.Tx, err error) error {
	var dup *tools.DuplicateError
	if errors.As(err, &dup) {
		for _, d := range dup.Candidates {
			tx.Touch(d.Patient.ID)
		}
		return &safeError{err: err, msg: fmt.Sprintf("possible duplicate patient: %d existing records listed", len(dup.Candidates))}
	}
	var amb *tools.AmbiguousError
	if !errors.As(err, &amb) {
		return err
	}
	for _, p := range amb.Candidates {
		tx.Touch(p.ID)
	}
	return &safeError{err: err, msg: ambiguousText(amb)}
}

// Classify names the wire kind of errors the backend package does not
// know, for the server.
func Classify(err error) string {
	var broken *store.AuditBrokenError
	switch {
	case refusedByGuard(err):
		return backend.KindRefused
	case errors.As(err, &broken):
		return backend.KindAuditBroken
	}
	return ""
}
