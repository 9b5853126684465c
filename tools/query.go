package tools

import (
	"context"
	"slices"
	"strings"

	"github.com/carebook/carebook/store"
)

// Query entities and outputs.
const (
	EntityPatients     = "patients"
	EntityAppointments = "appointments"
	EntityInteractions = "interactions"
	EntityTasks        = "tasks"

	OutputList   = "list"
	OutputCount  = "count"
	OutputGroups = "groups"
)

// Entities lists what a query can return.
var Entities = []string{EntityPatients, EntityAppointments, EntityInteractions, EntityTasks}

// Outputs lists the shapes of a query's answer.
var Outputs = []string{OutputList, OutputCount, OutputGroups}

// GroupFields lists, per entity, the fields a query can count by.
func GroupFields(entity string) []string {
	switch entity {
	case EntityPatients:
		return stringsOf(store.PatientGroups)
	case EntityAppointments:
		return stringsOf(store.AppointmentGroups)
	case EntityInteractions:
		return stringsOf(store.InteractionGroups)
	case EntityTasks:
		return stringsOf(store.TaskGroups)
	}
	return nil
}

func stringsOf[T ~string](vals []T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

func prepareQuery(ctx context.Context, r store.Reader, a Action, env Env) (*Plan, error) {
	var args QueryArgs
	if err := decodeArgs(a, &args); err != nil {
		return nil, err
	}
	entity := strings.ToLower(args.Entity)
	if !slices.Contains(Entities, entity) {
		return nil, invalidf("query entity must be patients, appointments, interactions or tasks, not %q", args.Entity)
	}
	output := strings.ToLower(args.Output)
	if output == "" {
		output = OutputList
	}
	if !slices.Contains(Outputs, output) {
		return nil, invalidf("query output must be list, count or groups, not %q", args.Output)
	}
	if output == OutputGroups && !slices.Contains(GroupFields(entity), args.GroupBy) {
		return nil, invalidf("group_by for %s must be one of %s, not %q", entity, strings.Join(GroupFields(entity), ", "), args.GroupBy)
	}
	if output != OutputGroups && args.GroupBy != "" {
		return nil, invalidf(`group_by needs output "groups"`)
	}
	if args.Limit < 0 {
		return nil, invalidf("limit must not be negative")
	}
	if entity != EntityAppointments && args.Appointments != nil {
		return nil, invalidf(`"appointments" filters appointment rows; to select patients by their appointments use where.has_appointment`)
	}
	if entity != EntityInteractions && args.Interactions != nil {
		return nil, invalidf(`"interactions" filters interaction rows; to select patients by their contacts use where.has_interaction`)
	}
	if entity != EntityTasks && args.Tasks != nil {
		return nil, invalidf(`"tasks" filters task rows, with entity tasks; to select patients by their tasks use where.has_open_task`)
	}
	tf, err := resolveTaskWhere(args.Tasks, env)
	if err != nil {
		return nil, err
	}

	vocab, err := r.Vocabulary(ctx, vocabFor(a.Args)...)
	if err != nil {
		return nil, err
	}
	pf, err := resolveWhere(ctx, r, args.Where, env, vocab)
	if err != nil {
		return nil, err
	}
	if args.Patient != nil {
		p, err := ResolvePatient(ctx, r, *args.Patient)
		if err != nil {
			return nil, err
		}
		pf.IDs = []int64{p.ID}
		if a, err = WithPatient(a, p.MRN); err != nil {
			return nil, err
		}
	}
	af, err := resolveAppointmentWhere("appointments", args.Appointments, env, vocab)
	if err != nil {
		return nil, err
	}
	inf, err := resolveInteractionWhere("interactions", args.Interactions, env)
	if err != nil {
		return nil, err
	}
	aq := store.AppointmentQuery{Patients: pf}
	if af != nil {
		aq.Appointment = *af
	}
	iq := store.InteractionQuery{Patients: pf}
	if inf != nil {
		iq.Interaction = *inf
	}
	tq := store.TaskQuery{Task: tf, Patients: pf}

	p := &Plan{Action: a, Tool: ToolQuery, Summary: describeQuery(entity, output, args.GroupBy)}
	p.read = func(ctx context.Context, rd store.Reader) (*Result, []int64, error) {
		res := &Result{Tool: ToolQuery, Kind: output, GroupBy: args.GroupBy}
		if output == OutputList {
			res.Kind = entity
		}
		var touched []int64
		// A count or groups restricted to patients named by id shows
		// something about each of them.
		if output != OutputList {
			touched = pf.IDs
		}
		var err error
		switch {
		case entity == EntityPatients && output == OutputList:
			res.Patients, err = rd.FindPatients(ctx, pf, args.Limit)
			for _, p := range res.Patients {
				touched = append(touched, p.ID)
			}
			res.Count = len(res.Patients)
			if err == nil && limited(args.Limit, res.Count) {
				res.Total, err = rd.CountPatients(ctx, pf)
			}
		case entity == EntityPatients && output == OutputCount:
			res.Count, err = rd.CountPatients(ctx, pf)
		case entity == EntityPatients:
			res.Groups, err = rd.GroupPatients(ctx, pf, store.PatientGroup(args.GroupBy), env.Now)
		case entity == EntityAppointments && output == OutputList:
			res.Appointments, err = rd.FindAppointments(ctx, aq, args.Limit)
			for _, ap := range res.Appointments {
				touched = append(touched, ap.PatientID)
			}
			res.Count = len(res.Appointments)
			if err == nil && limited(args.Limit, res.Count) {
				res.Total, err = rd.CountAppointments(ctx, aq)
			}
		case entity == EntityAppointments && output == OutputCount:
			res.Count, err = rd.CountAppointments(ctx, aq)
		case entity == EntityAppointments:
			res.Groups, err = rd.GroupAppointments(ctx, aq, store.AppointmentGroup(args.GroupBy))
		case entity == EntityInteractions && output == OutputList:
			res.Interactions, err = rd.FindInteractions(ctx, iq, args.Limit)
			for _, it := range res.Interactions {
				touched = append(touched, it.PatientID)
			}
			res.Count = len(res.Interactions)
			if err == nil && limited(args.Limit, res.Count) {
				res.Total, err = rd.CountInteractions(ctx, iq)
			}
		case entity == EntityInteractions && output == OutputCount:
			res.Count, err = rd.CountInteractions(ctx, iq)
		case entity == EntityTasks && output == OutputList:
			res.Tasks, err = rd.FindTasks(ctx, tq, args.Limit)
			for _, t := range res.Tasks {
				touched = append(touched, t.PatientID)
			}
			res.Count = len(res.Tasks)
		case entity == EntityTasks && output == OutputCount:
			res.Count, err = rd.CountTasks(ctx, tq)
		case entity == EntityTasks:
			res.Groups, err = rd.GroupTasks(ctx, tq, store.TaskGroup(args.GroupBy))
		default:
			res.Groups, err = rd.GroupInteractions(ctx, iq, store.InteractionGroup(args.GroupBy))
		}
		if err != nil {
			return nil, nil, err
		}
		if output == OutputGroups {
			for _, g := range res.Groups {
				res.Count += g.Count
			}
		}
		return res, touched, nil
	}
	return p, nil
}

// limited says a list may have been cut short by its limit: then the
// matches are counted, so that "3 of 240" can be said.
func limited(limit, got int) bool { return limit > 0 && got == limit }

func describeQuery(entity, output, groupBy string) string {
	switch output {
	case OutputCount:
		return "Count " + entity
	case OutputGroups:
		return "Count " + entity + " by " + groupBy
	}
	return "List " + entity
}

// resolveTaskWhere turns a task filter into an absolute one. Tasks are
// open ones unless the filter says done; due days are days of the
// practice's calendar, so "today" and "overdue" turn at local midnight.
func resolveTaskWhere(w *TaskWhere, env Env) (store.TaskFilter, error) {
	open := true
	f := store.TaskFilter{Open: &open}
	if w == nil {
		return f, nil
	}
	switch strings.ToLower(strings.TrimSpace(w.Status)) {
	case "", TaskOpen:
	case TaskDone:
		open = false
	default:
		return f, invalidf("tasks.status must be open or done, not %q", w.Status)
	}
	if w.Due != "" {
		from, to, err := ParseDueRange(w.Due, env.Now)
		if err != nil {
			return f, &ValidationError{Field: "tasks.due", Msg: err.Error()}
		}
		f.DueFrom, f.DueTo = from, to
	}
	if w.Overdue {
		if !open {
			return f, invalidf("a done task is not overdue; leave out status done, or overdue")
		}
		if today := Today(env.Now); f.DueTo.IsZero() || today.Before(f.DueTo) {
			f.DueTo = today
		}
	}
	name := strings.TrimSpace(w.AssignedTo)
	if err := store.CheckLine(name, store.MaxLabelLen); err != nil {
		return f, invalidf("tasks.assigned_to %v", err)
	}
	if w.Mine {
		if name != "" && !strings.EqualFold(name, env.Staff) {
			return f, invalidf("give tasks.mine or tasks.assigned_to, not both")
		}
		name = env.Staff
	}
	f.AssignedTo = name
	return f, nil
}
