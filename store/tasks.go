package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// TaskKind says what a task is for.
type TaskKind string

const (
	// KindTask is a follow-up for one patient ("call back about lab
	// results").
	KindTask TaskKind = "task"
	// KindRecall is a task made for every patient a filter selects, with a
	// reason and a due date ("diabetes recall, due in 2 weeks").
	KindRecall TaskKind = "recall"
)

// Task is one follow-up. Due is a day of the practice's calendar (midnight
// UTC holds the date, as for dates of birth), zero when none was given.
type Task struct {
	ID         int64
	PatientID  int64
	PatientMRN string
	Kind       TaskKind
	Text       string
	Due        time.Time
	AssignedTo string
	CreatedBy  string
	CreatedAt  time.Time
	DoneAt     time.Time // zero while open
	DoneBy     string
}

// Open reports whether the task is still to do.
func (t Task) Open() bool { return t.DoneAt.IsZero() }

// TaskFilter selects tasks. Every set field must hold. Due bounds are days
// of the practice's calendar: DueFrom inclusive, DueTo exclusive; a task
// with no due date never falls within a bound.
type TaskFilter struct {
	IDs []int64
	// Open keeps open tasks (true) or done ones (false); nil keeps both.
	Open         *bool
	DueFrom      time.Time
	DueTo        time.Time
	AssignedTo   string // the name, case ignored
	TextContains string // case and accents ignored
	Kind         TaskKind
}

// TaskQuery selects tasks, optionally only those of the patients a filter
// selects.
type TaskQuery struct {
	Task     TaskFilter
	Patients PatientFilter
}

func (f TaskFilter) conditions(a string) where {
	var w where
	if f.IDs != nil {
		w.add(fmt.Sprintf("%s.id IN (SELECT unnest(?::BIGINT[]))", a), f.IDs)
	}
	if f.Open != nil {
		w.add(fmt.Sprintf("(%s.done_at IS NULL) = ?", a), *f.Open)
	}
	if !f.DueFrom.IsZero() {
		w.add(fmt.Sprintf("%s.due >= ?::DATE", a), dateOnly(f.DueFrom))
	}
	if !f.DueTo.IsZero() {
		w.add(fmt.Sprintf("%s.due < ?::DATE", a), dateOnly(f.DueTo))
	}
	if f.AssignedTo != "" {
		w.add(fmt.Sprintf("lower(%s.assigned_to) = lower(?)", a), f.AssignedTo)
	}
	if f.TextContains != "" {
		w.add(fmt.Sprintf("contains(%s, %s)", normalized(a+".text"), normalized("?")), f.TextContains)
	}
	if f.Kind != "" {
		w.add(fmt.Sprintf("%s.kind = ?", a), string(f.Kind))
	}
	return w
}

func (q TaskQuery) conditions() where {
	w := q.Task.conditions("t")
	w.merge(q.Patients.conditions("p"))
	return w
}

const taskColumns = `t.id, t.patient_id, p.mrn, t.kind, t.text, t.due, t.assigned_to, t.created_by, t.created_at, t.done_at, coalesce(t.done_by, '')`

// FindTasks lists tasks: open ones first, by due date (those without one
// last), then done ones. limit 0 means all.
func (r Reader) FindTasks(ctx context.Context, q TaskQuery, limit int) ([]Task, error) {
	w := q.conditions()
	text := `SELECT ` + taskColumns + ` FROM tasks t JOIN patients p ON p.id = t.patient_id WHERE ` + w.sql() +
		` ORDER BY t.done_at IS NOT NULL, t.due NULLS LAST, t.id`
	if limit > 0 {
		text += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := r.q.QueryContext(ctx, text, w.args...)
	if err != nil {
		return nil, fmt.Errorf("find tasks: %w", err)
	}
	defer rows.Close()
	var out []Task
	for rows.Next() {
		var t Task
		var kind string
		var due, done sql.NullTime
		if err := rows.Scan(&t.ID, &t.PatientID, &t.PatientMRN, &kind, &t.Text, &due, &t.AssignedTo, &t.CreatedBy,
			&t.CreatedAt, &done, &t.DoneBy); err != nil {
			return nil, fmt.Errorf("find tasks: %w", err)
		}
		t.Kind, t.Due, t.DoneAt = TaskKind(kind), due.Time, done.Time
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find tasks: %w", err)
	}
	return out, nil
}

// CountTasks counts the tasks q selects.
func (r Reader) CountTasks(ctx context.Context, q TaskQuery) (int, error) {
	w := q.conditions()
	var n int
	if err := r.q.QueryRowContext(ctx, `SELECT count(*) FROM tasks t JOIN patients p ON p.id = t.patient_id WHERE `+w.sql(),
		w.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count tasks: %w", err)
	}
	return n, nil
}

// TaskGroup is a field tasks can be counted by.
type TaskGroup string

const (
	GroupTaskAssignedTo TaskGroup = "assigned_to"
	GroupTaskKind       TaskGroup = "kind"
)

// TaskGroups lists the fields tasks can be grouped by.
var TaskGroups = []TaskGroup{GroupTaskAssignedTo, GroupTaskKind}

// GroupTasks counts the tasks q selects by one field.
func (r Reader) GroupTasks(ctx context.Context, q TaskQuery, by TaskGroup) ([]GroupCount, error) {
	var key string
	switch by {
	case GroupTaskAssignedTo:
		key = "t.assigned_to"
	case GroupTaskKind:
		key = "t.kind"
	default:
		return nil, fmt.Errorf("group tasks: unknown field %q", by)
	}
	w := q.conditions()
	return r.groups(ctx, "group tasks", `SELECT `+key+` AS k, count(*) FROM tasks t JOIN patients p ON p.id = t.patient_id WHERE `+
		w.sql()+` GROUP BY k ORDER BY count(*) DESC, k`, w.args)
}

// NewTask is one task to make for a set of patients.
type NewTask struct {
	Kind       TaskKind
	Text       string
	Due        time.Time // a calendar day; zero for none
	AssignedTo string
}

// AddTasks makes the same task for every patient in ids and returns the new
// task ids, in patient id order.
func (tx *Tx) AddTasks(ctx context.Context, t NewTask, ids []int64) ([]int64, error) {
	if t.Kind != KindTask && t.Kind != KindRecall {
		return nil, fmt.Errorf("add task: unknown kind %q", t.Kind)
	}
	var due any
	if !t.Due.IsZero() {
		due = dateOnly(t.Due)
	}
	newIDs, err := tx.idList(ctx, `INSERT INTO tasks (patient_id, kind, text, due, assigned_to, created_by, created_at)
		SELECT p.id, ?, ?, ?::DATE, ?, ?, ? FROM patients p WHERE p.id IN (SELECT unnest(?::BIGINT[])) ORDER BY p.id
		RETURNING id`, string(t.Kind), t.Text, due, t.AssignedTo, tx.Actor(), tx.Now().UTC(), ids)
	if err != nil {
		return nil, fmt.Errorf("add task: %w", err)
	}
	tx.Touch(ids...)
	tx.AddRows(len(newIDs))
	return newIDs, nil
}

// SetTaskDone marks a task done (by this unit's actor, now) or open again.
// It fails when the task is already in that state, so that a second "done"
// is not recorded as if it did something.
func (tx *Tx) SetTaskDone(ctx context.Context, id int64, done bool) (Task, error) {
	ts, err := tx.FindTasks(ctx, TaskQuery{Task: TaskFilter{IDs: []int64{id}}}, 1)
	if err != nil {
		return Task{}, err
	}
	if len(ts) == 0 {
		return Task{}, fmt.Errorf("task %d: %w", id, ErrNotFound)
	}
	t := ts[0]
	if t.Open() != done {
		state := "open"
		if done {
			state = "done"
		}
		return Task{}, fmt.Errorf("task %d is already %s", id, state)
	}
	var at, by any
	if done {
		at, by = tx.Now().UTC(), tx.Actor()
	}
	if _, err := tx.conn.ExecContext(ctx, `UPDATE tasks SET done_at = ?, done_by = ? WHERE id = ?`, at, by, id); err != nil {
		return Task{}, fmt.Errorf("update task %d: %w", id, err)
	}
	tx.Touch(t.PatientID)
	tx.AddRows(1)
	return t, nil
}
