// Package importer turns a CSV export from a cloud CRM (or the practice's
// own spreadsheet) into patients, appointments or interactions, and writes
// them through the store in one transaction with one audit entry.
//
// It recognises the headers of the clinic fixtures, HubSpot contact exports
// and Mailchimp audience exports, checks every value, and reports bad rows
// by line number and column header only: its messages never carry patient
// data, because they go to stderr and into logs. It holds no SQL.
package importer

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/carebook/carebook/internal/charset"
	"github.com/carebook/carebook/internal/csvsafe"
	"github.com/carebook/carebook/store"
)

// Kind is what a file holds.
type Kind string

const (
	KindPatients     Kind = "patients"
	KindAppointments Kind = "appointments"
	KindInteractions Kind = "interactions"
)

// Kinds lists every kind of file Import reads.
var Kinds = []Kind{KindPatients, KindAppointments, KindInteractions}

// ParseKind reads a kind as a user types it.
func ParseKind(s string) (Kind, error) {
	k := Kind(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Kinds, k) {
		return "", fmt.Errorf("unknown import kind %q (expected patients, appointments or interactions)", s)
	}
	return k, nil
}

// Options say what to import and how.
type Options struct {
	Kind Kind
	// Map overrides the automatic mapping: header (matched ignoring case)
	// to field, as in --map "Cell=phone". The field "ignore" drops a column.
	Map map[string]string
	// DryRun validates everything, unknown MRNs included, and counts what
	// the import would change; it writes nothing.
	DryRun bool
	// SkipBad imports the good rows and lists the bad ones. Without it, any
	// bad row means nothing is imported.
	SkipBad bool
	// Progress, if set, is called as bytes are read; total is -1 when the
	// size is unknown.
	Progress func(done, total int64)
	// Audit says who imports, for the audit row (its channel and action
	// are the importer's).
	Audit store.AuditEntry
	// Now is the import time; dates of birth after it are refused. Zero
	// means the store's clock. (The store stamps rows with its own clock.)
	Now time.Time
	// Encoding is the file's encoding when it has no byte order mark;
	// charset.Auto means UTF-8, checked.
	Encoding charset.Encoding
}

// RowError is one bad row. Message names the column and what was expected,
// never the value.
type RowError struct {
	Line    int // physical line in the file; the header is line 1
	Message string
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

// BadRowsError is returned when bad rows stopped the import.
type BadRowsError struct {
	Bad []RowError
}

func (e *BadRowsError) Error() string {
	rows := "rows"
	if len(e.Bad) == 1 {
		rows = "row"
	}
	return fmt.Sprintf("%d bad %s; nothing was imported (use --skip-bad to import the good rows)", len(e.Bad), rows)
}

// Note is the text of a patient's Notes cell. Import does not store notes
// (`carebook migrate` keeps them as note interactions); the text is PHI and
// must never be printed, so Note prints without it.
type Note struct {
	Line int
	MRN  string
	Text string
}

func (n Note) String() string {
	return fmt.Sprintf("note on line %d (%d characters)", n.Line, len(n.Text))
}
func (n Note) GoString() string { return n.String() }

// Result says what an import found and did.
type Result struct {
	Kind    Kind
	File    string // base name, as the audit log records it
	Rows    int    // data rows read, not counting the header or blank lines
	Valid   int    // rows that passed every check
	Mapping []ColumnMapping
	Bad     []RowError // in line order
	Notes   []Note     // patients' notes, collected and not written

	Inserted, Updated, Unchanged int
	TagLinks                     int // patient-tag links added

	DryRun  bool
	Written bool // the transaction committed
}

// Skipped lists, in file order, the headers of the columns the import does
// not store: those no field takes, and a patients file's notes column,
// whose text only `carebook migrate` keeps.
func (r Result) Skipped() []string {
	var out []string
	for _, m := range r.Mapping {
		if m.Field == "" || m.Field == string(fieldNotes) {
			out = append(out, m.Header)
		}
	}
	return out
}

// handler validates and writes the rows of one kind.
type handler interface {
	// add checks one row and keeps it if it is good; problems go to r.
	add(r *row)
	// check runs whole-file checks after the last row, drops the rows that
	// fail them and returns those as bad rows.
	check(ctx context.Context, rd store.Reader) ([]RowError, error)
	len() int
	write(ctx context.Context, tx *store.Tx) (store.UpsertStats, error)
}

// Import reads a CSV file of opts.Kind from r and writes it to st in one
// transaction. path names the file in the audit log (base name only) and is
// opened when r is nil.
//
// Bad rows are listed in the Result. Without opts.SkipBad any bad row makes
// Import write nothing and return a *BadRowsError. A file that cannot be read
// at all (no header, a missing required column, a quote left open) is an
// error with its line number.
func Import(ctx context.Context, st *store.Store, path string, r io.Reader, opts Options) (Result, error) {
	if st == nil {
		return Result{Kind: opts.Kind, File: baseName(path), DryRun: opts.DryRun}, errors.New("import: no database")
	}
	if opts.Now.IsZero() {
		opts.Now = st.Now()
	}
	p, err := Parse(ctx, path, r, opts)
	if err != nil {
		return p.Result, err
	}
	return p.Apply(ctx, st)
}

// Parsed is a file read and checked on its own, before the database is
// needed: the parse of a large file holds nothing.
type Parsed struct {
	Result
	opts Options
	h    handler
}

// Parse reads and validates every row of a CSV file of opts.Kind, without
// the database. opts.Now must be set. The Result so far is in the Parsed
// even on error.
func Parse(ctx context.Context, path string, r io.Reader, opts Options) (*Parsed, error) {
	p := &Parsed{Result: Result{Kind: opts.Kind, File: baseName(path), DryRun: opts.DryRun}, opts: opts}
	if !slices.Contains(Kinds, opts.Kind) {
		return p, fmt.Errorf("unknown import kind %q (expected patients, appointments or interactions)", opts.Kind)
	}
	if r == nil {
		f, err := os.Open(path)
		if err != nil {
			return p, fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		r = f
	}
	total := sizeOf(r)
	if opts.Progress != nil {
		r = &progressReader{r: r, total: total, fn: opts.Progress}
	}
	h, err := read(ctx, &p.Result, r, total, opts.Now, opts)
	if err != nil {
		return p, err
	}
	if opts.Progress != nil {
		r.(*progressReader).finish()
	}
	p.h = h
	return p, nil
}

// Apply checks the parsed rows against the database (unknown MRNs) and
// writes them in one transaction, or rehearses the write for a dry run.
func (p *Parsed) Apply(ctx context.Context, st *store.Store) (Result, error) {
	res, opts, h := p.Result, p.opts, p.h
	extra, err := h.check(ctx, st.Reader())
	if err != nil {
		return res, err
	}
	if len(extra) > 0 {
		res.Bad = append(slices.Clone(res.Bad), extra...)
		slices.SortStableFunc(res.Bad, func(a, b RowError) int { return a.Line - b.Line })
	}
	res.Valid = h.len()
	if len(res.Bad) > 0 && !opts.SkipBad {
		return res, &BadRowsError{Bad: res.Bad}
	}
	if res.Valid == 0 {
		return res, nil
	}

	var stats store.UpsertStats
	write := func(tx *store.Tx) error {
		var err error
		stats, err = h.write(ctx, tx)
		return err
	}
	if opts.DryRun {
		// The same write, rolled back: the counts are what an import
		// would do now, not zeros.
		if err := st.Rehearse(ctx, write); err != nil {
			return res, fmt.Errorf("import %s (dry run): %w", res.File, err)
		}
	} else {
		entry := opts.Audit
		entry.Channel, entry.Action = "import", auditAction(res, opts)
		if err := st.Write(ctx, entry, write); err != nil {
			// The transaction rolled back.
			return res, fmt.Errorf("import %s: nothing was written: %w", res.File, err)
		}
		res.Written = true
	}
	res.Inserted, res.Updated, res.Unchanged, res.TagLinks = stats.Inserted, stats.Updated, stats.Unchanged, stats.TagLinks
	return res, nil
}

// read parses and validates every row, filling res.Rows, res.Bad,
// res.Mapping and res.Notes, and returns the handler holding the good rows.
func read(ctx context.Context, res *Result, r io.Reader, total int64, now time.Time, opts Options) (handler, error) {
	// Decoded, the text has no byte order mark (Excel's "CSV UTF-8"), which
	// would make a quoted first header look like a bare quote.
	cr := csv.NewReader(charset.NewReader(r, opts.Encoding))
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1

	first, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s is empty: expected a header row", res.File)
	}
	if err != nil {
		return nil, readError(res.File, err)
	}
	headers := slices.Clone(first) // ReuseRecord recycles first
	cols, mapping, err := mapColumns(opts.Kind, headers, opts.Map)
	res.Mapping = mapping
	if err != nil {
		return nil, err
	}

	// About 100 bytes a row is typical of these exports.
	size := 1024
	if total > 0 {
		size = int(min(total/100+16, 1<<22))
	}
	h := newHandler(opts.Kind, cols, now, size)
	rw := &row{cols: cols}
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("import cancelled; nothing was written: %w", err)
			}
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && pe.Line == pe.StartLine {
				// The reader has skipped the rest of this line and can go on.
				res.Rows++
				res.Bad = append(res.Bad, RowError{Line: pe.StartLine, Message: csvProblem(pe)})
				continue
			}
			return nil, readError(res.File, err)
		}
		if blank(rec) {
			continue
		}
		res.Rows++
		line, _ := cr.FieldPos(0)
		if len(rec) != len(headers) && (len(rec) < len(headers) || !blank(rec[len(headers):])) {
			res.Bad = append(res.Bad, RowError{Line: line,
				Message: fmt.Sprintf("has %d fields but the header has %d", len(rec), len(headers))})
			continue
		}
		rw.reset(line, rec)
		// A value beyond the limits is not parsed further: it may be
		// megabytes long.
		if rw.checkLimits(); rw.ok() {
			h.add(rw)
		}
		if len(rw.problems) > 0 {
			res.Bad = append(res.Bad, RowError{Line: line, Message: strings.Join(rw.problems, "; ")})
		}
	}
	if p, ok := h.(*patientImport); ok {
		res.Notes = p.notes
	}
	return h, nil
}

func newHandler(kind Kind, cols *columns, now time.Time, size int) handler {
	switch kind {
	case KindAppointments:
		return newAppointmentImport(cols, size)
	case KindInteractions:
		return newInteractionImport(cols, size)
	}
	return newPatientImport(cols, now, size)
}

// readError explains a CSV error the reader cannot go on from.
func readError(file string, err error) error {
	var pe *csv.ParseError
	var ce *charset.Error
	if errors.As(err, &ce) {
		return fmt.Errorf("%s %w", file, err)
	}
	if errors.As(err, &pe) {
		return fmt.Errorf("%s line %d: %s; the file cannot be read past it", file, pe.StartLine, csvProblem(pe))
	}
	return fmt.Errorf("read %s: %w", file, err)
}

// csvProblem says what is wrong with a line without quoting it.
func csvProblem(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return fmt.Sprintf(`has a " in an unquoted field (at position %d); quote the field and double the " inside it`, pe.Column)
	case errors.Is(pe.Err, csv.ErrQuote) && pe.Line != pe.StartLine:
		return fmt.Sprintf(`opens a quoted field that is not closed before line %d`, pe.Line)
	case errors.Is(pe.Err, csv.ErrQuote):
		return fmt.Sprintf(`has a quoted field that is not closed properly (at position %d); a " inside quotes must be doubled`, pe.Column)
	}
	return "is not valid CSV"
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// row is the record being checked, and what is wrong with it.
type row struct {
	line     int
	rec      []string
	cols     *columns
	problems []string
}

func (r *row) reset(line int, rec []string) {
	r.line, r.rec, r.problems = line, rec, r.problems[:0]
}

// get returns the value of f from the best column that has one, and that
// column's index; the index is -1 when no column fills f.
func (r *row) get(f field) (string, int) {
	idx := r.cols.byField[f]
	for _, i := range idx {
		if v := r.cell(i); v != "" {
			return v, i
		}
	}
	if len(idx) > 0 {
		return "", idx[0]
	}
	return "", -1
}

// cell is the value of column i: trimmed, and without the quote that
// `carebook export` puts before a cell a spreadsheet would run as a formula
// (see csvsafe), so that an export re-imports as it was.
func (r *row) cell(i int) string {
	return csvsafe.Unescape(strings.TrimSpace(r.rec[i]))
}

// checkLimits checks every mapped cell against the store's limits (length,
// control characters), whichever column get will pick.
func (r *row) checkLimits() {
	for i, f := range r.cols.fieldOf {
		if f == "" {
			continue
		}
		if err := checkCell(f, r.cell(i)); err != nil {
			r.fail(i, "%v", err)
		}
	}
}

// checkCell checks one value of field f against the store's limits.
func checkCell(f field, v string) error {
	switch f {
	case fieldFirstName, fieldLastName:
		return store.CheckLine(v, store.MaxNameLen)
	case fieldEmail:
		return store.CheckLine(v, store.MaxEmailLen)
	case fieldMRN, fieldHubSpotID, fieldMailchimpID, fieldExternalID:
		return store.CheckLine(v, store.MaxIDLen)
	case fieldSummary, fieldNotes, fieldTags:
		return store.CheckText(v, store.MaxTextLen)
	}
	// Everything else is a label (city, language, provider, staff) or a
	// value read against a list or a layout (a date, a status).
	return store.CheckLine(v, store.MaxLabelLen)
}

// fail records a problem with column col (-1 for the row as a whole). The
// message must not contain the value.
func (r *row) fail(col int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if col >= 0 {
		msg = fmt.Sprintf("%q %s", r.cols.headers[col], msg)
	}
	r.problems = append(r.problems, msg)
}

func (r *row) ok() bool { return len(r.problems) == 0 }

func auditAction(res Result, opts Options) string {
	type args struct {
		Kind    Kind   `json:"kind"`
		File    string `json:"file"`
		Rows    int    `json:"rows"`
		Skipped int    `json:"skipped_bad_rows,omitempty"`
	}
	b, _ := json.Marshal(struct {
		Tool string `json:"tool"`
		Args args   `json:"args"`
	}{"import", args{opts.Kind, res.File, res.Valid, len(res.Bad)}})
	return string(b)
}

func baseName(path string) string {
	if path == "" || path == "-" {
		return "stdin"
	}
	return filepath.Base(path)
}

// sizeOf finds the size of r when it can be known without reading it.
func sizeOf(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Stat() (os.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size()
		}
	case interface{ Size() int64 }:
		return v.Size()
	case interface{ Len() int }:
		return int64(v.Len())
	}
	return -1
}

type progressReader struct {
	r     io.Reader
	done  int64
	total int64
	fn    func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.done += int64(n)
		p.fn(p.done, p.total)
	}
	return n, err
}

// finish reports the end, so that a bar of unknown size completes too.
func (p *progressReader) finish() {
	if p.total < 0 {
		p.fn(p.done, p.done)
	}
}
