// Package migrate moves a practice out of a cloud CRM (HubSpot, Mailchimp,
// Keap or any CSV of contacts) into Carebook in one guided step: it scans
// each export for PHI, proposes a column mapping, merges the same person
// found twice, and writes every patient, tag and note in one transaction
// with one audit entry.
//
// Everything it reports names files, headers, row numbers and counts, never
// a cell's value: its output goes to terminals, logs and the audit log.
package migrate

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/carebook/carebook/importer"
	"github.com/carebook/carebook/internal/charset"
	"github.com/carebook/carebook/internal/csvsafe"
	"github.com/carebook/carebook/phiscan"
)

// Where a column's field came from.
const (
	SourceHeader  = "header"   // recognised from the header
	SourceNone    = "none"     // not recognised: skipped unless mapped
	SourceMapFile = "map file" // set by --map
	SourceUser    = "you"      // changed at the prompt
)

// Column is one column of a file: what the PHI scan found in it and which
// field it fills.
type Column struct {
	Index  int    `json:"index"`
	Header string `json:"header"`
	// Field is what the column fills; "" when it is skipped.
	Field string `json:"field"`
	// Source says why: header, none, map file or you.
	Source string `json:"source"`
	// Why adds a note for people, as "city part only".
	Why string `json:"why,omitempty"`
	// From the PHI scan: what the column holds, in how many rows, and how
	// many rows mention conditions, medications, allergies, visit types.
	Holds    string         `json:"holds"`
	Filled   int            `json:"filled"`
	Mentions map[string]int `json:"mentions,omitempty"`

	rank int
}

// File is one export.
type File struct {
	Path   string `json:"-"`
	Name   string `json:"file"` // base name, unless two files share it
	Vendor Vendor `json:"vendor"`
	Rows   int    `json:"rows"`
	// HoldsPHI and Recommendation are the PHI scan's verdict.
	HoldsPHI       bool                   `json:"holds_phi"`
	Recommendation phiscan.Recommendation `json:"recommendation"`
	Columns        []Column               `json:"columns"`

	// AllOptedIn: a Mailchimp export of subscribed members, where every
	// member opted in even when the opt-in time is blank.
	AllOptedIn bool `json:"all_opted_in,omitempty"`

	records [][]string
	rowNums []int // spreadsheet row of each record; the header is row 1
}

// Plan is what Inspect found: the files, their inventories and the mapping
// to confirm or change before Resolve.
type Plan struct {
	Files []*File `json:"files"`
}

// Inspect scans and reads every file and proposes a mapping. A file that
// cannot be read as CSV is an error naming its line, never its content.
// enc is the files' encoding when they have no byte order mark
// (charset.Auto: UTF-8, checked).
func Inspect(ctx context.Context, paths []string, enc charset.Encoding) (*Plan, error) {
	if len(paths) == 0 {
		return nil, errors.New("migrate: no files given")
	}
	names := displayNames(paths)
	p := &Plan{}
	for i, path := range paths {
		rep, err := phiscan.ScanFile(ctx, path, phiscan.Options{Encoding: enc})
		if err != nil {
			return nil, err
		}
		f, err := readFile(ctx, path, names[i], enc)
		if err != nil {
			return nil, err
		}
		f.HoldsPHI, f.Recommendation = rep.HoldsPHI, rep.Recommendation
		for ci := range f.Columns {
			c := &f.Columns[ci]
			if ci < len(rep.Columns) {
				rc := rep.Columns[ci]
				c.Holds = string(rc.Category)
				if rc.Flagged() && rc.Kind != "" {
					c.Holds += "/" + rc.Kind
				}
				c.Filled, c.Mentions = rc.Filled, rc.Mentions
			}
		}
		propose(f)
		p.Files = append(p.Files, f)
	}
	return p, nil
}

// displayNames are the files' base names, or the paths as given when two
// files share a base name.
func displayNames(paths []string) []string {
	out := make([]string, len(paths))
	count := map[string]int{}
	for _, p := range paths {
		count[filepath.Base(p)]++
	}
	for i, p := range paths {
		if count[filepath.Base(p)] > 1 {
			out[i] = p
		} else {
			out[i] = filepath.Base(p)
		}
	}
	return out
}

func readFile(ctx context.Context, path, name string, enc charset.Encoding) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer fh.Close()
	cr := csv.NewReader(charset.NewReader(fh, enc))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s is empty: expected a header row", name)
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	f := &File{Path: path, Name: name}
	keys := make([]string, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		f.Columns = append(f.Columns, Column{Index: i, Header: h})
		keys[i] = importer.HeaderKey(h)
	}
	f.Vendor = detectVendor(keys)
	f.AllOptedIn = f.Vendor == VendorMailchimp && slices.Contains(keys, "optintime") &&
		!slices.Contains(keys, "unsubtime") && !slices.Contains(keys, "cleantime")
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(name, err)
		}
		if blank(rec) {
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) > len(header) && !blank(rec[len(header):]) || len(rec) < len(header) {
			return nil, fmt.Errorf("%s line %d has %d fields but the header has %d", name, line, len(rec), len(header))
		}
		rec = rec[:len(header)]
		for i, v := range rec {
			// As import reads a cell: without the quote an export puts
			// before a formula-like value (see csvsafe).
			rec[i] = csvsafe.Unescape(strings.TrimSpace(v))
		}
		f.records = append(f.records, rec)
		f.rowNums = append(f.rowNums, len(f.records)+1)
	}
	f.Rows = len(f.records)
	return f, nil
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	var ce *charset.Error
	if errors.As(err, &ce) {
		return fmt.Errorf("%s %w", name, err)
	}
	if errors.As(err, &pe) {
		return fmt.Errorf("%s line %d is not valid CSV (%v); nothing was read past it", name, pe.StartLine, pe.Err)
	}
	return fmt.Errorf("read %s: %w", name, err)
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// propose fills each column's field from its header.
func propose(f *File) {
	for i := range f.Columns {
		c := &f.Columns[i]
		field, rank := recognise(c.Header, f.Vendor)
		c.Field, c.rank = field, rank
		c.Source = SourceHeader
		if field == "" {
			c.Source = SourceNone
		}
		switch {
		case field == FieldCity && importer.HeaderKey(c.Header) == "address":
			c.Why = "city part only"
		case field == FieldRecordID:
			c.Why = fmt.Sprintf("MRN %s<id> when there is no MRN", f.Vendor.idPrefix())
		case field == FieldMarketingConsent && f.AllOptedIn:
			c.Why = "subscribed export: every member opted in"
		case field == FieldDOB && importer.HeaderKey(c.Header) == "birthday" && f.Vendor == VendorMailchimp:
			c.Why = "month and day only: not kept"
		}
	}
}

// columnsFor lists the columns filling field in file f, best first: a
// column mapped by hand before recognised ones, then by alias rank, then
// by position.
func (f *File) columnsFor(field string) []int {
	var idx []int
	for i, c := range f.Columns {
		if c.Field == field {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ca, cb := f.Columns[idx[a]], f.Columns[idx[b]]
		ra, rb := ca.rank, cb.rank
		if ca.Source != SourceHeader {
			ra = -100
		}
		if cb.Source != SourceHeader {
			rb = -100
		}
		return ra < rb
	})
	return idx
}

// Skipped lists the columns no field takes, per file.
func (p *Plan) Skipped() []SkippedColumn {
	var out []SkippedColumn
	for _, f := range p.Files {
		for _, c := range f.Columns {
			if c.Field == "" {
				out = append(out, SkippedColumn{File: f.Name, Header: c.Header, Filled: c.Filled})
			}
		}
	}
	return out
}

// SkippedColumn is a column left out of the migration.
type SkippedColumn struct {
	File   string `json:"file"`
	Header string `json:"header"`
	Filled int    `json:"filled"` // rows with a value in it
}
