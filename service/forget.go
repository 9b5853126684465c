package service

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/history"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// PrepareForget previews deleting one patient for good. The preview names
// them, so it is audited; the plan waits for a confirmation that, on a
// terminal, is the MRN typed.
func (v *view) PrepareForget(ctx context.Context, req backend.ForgetRequest) (*backend.Reply, error) {
	if err := v.allow(ctx, "forget", req.Channel); err != nil {
		return nil, err
	}
	entry := v.entry(req.Channel)
	// Never the reference as typed (a name): the row names the patient by
	// id, and forget's own row by a commitment.
	entry.Action = `{"tool":"forget"}`
	var p store.Patient
	var appts, inters, tasks, consent int
	err := v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
		r := st.Reader()
		var err error
		if p, err = tools.ResolvePatient(ctx, r, req.Patient); err != nil {
			return v.failed(ctx, st, entry, err, nil)
		}
		only := store.PatientFilter{IDs: []int64{p.ID}}
		if appts, err = r.CountAppointments(ctx, store.AppointmentQuery{Patients: only}); err != nil {
			return err
		}
		if inters, err = r.CountInteractions(ctx, store.InteractionQuery{Patients: only}); err != nil {
			return err
		}
		// Done tasks go too, and so does the consent history that proves
		// an opt-out: the preview must name all that Forget deletes.
		if tasks, err = r.CountTasks(ctx, store.TaskQuery{Patients: only}); err != nil {
			return err
		}
		h, err := r.ConsentHistory(ctx, p.ID)
		if err != nil {
			return err
		}
		consent = len(h)
		msg := "previewed; waiting for confirmation"
		if req.DryRun {
			msg = "previewed; dry run, nothing done"
		}
		return st.LogOutcome(ctx, entry, []int64{p.ID}, 1, store.OutcomePreviewed, msg)
	})
	if err != nil {
		return nil, err
	}
	born := "unknown"
	if !p.DOB.IsZero() {
		born = p.DOB.Format(time.DateOnly)
	}
	pv := tools.PlanView{
		Action: tools.Action{Tool: "forget", Args: json.RawMessage(fmt.Sprintf(`{"patient":{"match":%q}}`, p.MRN))},
		Tool:   "forget", Write: true, Irreversible: true, ConfirmText: p.MRN,
		Summary: fmt.Sprintf("Forget %s (%s, born %s) for good: %s", p.FullName(), p.MRN, born,
			backend.ForgetView{Tags: len(p.Tags), Appointments: appts, Interactions: inters, Tasks: tasks, ConsentChanges: consent}.Deleted()),
		Targets: []tools.PatientBrief{tools.Brief(p)}, TargetCount: 1,
	}
	if req.DryRun {
		// Nothing waits: a dry run's preview cannot be confirmed.
		return &backend.Reply{Plan: &pv}, nil
	}
	pv.ID, _ = v.s.plans.put(&pending{forget: &p, entry: entry, owner: v.c.Session})
	return &backend.Reply{Plan: &pv}, nil
}

// forget deletes the patient and rewrites the file, with nobody else in
// the database until it is done: in direct mode the lock file is held
// across the rewrite, in the server everyone waits at the gate.
func (v *view) forget(ctx context.Context, p *pending, progress func(backend.Progress)) (*backend.Reply, error) {
	start := time.Now()
	var out backend.ForgetView
	err := v.s.cfg.DB.Exclusive(ctx, func(st *store.Store) error {
		if progress != nil {
			progress(backend.Progress{Stage: "deleting"})
		}
		gone, err := st.Forget(ctx, p.entry, p.forget.ID)
		if err != nil {
			return err
		}
		out = backend.ForgetView{MRNCommitment: gone.MRNHash, Receipt: gone.Receipt, Tags: gone.Tags,
			Appointments: gone.Appointments, Interactions: gone.Interactions, Tasks: gone.Tasks,
			ConsentChanges: gone.ConsentChanges, AuditRows: gone.AuditRows}
		if v.s.cfg.HistoryFile != "" {
			n, err := history.Scrub(v.s.cfg.HistoryFile, p.forget.NamedIn)
			if err != nil {
				return fmt.Errorf("the patient is deleted, but their lines could not be removed from the REPL history: %w", err)
			}
			out.HistoryLines = n
		}
		if progress != nil {
			progress(backend.Progress{Stage: "rewriting the file"})
		}
		// The deletion is committed; the rewrite must not be skipped for
		// a late Ctrl-C. Should it fail, the next open finishes it.
		if err := st.Compact(context.WithoutCancel(ctx)); err != nil {
			// The receipt goes in the sentence: it is stored nowhere, and
			// this is the only time it can be shown.
			return fmt.Errorf("the patient is deleted (deletion receipt %s), but rewriting the file failed, so their bytes may remain in it until it is done; free space and run any carebook command, which finishes it (carebook doctor reports it until then): %w", gone.Receipt, err)
		}
		out.Compacted = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Seconds = time.Since(start).Seconds()
	return &backend.Reply{Forgotten: &out}, nil
}
