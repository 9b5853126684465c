package store

import (
	"context"
	"fmt"
)

// RenameTag moves every patient carrying tag from to tag to (created if
// needed, merged into if it exists), then drops from, and returns the
// patients that carried from. Links are moved rather than the tag row
// updated, so that renaming onto an existing tag merges the two; who added
// each link, and when, is kept.
func (tx *Tx) RenameTag(ctx context.Context, from, to string) ([]int64, error) {
	if from == to {
		return nil, fmt.Errorf("rename tag %s: the new name is the same", from)
	}
	toID, _, err := tx.EnsureTag(ctx, to)
	if err != nil {
		return nil, err
	}
	ids, err := tx.idList(ctx, `SELECT pt.patient_id FROM patient_tags pt JOIN tags t ON t.id = pt.tag_id
		WHERE t.name = ? ORDER BY pt.patient_id`, from)
	if err != nil {
		return nil, fmt.Errorf("rename tag %s: %w", from, err)
	}
	if _, err := tx.conn.ExecContext(ctx, `INSERT INTO patient_tags (patient_id, tag_id, added_by, added_at)
		SELECT pt.patient_id, ?, pt.added_by, pt.added_at FROM patient_tags pt JOIN tags t ON t.id = pt.tag_id
		WHERE t.name = ? AND pt.patient_id NOT IN (SELECT patient_id FROM patient_tags WHERE tag_id = ?)`, toID, from, toID); err != nil {
		return nil, fmt.Errorf("rename tag %s: %w", from, err)
	}
	if err := tx.dropTag(ctx, from); err != nil {
		return nil, fmt.Errorf("rename tag %s: %w", from, err)
	}
	tx.Touch(ids...)
	tx.AddRows(len(ids))
	return ids, nil
}

// DeleteTag removes tag from every patient and drops it, and returns the
// patients that carried it.
func (tx *Tx) DeleteTag(ctx context.Context, tag string) ([]int64, error) {
	ids, err := tx.idList(ctx, `SELECT pt.patient_id FROM patient_tags pt JOIN tags t ON t.id = pt.tag_id
		WHERE t.name = ? ORDER BY pt.patient_id`, tag)
	if err != nil {
		return nil, fmt.Errorf("delete tag %s: %w", tag, err)
	}
	if err := tx.dropTag(ctx, tag); err != nil {
		return nil, fmt.Errorf("delete tag %s: %w", tag, err)
	}
	tx.Touch(ids...)
	tx.AddRows(len(ids))
	return ids, nil
}

// dropTag deletes a tag's links and then the tag itself.
func (tx *Tx) dropTag(ctx context.Context, tag string) error {
	if _, err := tx.conn.ExecContext(ctx, `DELETE FROM patient_tags WHERE tag_id IN (SELECT id FROM tags WHERE name = ?)`, tag); err != nil {
		return err
	}
	_, err := tx.conn.ExecContext(ctx, `DELETE FROM tags WHERE name = ?`, tag)
	return err
}
