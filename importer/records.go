package importer

import (
	"context"
	"fmt"
	"time"

	"github.com/carebook/carebook/store"
)

// wallFormat is how a wall-clock time enters a derived id.
const wallFormat = "2006-01-02T15:04:05.999999999"

const expectedTime = "is not a date and time (expected YYYY-MM-DD HH:MM:SS, MM/DD/YYYY HH:MM or RFC 3339)"

// appointmentImport checks appointment rows and keeps the good ones.
type appointmentImport struct {
	cols  *columns
	rows  []store.Appointment
	lines []int
	seen  map[string]int // external id to the line that first had it
	mrns  []string       // the patients the good rows name
}

func newAppointmentImport(cols *columns, size int) *appointmentImport {
	return &appointmentImport{cols: cols, rows: make([]store.Appointment, 0, size),
		lines: make([]int, 0, size), seen: make(map[string]int, size)}
}

func (a *appointmentImport) len() int { return len(a.rows) }

func (a *appointmentImport) add(r *row) {
	var ap store.Appointment
	ap.PatientMRN = requireMRN(r)
	if v, col := r.get(fieldStartsAt); v == "" {
		r.fail(col, "is empty (every appointment needs a start time)")
	} else if t, ok := r.when(v, col); ok {
		ap.StartsAt = t
	}
	ap.Type, _ = r.get(fieldType)
	ap.Provider, _ = r.get(fieldProvider)
	v, col := r.get(fieldStatus)
	status, ok := lookup(appointmentStatusValues, v)
	if !ok {
		r.fail(col, "is not an appointment status (expected scheduled, completed, no-show or cancelled)")
	}
	ap.Status = status
	id, col, derived := externalID(r)
	if !r.ok() {
		return
	}
	if derived {
		id = derivedID("H-", ap.PatientMRN, ap.StartsAt.Format(wallFormat), ap.Type, ap.Provider)
	}
	if first, dup := a.seen[id]; dup {
		if derived {
			r.fail(-1, "repeats the appointment of line %d (same patient, start, type and provider)", first)
		} else {
			r.fail(col, "repeats line %d", first)
		}
		return
	}
	ap.ExternalID = id
	a.seen[id] = r.line
	a.rows = append(a.rows, ap)
	a.lines = append(a.lines, r.line)
}

func (a *appointmentImport) check(ctx context.Context, rd store.Reader) ([]RowError, error) {
	var bad []RowError
	var err error
	a.rows, a.lines, a.mrns, bad, err = dropUnknownPatients(ctx, rd, a.cols, a.rows, a.lines,
		func(ap *store.Appointment) string { return ap.PatientMRN })
	return bad, err
}

func (a *appointmentImport) write(ctx context.Context, tx *store.Tx) (store.UpsertStats, error) {
	if err := stillKnown(ctx, tx, a.mrns); err != nil {
		return store.UpsertStats{}, err
	}
	return tx.UpsertAppointments(ctx, a.rows)
}

// interactionImport checks interaction rows and keeps the good ones.
type interactionImport struct {
	cols  *columns
	rows  []store.Interaction
	lines []int
	seen  map[string]int
	mrns  []string
}

func newInteractionImport(cols *columns, size int) *interactionImport {
	return &interactionImport{cols: cols, rows: make([]store.Interaction, 0, size),
		lines: make([]int, 0, size), seen: make(map[string]int, size)}
}

func (in *interactionImport) len() int { return len(in.rows) }

func (in *interactionImport) add(r *row) {
	var it store.Interaction
	it.PatientMRN = requireMRN(r)
	if v, col := r.get(fieldAt); v == "" {
		r.fail(col, "is empty (every interaction needs a time)")
	} else if t, ok := r.when(v, col); ok {
		it.At = t
	}
	v, col := r.get(fieldChannel)
	if ch, ok := lookup(channelValues, v); ok {
		it.Channel = ch
	} else {
		r.fail(col, "is not a channel (expected call, sms, email, in-person, portal, letter or note)")
	}
	v, col = r.get(fieldDirection)
	if d, ok := lookup(directionValues, v); ok {
		it.Direction = d
	} else {
		r.fail(col, "is not a direction (expected inbound or outbound)")
	}
	it.Staff, _ = r.get(fieldStaff)
	it.Summary, _ = r.get(fieldSummary)
	id, col, derived := externalID(r)
	if !r.ok() {
		return
	}
	if derived {
		id = derivedID("H-", it.PatientMRN, it.At.Format(wallFormat), string(it.Channel), string(it.Direction), it.Summary)
	}
	if first, dup := in.seen[id]; dup {
		if derived {
			r.fail(-1, "repeats the interaction of line %d (same patient, time, channel, direction and summary)", first)
		} else {
			r.fail(col, "repeats line %d", first)
		}
		return
	}
	it.ExternalID = id
	in.seen[id] = r.line
	in.rows = append(in.rows, it)
	in.lines = append(in.lines, r.line)
}

func (in *interactionImport) check(ctx context.Context, rd store.Reader) ([]RowError, error) {
	var bad []RowError
	var err error
	in.rows, in.lines, in.mrns, bad, err = dropUnknownPatients(ctx, rd, in.cols, in.rows, in.lines,
		func(it *store.Interaction) string { return it.PatientMRN })
	return bad, err
}

func (in *interactionImport) write(ctx context.Context, tx *store.Tx) (store.UpsertStats, error) {
	if err := stillKnown(ctx, tx, in.mrns); err != nil {
		return store.UpsertStats{}, err
	}
	return tx.UpsertInteractions(ctx, in.rows)
}

// when reads the date and time v of column col and checks it against the
// store's limits; problems go to r.
func (r *row) when(v string, col int) (time.Time, bool) {
	t, ok := parseWall(v)
	if !ok {
		r.fail(col, expectedTime)
		return t, false
	}
	if err := store.CheckWhen(t); err != nil {
		r.fail(col, "%v", err)
		return t, false
	}
	return t, true
}

// externalID reads the row's id. A file with no id column gets ids derived
// from each row's key fields, so that a re-import updates rather than
// duplicates; in a file that has one, an empty id is a bad row, so that a
// record cannot get a second id once the export fills it in.
func externalID(r *row) (id string, col int, derived bool) {
	if !r.cols.has(fieldExternalID) {
		return "", -1, true
	}
	id, col = r.get(fieldExternalID)
	if id == "" {
		r.fail(col, "is empty")
	}
	return id, col, false
}

// requireMRN reads the patient's MRN of an appointment or interaction.
func requireMRN(r *row) string {
	v, col := r.get(fieldMRN)
	if v == "" {
		r.fail(col, "is empty (every row needs the patient's MRN)")
	}
	return v
}

// dropUnknownPatients removes the rows whose patient is not in the database
// and returns them as bad rows, with the MRNs the remaining rows name.
func dropUnknownPatients[T any](ctx context.Context, rd store.Reader, cols *columns, rows []T, lines []int,
	mrn func(*T) string) ([]T, []int, []string, []RowError, error) {
	if len(rows) == 0 {
		return rows, lines, nil, nil, nil
	}
	distinct := make(map[string]struct{}, len(rows)/2)
	mrns := make([]string, 0, len(rows)/2)
	for i := range rows {
		m := mrn(&rows[i])
		if _, ok := distinct[m]; !ok {
			distinct[m] = struct{}{}
			mrns = append(mrns, m)
		}
	}
	unknown, err := rd.UnknownMRNs(ctx, mrns)
	if err != nil {
		return rows, lines, nil, nil, err
	}
	if len(unknown) == 0 {
		return rows, lines, mrns, nil, nil
	}
	var bad []RowError
	msg := fmt.Sprintf("%q is not a patient in the database (import the patients first)", cols.header(fieldMRN))
	keep := 0
	for i := range rows {
		if unknown[mrn(&rows[i])] {
			bad = append(bad, RowError{Line: lines[i], Message: msg})
			continue
		}
		rows[keep], lines[keep] = rows[i], lines[i]
		keep++
	}
	known := mrns[:0]
	for _, m := range mrns {
		if !unknown[m] {
			known = append(known, m)
		}
	}
	return rows[:keep], lines[:keep], known, bad, nil
}

// stillKnown checks, inside the write, that no patient the rows name was
// removed since the rows were checked: the store's upserts would silently
// skip such rows.
func stillKnown(ctx context.Context, tx *store.Tx, mrns []string) error {
	gone, err := tx.UnknownMRNs(ctx, mrns)
	if err != nil {
		return err
	}
	if len(gone) > 0 {
		return fmt.Errorf("%d patients named in the file were removed during the import", len(gone))
	}
	return nil
}
