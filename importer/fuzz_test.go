package importer

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/carebook/carebook/internal/charset"
	"github.com/carebook/carebook/store"
)

// fuzzEncodings are the encodings a fuzzed file is read as, by its second
// argument.
var fuzzEncodings = []charset.Encoding{charset.Auto, charset.Windows1252, charset.UTF16}

// FuzzImportPatients feeds arbitrary files to a patients import into a
// fresh database. Whatever the bytes: no panic; an error writes nothing and
// repeats no long cell; a success stores exactly its valid rows, every name
// valid UTF-8 within the store's limits, and never an empty name where the
// file's cell was not empty.
func FuzzImportPatients(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join(fixtures, "patients.csv")); err == nil {
		lines := bytes.SplitAfter(data, []byte("\n"))
		f.Add(bytes.Join(lines[:min(6, len(lines))], nil), uint8(0))
	}
	for _, name := range []string{"testdata/hubspot_contacts.csv", "testdata/mailchimp_audience.csv"} {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data, uint8(0))
		}
	}
	small := "MRN,First Name,Last Name,Email,Marketing Opt-In,Consent Date,Tags,Notes\n" +
		"Q1,José,Muñoz,jose@example.org,yes,2025-01-02,VIP;Flu Shot,\"two\nlines\"\n" +
		"Q2,'=HYPERLINK(\"\"x\"\"),'@Lee,,no,,,\n"
	f.Add([]byte(small), uint8(0))
	f.Add(append([]byte("\xEF\xBB\xBF"), small...), uint8(0))
	f.Add(toUTF16(small, false, true), uint8(0))
	f.Add(toUTF16(small, true, true), uint8(0))
	f.Add(toUTF16(small, false, false), uint8(2))
	f.Add(cp1252(f, strings.ReplaceAll(small, "\"\"", "'")), uint8(1))
	f.Add(cp1252(f, small), uint8(0)) // not UTF-8: refused
	f.Add([]byte("MRN,First Name,Last Name\nQ1,\"=1+1\",-2\nQ2,\t@x,\r+y\nQ3,'\t,''-\n"), uint8(0))
	f.Add([]byte("MRN,First Name,Last Name\nQ1,"+strings.Repeat("x", 300)+",Lee\nQ2,Ann,L\x00ee\n"), uint8(0))
	f.Add([]byte("MRN,First Name,Last Name,Notes\nQ1,Ann,Lee,"+strings.Repeat("n", store.MaxTextLen+1)+"\nQ1,Ann,Lee,ok\n"), uint8(0))
	f.Add([]byte("MRN,First Name,Last Name\nQ1,Ann,Lee\nQ1,Bo,Kim\n,,\n\"Q3,Cy,Ray\n"), uint8(0))
	f.Add([]byte("Email,First,Last\nANN@example.org,Ann,\nann@example.org,,Lee\n"), uint8(0))
	f.Add([]byte("Record ID,First Name,Last Name,Date of birth\n51,Alice,Example,0001-01-01\n52,Bob,Sample,12/31/9999\n"), uint8(0))

	f.Fuzz(func(t *testing.T, data []byte, encIndex uint8) {
		enc := fuzzEncodings[int(encIndex)%len(fuzzEncodings)]
		ctx := context.Background()
		st, err := store.OpenMemory(ctx, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		res, err := Import(ctx, st, "fuzz.csv", bytes.NewReader(data), Options{Kind: KindPatients, Now: now, Encoding: enc})
		c, cerr := st.Reader().Counts(ctx)
		if cerr != nil {
			t.Fatal(cerr)
		}
		records := fuzzRecords(data, enc)
		if err != nil {
			if c != (store.Counts{}) {
				t.Fatalf("a failed import wrote %+v: %v", c, err)
			}
			msg := err.Error()
			for _, b := range res.Bad {
				msg += "\n" + b.Error()
			}
			noLongCell(t, msg, records)
			return
		}
		if res.Valid != res.Inserted || c.Patients != res.Inserted {
			t.Fatalf("%d valid rows, %d inserted, %d stored", res.Valid, res.Inserted, c.Patients)
		}
		if res.Valid == 0 {
			return
		}
		ps, err := st.Reader().FindPatients(ctx, store.PatientFilter{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		stored := make(map[string]store.Patient, len(ps))
		for _, p := range ps {
			for _, name := range []string{p.FirstName, p.LastName} {
				if !utf8.ValidString(name) || store.CheckLine(name, store.MaxNameLen) != nil {
					t.Fatalf("stored name %q is not valid UTF-8 within the limits", name)
				}
			}
			if p.FirstName == "" && p.LastName == "" {
				t.Fatalf("patient %q stored with no name", p.MRN)
			}
			stored[p.MRN] = p
		}
		// With an MRN column, each stored patient's names are the cells of
		// one of the rows with its MRN (the first good one; the others are
		// bad rows).
		cols, _, err := mapColumns(KindPatients, records[0], nil)
		if err != nil || len(cols.byField[fieldMRN]) == 0 {
			return
		}
		matches := map[string]bool{} // MRN to whether some row gives the stored names
		for _, rec := range records[1:] {
			if len(rec) < len(records[0]) {
				continue
			}
			rw := &row{cols: cols, rec: rec}
			mrn, _ := rw.get(fieldMRN)
			p, ok := stored[mrn]
			if !ok {
				continue
			}
			first, _ := rw.get(fieldFirstName)
			last, _ := rw.get(fieldLastName)
			matches[mrn] = matches[mrn] || first == p.FirstName && last == p.LastName
		}
		for mrn, ok := range matches {
			if !ok {
				p := stored[mrn]
				t.Fatalf("patient %q stored as %q %q, which no row with its MRN says", mrn, p.FirstName, p.LastName)
			}
		}
	})
}

// fuzzRecords reads data as the importer should, independently of it: the
// header first. It stops at the first error.
func fuzzRecords(data []byte, enc charset.Encoding) [][]string {
	cr := csv.NewReader(charset.NewReader(bytes.NewReader(data), enc))
	cr.FieldsPerRecord = -1
	var out [][]string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) || err != nil && rec == nil {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				continue // the importer skips such a line as a bad row
			}
			break
		}
		out = append(out, rec)
	}
	if len(out) == 0 {
		out = append(out, nil)
	}
	return out
}

// noLongCell fails if msg repeats a cell long enough that it cannot be there
// by chance: messages name lines and columns, never values.
func noLongCell(t *testing.T, msg string, records [][]string) {
	t.Helper()
	header := strings.Join(records[0], "\n")
	for _, rec := range records[1:] {
		for _, v := range rec {
			v = strings.TrimSpace(v)
			if len(v) >= 16 && !strings.Contains(header, v) && strings.Contains(msg, v) {
				t.Fatalf("error message repeats a cell: %q", msg)
			}
		}
	}
}
