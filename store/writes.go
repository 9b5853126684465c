package store

import (
	"context"
	"fmt"
	"regexp"
	"time"
)

var tagName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ValidTagName reports whether name is lowercase-kebab, as tags must be.
func ValidTagName(name string) bool { return tagName.MatchString(name) }

// EnsureTag creates the tag if it does not exist yet and returns its id.
func (tx *Tx) EnsureTag(ctx context.Context, name string) (id int64, created bool, err error) {
	if !ValidTagName(name) {
		return 0, false, fmt.Errorf("tag %q is not lowercase-kebab (like refill-overdue)", name)
	}
	err = tx.conn.QueryRowContext(ctx, `SELECT id FROM tags WHERE name = ?`, name).Scan(&id)
	if err == nil {
		return id, false, nil
	}
	err = tx.conn.QueryRowContext(ctx, `INSERT INTO tags (name, created_at) VALUES (?, ?) RETURNING id`, name, tx.Now().UTC()).Scan(&id)
	if err != nil {
		return 0, false, fmt.Errorf("create tag %s: %w", name, err)
	}
	return id, true, nil
}

// AddTag tags every patient in ids that does not carry the tag yet, and
// returns those it tagged. The tag is created if needed.
func (tx *Tx) AddTag(ctx context.Context, tag string, ids []int64) ([]int64, error) {
	tagID, _, err := tx.EnsureTag(ctx, tag)
	if err != nil {
		return nil, err
	}
	sel := idsIn("p.id", ids)
	added, err := tx.idList(ctx, `INSERT INTO patient_tags (patient_id, tag_id, added_by, added_at)
		SELECT p.id, ?, ?, ? FROM patients p
		WHERE `+sel.sql()+`
		  AND p.id NOT IN (SELECT patient_id FROM patient_tags WHERE tag_id = ?)
		RETURNING patient_id`, append(append([]any{tagID, tx.Actor(), tx.Now().UTC()}, sel.args...), tagID)...)
	if err != nil {
		return nil, fmt.Errorf("tag %s: %w", tag, err)
	}
	tx.Touch(added...)
	tx.AddRows(len(added))
	return added, nil
}

// RemoveTag untags every patient in ids that carries the tag, and returns
// those it untagged. The tag itself stays, even with no patients left.
func (tx *Tx) RemoveTag(ctx context.Context, tag string, ids []int64) ([]int64, error) {
	sel := idsIn("patient_id", ids)
	removed, err := tx.idList(ctx, `DELETE FROM patient_tags
		WHERE tag_id = (SELECT id FROM tags WHERE name = ?) AND `+sel.sql()+`
		RETURNING patient_id`, append([]any{tag}, sel.args...)...)
	if err != nil {
		return nil, fmt.Errorf("untag %s: %w", tag, err)
	}
	tx.Touch(removed...)
	tx.AddRows(len(removed))
	return removed, nil
}

// NewInteraction is one interaction to log for a set of patients.
type NewInteraction struct {
	At        time.Time // practice-local wall-clock time
	Channel   Channel
	Direction Direction
	Staff     string
	Summary   string
}

// LogInteraction logs the same interaction for every patient in ids and
// returns the new interaction ids.
func (tx *Tx) LogInteraction(ctx context.Context, in NewInteraction, ids []int64) ([]int64, error) {
	if !in.Channel.Valid() {
		return nil, fmt.Errorf("log interaction: unknown channel %q", in.Channel)
	}
	if !in.Direction.Valid() {
		return nil, fmt.Errorf("log interaction: unknown direction %q", in.Direction)
	}
	// Logged interactions get an external id too, so that an export
	// re-imported into this database updates them rather than copying them.
	// It is written with the row: an update of a large table costs more
	// than the insert.
	sel := idsIn("p.id", ids)
	newIDs, err := tx.idList(ctx, `INSERT INTO interactions (id, external_id, patient_id, occurred_at, channel, direction, staff, summary)
		SELECT n.id, 'CB-I' || n.id, n.patient_id, ?, ?, ?, ?, ?
		FROM (SELECT nextval('interaction_id_seq') AS id, s.patient_id
		      FROM (SELECT p.id AS patient_id FROM patients p WHERE `+sel.sql()+` ORDER BY p.id) s) n
		RETURNING id`, append([]any{Wall(in.At), string(in.Channel), string(in.Direction), in.Staff, in.Summary}, sel.args...)...)
	if err != nil {
		return nil, fmt.Errorf("log interaction: %w", err)
	}
	tx.Touch(ids...)
	tx.AddRows(len(newIDs))
	return newIDs, nil
}

func (tx *Tx) idList(ctx context.Context, q string, args ...any) ([]int64, error) {
	rows, err := tx.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
