package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Staff is a member of the practice's staff, as carebook serve knows them.
type Staff struct {
	Name   string
	Role   string
	OSUser string
	// PINHash is the PIN's argon2id hash, or "".
	PINHash     string
	FailedPINs  int
	LockedUntil time.Time
	Disabled    bool
}

const staffColumns = `name, role, coalesce(os_user, ''), coalesce(pin_hash, ''), failed_pins, locked_until, disabled_at IS NOT NULL`

func scanStaff(row scanner) (Staff, error) {
	var s Staff
	var locked sql.NullTime
	if err := row.Scan(&s.Name, &s.Role, &s.OSUser, &s.PINHash, &s.FailedPINs, &locked, &s.Disabled); err != nil {
		return s, err
	}
	if locked.Valid {
		s.LockedUntil = locked.Time.UTC()
	}
	return s, nil
}

// ListStaff lists every staff member, by name.
func (r Reader) ListStaff(ctx context.Context) ([]Staff, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+staffColumns+` FROM staff ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	defer rows.Close()
	var out []Staff
	for rows.Next() {
		s, err := scanStaff(rows)
		if err != nil {
			return nil, fmt.Errorf("list staff: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// StaffByName is one staff member, or ErrNotFound.
func (r Reader) StaffByName(ctx context.Context, name string) (Staff, error) {
	s, err := scanStaff(r.q.QueryRowContext(ctx, `SELECT `+staffColumns+` FROM staff WHERE lower(name) = lower(?)`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Staff{}, ErrNotFound
	}
	if err != nil {
		return Staff{}, fmt.Errorf("look up staff %s: %w", name, err)
	}
	return s, nil
}

// StaffForOSUser lists the staff members mapped to an OS account, the
// disabled ones too: a disabled member's account is told so, rather than
// that it is nobody's.
func (r Reader) StaffForOSUser(ctx context.Context, osUser string) ([]Staff, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+staffColumns+` FROM staff WHERE os_user = ? ORDER BY name`, osUser)
	if err != nil {
		return nil, fmt.Errorf("look up staff: %w", err)
	}
	defer rows.Close()
	var out []Staff
	for rows.Next() {
		s, err := scanStaff(rows)
		if err != nil {
			return nil, fmt.Errorf("look up staff: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// AddStaff creates a staff member.
func (tx *Tx) AddStaff(ctx context.Context, s Staff) error {
	now := tx.store.auditNow().UTC()
	_, err := tx.conn.ExecContext(ctx, `INSERT INTO staff (name, role, os_user, pin_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		s.Name, s.Role, nullable(s.OSUser), nullable(s.PINHash), now, now)
	if err != nil {
		return fmt.Errorf("add staff %s: %w", s.Name, err)
	}
	tx.AddRows(1)
	return nil
}

// UpdateStaff writes a staff member's role, OS account, PIN, lockout and
// whether they are disabled.
func (tx *Tx) UpdateStaff(ctx context.Context, s Staff) error {
	var locked any
	if !s.LockedUntil.IsZero() {
		locked = s.LockedUntil.UTC()
	}
	var disabled any
	if s.Disabled {
		disabled = tx.store.auditNow().UTC()
	}
	res, err := tx.conn.ExecContext(ctx, `UPDATE staff SET role = ?, os_user = ?, pin_hash = ?, failed_pins = ?, locked_until = ?,
		disabled_at = CASE WHEN ? IS NULL THEN NULL ELSE coalesce(disabled_at, ?) END, updated_at = ? WHERE name = ?`,
		s.Role, nullable(s.OSUser), nullable(s.PINHash), s.FailedPINs, locked, disabled, disabled, tx.store.auditNow().UTC(), s.Name)
	if err != nil {
		return fmt.Errorf("update staff %s: %w", s.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	tx.AddRows(1)
	return nil
}

// CountManagers counts the enabled managers: the last one cannot be
// disabled.
func (r Reader) CountManagers(ctx context.Context) (int, error) {
	var n int
	err := r.q.QueryRowContext(ctx, `SELECT count(*) FROM staff WHERE role = 'manager' AND disabled_at IS NULL`).Scan(&n)
	return n, err
}
