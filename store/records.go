package store

import (
	"context"
	"fmt"
)

// AppointmentQuery selects appointments, optionally only those of the
// patients a filter selects.
type AppointmentQuery struct {
	Appointment AppointmentFilter
	Patients    PatientFilter
}

// InteractionQuery selects interactions, optionally only those of the
// patients a filter selects.
type InteractionQuery struct {
	Interaction InteractionFilter
	Patients    PatientFilter
}

// source is the FROM clause: the join to patients only when patients are
// filtered. The store keeps every appointment's and interaction's patient,
// so leaving the join out changes no count, and saves a join over the whole
// table for the commonest questions ("no-shows by provider").
func (q AppointmentQuery) source() string {
	if q.Patients.IsEmpty() {
		return "appointments a"
	}
	return "appointments a JOIN patients p ON p.id = a.patient_id"
}

func (q InteractionQuery) source() string {
	if q.Patients.IsEmpty() {
		return "interactions i"
	}
	return "interactions i JOIN patients p ON p.id = i.patient_id"
}

func (q AppointmentQuery) conditions() where {
	w := q.Appointment.conditions("a")
	w.merge(q.Patients.conditions("p"))
	return w
}

func (q InteractionQuery) conditions() where {
	w := q.Interaction.conditions("i")
	w.merge(q.Patients.conditions("p"))
	return w
}

// FindAppointments lists appointments by start time. limit 0 means all.
func (r Reader) FindAppointments(ctx context.Context, q AppointmentQuery, limit int) ([]Appointment, error) {
	var err error
	if q.Patients, err = r.resolveMRNs(ctx, q.Patients); err != nil {
		return nil, err
	}
	w := q.conditions()
	sqlText := `SELECT a.id, coalesce(a.external_id, ''), a.patient_id, p.mrn,
		trim(coalesce(p.first_name, '') || ' ' || coalesce(p.last_name, '')), a.starts_at, a.type, a.provider, a.status
		FROM appointments a JOIN patients p ON p.id = a.patient_id WHERE ` + w.sql() + ` ORDER BY a.starts_at, a.id`
	if limit > 0 {
		sqlText += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := r.q.QueryContext(ctx, sqlText, w.args...)
	if err != nil {
		return nil, fmt.Errorf("find appointments: %w", err)
	}
	defer rows.Close()
	var out []Appointment
	for rows.Next() {
		var a Appointment
		var status string
		if err := rows.Scan(&a.ID, &a.ExternalID, &a.PatientID, &a.PatientMRN, &a.PatientName, &a.StartsAt, &a.Type, &a.Provider, &status); err != nil {
			return nil, fmt.Errorf("find appointments: %w", err)
		}
		a.Status = AppointmentStatus(status)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find appointments: %w", err)
	}
	return out, nil
}

// CountAppointments counts the appointments q selects.
func (r Reader) CountAppointments(ctx context.Context, q AppointmentQuery) (int, error) {
	var err error
	if q.Patients, err = r.resolveMRNs(ctx, q.Patients); err != nil {
		return 0, err
	}
	w := q.conditions()
	var n int
	err = r.q.QueryRowContext(ctx, `SELECT count(*) FROM `+q.source()+` WHERE `+w.sql(), w.args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count appointments: %w", err)
	}
	return n, nil
}

// AppointmentGroup is a field appointments can be counted by.
type AppointmentGroup string

const (
	GroupAppointmentStatus   AppointmentGroup = "status"
	GroupAppointmentType     AppointmentGroup = "type"
	GroupAppointmentProvider AppointmentGroup = "provider"
	GroupAppointmentMonth    AppointmentGroup = "month"
	GroupAppointmentWeekday  AppointmentGroup = "weekday"
)

// AppointmentGroups lists the fields appointments can be grouped by.
var AppointmentGroups = []AppointmentGroup{GroupAppointmentStatus, GroupAppointmentType, GroupAppointmentProvider, GroupAppointmentMonth, GroupAppointmentWeekday}

// GroupAppointments counts the appointments q selects by one field.
func (r Reader) GroupAppointments(ctx context.Context, q AppointmentQuery, by AppointmentGroup) ([]GroupCount, error) {
	var key string
	switch by {
	case GroupAppointmentStatus:
		key = "a.status"
	case GroupAppointmentType:
		key = "a.type"
	case GroupAppointmentProvider:
		key = "a.provider"
	case GroupAppointmentMonth:
		key = "strftime(a.starts_at, '%Y-%m')"
	case GroupAppointmentWeekday:
		key = "dayname(a.starts_at)"
	default:
		return nil, fmt.Errorf("group appointments: unknown field %q", by)
	}
	var err error
	if q.Patients, err = r.resolveMRNs(ctx, q.Patients); err != nil {
		return nil, err
	}
	w := q.conditions()
	return r.groups(ctx, "group appointments", `SELECT `+key+` AS k, count(*) FROM `+q.source()+` WHERE `+
		w.sql()+` GROUP BY k ORDER BY count(*) DESC, k`, w.args)
}

// FindInteractions lists interactions, newest first. limit 0 means all.
func (r Reader) FindInteractions(ctx context.Context, q InteractionQuery, limit int) ([]Interaction, error) {
	var err error
	if q.Patients, err = r.resolveMRNs(ctx, q.Patients); err != nil {
		return nil, err
	}
	w := q.conditions()
	sqlText := `SELECT i.id, coalesce(i.external_id, ''), i.patient_id, p.mrn, i.occurred_at, i.channel, i.direction, i.staff, i.summary
		FROM interactions i JOIN patients p ON p.id = i.patient_id WHERE ` + w.sql() + ` ORDER BY i.occurred_at DESC, i.id DESC`
	if limit > 0 {
		sqlText += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := r.q.QueryContext(ctx, sqlText, w.args...)
	if err != nil {
		return nil, fmt.Errorf("find interactions: %w", err)
	}
	defer rows.Close()
	var out []Interaction
	for rows.Next() {
		var it Interaction
		var channel, direction string
		if err := rows.Scan(&it.ID, &it.ExternalID, &it.PatientID, &it.PatientMRN, &it.At, &channel, &direction, &it.Staff, &it.Summary); err != nil {
			return nil, fmt.Errorf("find interactions: %w", err)
		}
		it.Channel, it.Direction = Channel(channel), Direction(direction)
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find interactions: %w", err)
	}
	return out, nil
}

// CountInteractions counts the interactions q selects.
func (r Reader) CountInteractions(ctx context.Context, q InteractionQuery) (int, error) {
	var err error
	if q.Patients, err = r.resolveMRNs(ctx, q.Patients); err != nil {
		return 0, err
	}
	w := q.conditions()
	var n int
	err = r.q.QueryRowContext(ctx, `SELECT count(*) FROM `+q.source()+` WHERE `+w.sql(), w.args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count interactions: %w", err)
	}
	return n, nil
}

// InteractionGroup is a field interactions can be counted by.
type InteractionGroup string

const (
	GroupInteractionChannel   InteractionGroup = "channel"
	GroupInteractionDirection InteractionGroup = "direction"
	GroupInteractionStaff     InteractionGroup = "staff"
	GroupInteractionMonth     InteractionGroup = "month"
)

// InteractionGroups lists the fields interactions can be grouped by.
var InteractionGroups = []InteractionGroup{GroupInteractionChannel, GroupInteractionDirection, GroupInteractionStaff, GroupInteractionMonth}

// GroupInteractions counts the interactions q selects by one field.
func (r Reader) GroupInteractions(ctx context.Context, q InteractionQuery, by InteractionGroup) ([]GroupCount, error) {
	var key string
	switch by {
	case GroupInteractionChannel:
		key = "i.channel"
	case GroupInteractionDirection:
		key = "i.direction"
	case GroupInteractionStaff:
		key = "i.staff"
	case GroupInteractionMonth:
		key = "strftime(i.occurred_at, '%Y-%m')"
	default:
		return nil, fmt.Errorf("group interactions: unknown field %q", by)
	}
	var err error
	if q.Patients, err = r.resolveMRNs(ctx, q.Patients); err != nil {
		return nil, err
	}
	w := q.conditions()
	return r.groups(ctx, "group interactions", `SELECT `+key+` AS k, count(*) FROM `+q.source()+` WHERE `+
		w.sql()+` GROUP BY k ORDER BY count(*) DESC, k`, w.args)
}

// ListTags lists every tag with how many patients carry it, by name.
func (r Reader) ListTags(ctx context.Context) ([]TagCount, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT t.name, count(pt.patient_id) FROM tags t
		LEFT JOIN patient_tags pt ON pt.tag_id = t.id GROUP BY t.name ORDER BY t.name`)
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	defer rows.Close()
	var out []TagCount
	for rows.Next() {
		var t TagCount
		if err := rows.Scan(&t.Name, &t.Patients); err != nil {
			return nil, fmt.Errorf("list tags: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TagExists reports whether a tag of that name has been created.
func (r Reader) TagExists(ctx context.Context, name string) (bool, error) {
	var n int
	if err := r.q.QueryRowContext(ctx, `SELECT count(*) FROM tags WHERE name = ?`, name).Scan(&n); err != nil {
		return false, fmt.Errorf("look up tag %s: %w", name, err)
	}
	return n > 0, nil
}

// TaggedAmong returns which of ids already carry tag.
func (r Reader) TaggedAmong(ctx context.Context, tag string, ids []int64) (map[int64]bool, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT pt.patient_id FROM patient_tags pt JOIN tags t ON t.id = pt.tag_id
		WHERE t.name = ? AND pt.patient_id IN (SELECT unnest(?::BIGINT[]))`, tag, ids)
	if err != nil {
		return nil, fmt.Errorf("look up tag %s: %w", tag, err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("look up tag %s: %w", tag, err)
		}
		out[id] = true
	}
	return out, rows.Err()
}
