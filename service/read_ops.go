package service

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Resolve checks what staff typed and names each patient by MRN. Every
// reference is tried, and all that fail are reported together; the
// patients it names, and every candidate of an ambiguous name, are
// audited.
func (v *view) Resolve(ctx context.Context, req backend.ResolveRequest) ([]tools.PatientBrief, error) {
	entry := v.entry(req.Channel)
	entry.Action = `{"tool":"resolve"}`
	var out []tools.PatientBrief
	err := v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
		var ids []int64
		var problems []error
		var shown []int64
		for _, ref := range req.Refs {
			p, err := tools.ResolvePatient(ctx, st.Reader(), ref)
			var amb *tools.AmbiguousError
			var nf *tools.NotFoundError
			var val *tools.ValidationError
			switch {
			case errors.As(err, &amb):
				for _, c := range amb.Candidates {
					shown = append(shown, c.ID)
				}
				problems = append(problems, &backend.AmbiguousError{Ref: amb.Ref, Candidates: tools.Briefs(amb.Candidates)})
				continue
			case errors.As(err, &nf), errors.As(err, &val):
				problems = append(problems, err)
				continue
			case err != nil:
				return err
			}
			if !slices.Contains(ids, p.ID) {
				ids = append(ids, p.ID)
				out = append(out, tools.Brief(p))
			}
		}
		if len(problems) > 0 {
			msg := "references did not resolve"
			if len(shown) > 0 {
				msg = "ambiguous patient references: candidates listed"
			}
			if err := st.LogOutcome(ctx, entry, shown, 0, store.OutcomePreviewed, msg); err != nil {
				return err
			}
			return &backend.ManyErrors{Errs: problems}
		}
		return st.LogOutcome(ctx, entry, ids, len(ids), store.OutcomeOK, "")
	})
	return out, err
}

// Record is one patient's whole record, audited before it is returned.
func (v *view) Record(ctx context.Context, req backend.RecordRequest) (*backend.RecordView, error) {
	entry := v.entry(req.Channel)
	entry.Action = `{"tool":"show"}`
	var out *backend.RecordView
	err := v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
		p, err := tools.ResolvePatient(ctx, st.Reader(), req.Patient)
		if err != nil {
			return v.failed(ctx, st, entry, err, nil)
		}
		rec, n, err := record(ctx, st.Reader(), p)
		if err != nil {
			return err
		}
		// The row names the patient by MRN, never by what was typed.
		action, _ := json.Marshal(map[string]any{"tool": "show", "args": map[string]any{"patient": map[string]string{"match": p.MRN}}})
		entry.Action = string(action)
		if err := st.LogOutcome(ctx, entry, []int64{p.ID}, n, store.OutcomeOK, ""); err != nil {
			return err
		}
		out = rec
		return nil
	})
	return out, err
}

// record reads p's record and counts its rows.
func record(ctx context.Context, r store.Reader, p store.Patient) (*backend.RecordView, int, error) {
	only := store.PatientFilter{IDs: []int64{p.ID}}
	appts, err := r.FindAppointments(ctx, store.AppointmentQuery{Patients: only}, 0)
	if err != nil {
		return nil, 0, err
	}
	inters, err := r.FindInteractions(ctx, store.InteractionQuery{Patients: only}, 0)
	if err != nil {
		return nil, 0, err
	}
	open := true
	tasks, err := r.FindTasks(ctx, store.TaskQuery{Task: store.TaskFilter{Open: &open}, Patients: only}, 0)
	if err != nil {
		return nil, 0, err
	}
	consent, err := r.ConsentHistory(ctx, p.ID)
	if err != nil {
		return nil, 0, err
	}
	rec := &backend.RecordView{PatientJSON: tools.NewPatientJSON(p), Appointments: []tools.AppointmentJSON{}, Interactions: []tools.InteractionJSON{},
		Tasks: []tools.TaskJSON{}, Consent: []tools.ConsentJSON{}}
	for _, a := range appts {
		j := tools.NewAppointmentJSON(a)
		j.Patient = "" // the record's own patient
		rec.Appointments = append(rec.Appointments, j)
	}
	for _, i := range inters {
		rec.Interactions = append(rec.Interactions, tools.NewInteractionJSON(i))
	}
	for _, t := range tasks {
		rec.Tasks = append(rec.Tasks, tools.NewTaskJSON(t))
	}
	for _, e := range consent {
		rec.Consent = append(rec.Consent, tools.NewConsentJSON(e))
	}
	return rec, 1 + len(appts) + len(inters) + len(tasks) + len(consent), nil
}

// MyTasks counts the caller's open tasks due today and overdue, by the
// practice's calendar day. Counts name no patient: not audited.
func (v *view) MyTasks(ctx context.Context) (*backend.TaskCounts, error) {
	env := v.env()
	today := tools.Today(env.Now)
	open := true
	out := &backend.TaskCounts{Staff: env.Staff}
	err := v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
		r := st.Reader()
		var err error
		mine := store.TaskFilter{Open: &open, AssignedTo: env.Staff, DueFrom: today, DueTo: today.AddDate(0, 0, 1)}
		if out.DueToday, err = r.CountTasks(ctx, store.TaskQuery{Task: mine}); err != nil {
			return err
		}
		mine.DueFrom, mine.DueTo = time.Time{}, today
		out.Overdue, err = r.CountTasks(ctx, store.TaskQuery{Task: mine})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Tags lists the tags in use with counts. Counts name no patient: not
// audited.
func (v *view) Tags(ctx context.Context) ([]backend.TagCount, error) {
	var out []backend.TagCount
	err := v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
		tags, err := st.Reader().ListTags(ctx)
		for _, t := range tags {
			// A tag nobody carries is gone for the person reading the
			// list (as for completion); tag add brings it back.
			if t.Patients > 0 {
				out = append(out, backend.TagCount{Name: t.Name, Patients: t.Patients})
			}
		}
		return err
	})
	return out, err
}

// Complete offers completions. Names and MRNs are patient data: the
// patients offered are audited, at most MaxCompletions of them, and only
// for a prefix of two characters or more.
func (v *view) Complete(ctx context.Context, req backend.CompleteRequest) ([]string, error) {
	var out []string
	err := v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
		r := st.Reader()
		switch req.Kind {
		case backend.CompleteTags:
			tags, err := r.ListTags(ctx)
			for _, t := range tags {
				if t.Patients > 0 && strings.HasPrefix(t.Name, strings.ToLower(req.Prefix)) {
					out = append(out, t.Name)
				}
			}
			return err
		case backend.CompleteMRNs, backend.CompleteNames:
			if len([]rune(strings.TrimSpace(req.Prefix))) < 2 {
				return nil
			}
			ps, err := r.CompletePatients(ctx, req.Prefix, req.Kind == backend.CompleteMRNs, backend.MaxCompletions)
			if err != nil || len(ps) == 0 {
				return err
			}
			ids := make([]int64, len(ps))
			for i, p := range ps {
				ids[i] = p.ID
				if req.Kind == backend.CompleteMRNs {
					out = append(out, p.MRN)
				} else if !slices.Contains(out, p.FullName()) {
					out = append(out, p.FullName())
				}
			}
			entry := v.entry(req.Channel)
			entry.Action = `{"tool":"complete","args":{"kind":"` + req.Kind + `"}}`
			return st.LogOutcome(ctx, entry, ids, len(ids), store.OutcomeOK, "")
		case backend.CompleteProviders, backend.CompleteTypes, backend.CompleteStaff:
			got, err := vocabularyCompletions(ctx, r, req.Kind)
			out = withPrefix(got, req.Prefix)
			return err
		}
		return &tools.ValidationError{Msg: "completion of " + req.Kind + " is not offered (tags, mrns, names, providers, types or staff)"}
	})
	return out, err
}

// AuditLog lists audit rows. Reading the log is itself logged: its rows
// may name patients.
func (v *view) AuditLog(ctx context.Context, req backend.AuditLogRequest) ([]store.AuditRowJSON, error) {
	if err := v.allow(ctx, "audit", req.Channel); err != nil {
		return nil, err
	}
	now := v.s.cfg.Now()
	q := store.AuditQuery{User: req.User, Disclosures: req.Disclosures}
	var err error
	if req.Since != "" {
		if q.Since, err = tools.ParsePoint(req.Since, now); err != nil {
			return nil, &tools.ValidationError{Msg: "--since: " + err.Error()}
		}
	}
	if req.Until != "" {
		if q.Until, err = tools.ParsePoint(req.Until, now); err != nil {
			return nil, &tools.ValidationError{Msg: "--until: " + err.Error()}
		}
		if q.Until.Equal(startOfDay(q.Until)) {
			q.Until = q.Until.AddDate(0, 0, 1)
		}
	}
	tool := "audit_log"
	if req.Disclosures {
		tool = "audit_disclosures"
	}
	entry := v.entry(req.Channel)
	var out []store.AuditRowJSON
	err = v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
		var touched []int64
		if req.Patient.Match != "" {
			p, err := tools.ResolvePatient(ctx, st.Reader(), req.Patient)
			if err != nil {
				entry.Action = `{"tool":"` + tool + `"}`
				return v.failed(ctx, st, entry, err, nil)
			}
			q.Patient = p.ID
			touched = []int64{p.ID}
		}
		rows, err := st.Reader().FindAudit(ctx, q)
		if err != nil {
			return err
		}
		args := map[string]any{}
		for k, val := range map[string]string{"since": req.Since, "until": req.Until, "user": req.User} {
			if val != "" {
				args[k] = val
			}
		}
		if q.Patient != 0 {
			args["patient_id"] = q.Patient
		}
		action, _ := json.Marshal(map[string]any{"tool": tool, "args": args})
		entry.Action = string(action)
		// The rows shown name patients (their ids, and request texts):
		// this read is of each of them.
		for _, r := range rows {
			touched = append(touched, r.PatientIDs...)
		}
		if err := st.LogOutcome(ctx, entry, touched, len(rows), store.OutcomeOK, ""); err != nil {
			return err
		}
		out = make([]store.AuditRowJSON, 0, len(rows))
		for _, r := range rows {
			out = append(out, r.JSON())
		}
		return nil
	})
	return out, err
}

func startOfDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// vocabularyCompletions are the names a flag like --provider takes. Staff
// are both the members who sign in and the names calls were logged under
// (an import's, or a member's since renamed): --staff on interactions
// filters by the latter, and the global --staff is the former.
func vocabularyCompletions(ctx context.Context, r store.Reader, kind string) ([]string, error) {
	part := map[string]store.VocabPart{backend.CompleteProviders: store.VocabProviders,
		backend.CompleteTypes: store.VocabAppointmentTypes, backend.CompleteStaff: store.VocabStaff}[kind]
	v, err := r.Vocabulary(ctx, part)
	if err != nil {
		return nil, err
	}
	switch kind {
	case backend.CompleteProviders:
		return v.Providers, nil
	case backend.CompleteTypes:
		return v.AppointmentTypes, nil
	}
	members, err := r.ListStaff(ctx)
	if err != nil {
		return nil, err
	}
	names := v.Staff
	for _, m := range members {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, m.Name) }) {
			names = append(names, m.Name)
		}
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return names, nil
}

// withPrefix keeps the names that start with prefix, case aside, at most
// MaxCompletions of them.
func withPrefix(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if len(out) == backend.MaxCompletions {
			break
		}
		if strings.HasPrefix(strings.ToLower(n), strings.ToLower(prefix)) {
			out = append(out, n)
		}
	}
	return out
}
