package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// smallList is how many values a filter binds one placeholder each:
// DuckDB answers an IN list of constants from the column's index, where a
// bound list (unnest) or an expression (upper(mrn)) is a scan of every
// patient, tens of times slower on a large practice.
const smallList = 64

// placeholders is "?, ?, …" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// idsIn is the condition "col is one of ids": one placeholder each for a
// few (answered from the index), a bound list for many.
func idsIn(col string, ids []int64) where {
	var w where
	switch {
	case len(ids) == 0:
		w.add("FALSE")
	case len(ids) <= smallList:
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		w.add(fmt.Sprintf("%s IN (%s)", col, placeholders(len(ids))), args...)
	default:
		w.add(fmt.Sprintf("%s IN (SELECT unnest(?::BIGINT[]))", col), ids)
	}
	return w
}

// resolveMRNs turns f's MRNs into patient ids, so that the queries f
// renders into do not compare every patient's MRN ignoring case. An MRN as
// typed is found through the unique index; only one not found so is
// matched ignoring case, by a scan, as MatchPatients does.
func (r Reader) resolveMRNs(ctx context.Context, f PatientFilter) (PatientFilter, error) {
	if f.MRNs == nil {
		return f, nil
	}
	ids, err := r.idsByMRN(ctx, f.MRNs)
	if err != nil {
		return f, err
	}
	if f.IDs != nil {
		ids = slices.DeleteFunc(ids, func(id int64) bool { return !slices.Contains(f.IDs, id) })
	}
	f.IDs, f.MRNs = ids, nil
	return f, nil
}

// idsByMRN returns the ids of the patients with these MRNs (never nil).
func (r Reader) idsByMRN(ctx context.Context, mrns []string) ([]int64, error) {
	ids := []int64{}
	found := map[string]bool{}
	exact := func(q string, args ...any) error {
		rows, err := r.q.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("select patients by MRN: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var mrn string
			if err := rows.Scan(&id, &mrn); err != nil {
				return fmt.Errorf("select patients by MRN: %w", err)
			}
			ids, found[mrn] = append(ids, id), true
		}
		return rows.Err()
	}
	var err error
	if len(mrns) <= smallList {
		args := make([]any, len(mrns))
		for i, m := range mrns {
			args[i] = m
		}
		if len(mrns) > 0 {
			err = exact(`SELECT id, mrn FROM patients WHERE mrn IN (`+placeholders(len(mrns))+`)`, args...)
		}
	} else {
		err = exact(`SELECT id, mrn FROM patients WHERE mrn IN (SELECT unnest(?::VARCHAR[]))`, mrns)
	}
	if err != nil {
		return nil, err
	}
	var rest []string
	for _, m := range mrns {
		if !found[m] {
			rest = append(rest, strings.ToUpper(m))
		}
	}
	if len(rest) > 0 {
		rows, err := r.q.QueryContext(ctx, `SELECT id FROM patients WHERE list_contains(?::VARCHAR[], upper(mrn))`, rest)
		if err != nil {
			return nil, fmt.Errorf("select patients by MRN: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, fmt.Errorf("select patients by MRN: %w", err)
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("select patients by MRN: %w", err)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}
