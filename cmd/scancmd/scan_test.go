package scancmd

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/phiscan"
)

const fixture = "../../eval/testdata/clinic/patients.csv"

func needFixture(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(fixture); err != nil {
		t.Skip("shared fixture not found:", fixture)
	}
}

func TestScanRunText(t *testing.T) {
	needFixture(t)
	for _, tty := range []bool{false, true} {
		ios, _, out, _ := cmdutil.Test()
		ios.SetStdoutTTY(tty)
		if err := scanRun(context.Background(), &ScanOptions{IO: ios, Files: []string{fixture}}); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		sep := "\t"
		if tty {
			sep = "  "
		}
		for _, want := range []string{
			fixture + ": 240 rows, 12 columns\n",
			"Date of Birth" + sep,
			"identifier/date_of_birth",
			"Notes" + sep,
			"free_text",
			"medication ",
			"allergy ",
			"Holds PHI: yes\n",
			"Recommendation: migrate (move it all to Carebook)\n",
			"A marketing tool may keep: First Name, Last Name, Email, Marketing Opt-In\n",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("tty=%v: output lacks %q:\n%s", tty, want, got)
			}
		}
		if strings.Contains(got, "COLUMN") != tty {
			t.Errorf("tty=%v: table header shown = %v", tty, !tty)
		}
		assertNoValues(t, got)
	}
}

func TestScanRunJSON(t *testing.T) {
	needFixture(t)
	ios, _, out, _ := cmdutil.Test()
	if err := scanRun(context.Background(), &ScanOptions{IO: ios, Files: []string{fixture}, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var reps []phiscan.FileReport
	if err := json.Unmarshal(out.Bytes(), &reps); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(reps) != 1 || reps[0].Rows != 240 || !reps[0].HoldsPHI || reps[0].Recommendation != phiscan.RecommendMigrate {
		t.Fatalf("report %+v", reps)
	}
	for _, key := range []string{`"holds_phi": true`, `"marketing_may_keep"`, `"mention_rows"`, `"category": "identifier"`, `"kind": "date_of_birth"`} {
		if !strings.Contains(out.String(), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	if strings.Contains(out.String(), `"examples"`) {
		t.Error("JSON has examples without --show-examples")
	}
	assertNoValues(t, out.String())
}

// A bad file is an error naming its line; the good files are still reported.
func TestScanRunBadFile(t *testing.T) {
	needFixture(t)
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("Email,Notes\na@example.com,x\nb@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, _, out, _ := cmdutil.Test()
	err := scanRun(context.Background(), &ScanOptions{IO: ios, Files: []string{bad, fixture}})
	if err == nil || !strings.Contains(err.Error(), "bad.csv: line 3:") || !errors.Is(err, csv.ErrFieldCount) {
		t.Fatalf("error %v, want line 3 of bad.csv", err)
	}
	if !strings.Contains(out.String(), "Holds PHI: yes") {
		t.Errorf("the good file was not reported:\n%s", out)
	}
}

func TestNewCmdScanFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		tty     bool
		wantErr string
		want    ScanOptions
	}{
		{name: "files", args: []string{"a.csv", "b.csv"}, want: ScanOptions{Files: []string{"a.csv", "b.csv"}, SampleRows: phiscan.DefaultSampleRows}},
		{name: "json", args: []string{"a.csv", "--json"}, want: ScanOptions{Files: []string{"a.csv"}, JSON: true, SampleRows: phiscan.DefaultSampleRows}},
		{name: "examples on a terminal", args: []string{"a.csv", "--show-examples"}, tty: true, want: ScanOptions{Files: []string{"a.csv"}, ShowExamples: true, SampleRows: phiscan.DefaultSampleRows}},
		{name: "examples into a pipe", args: []string{"a.csv", "--show-examples"}, wantErr: "--show-examples prints patient data"},
		{name: "sample rows", args: []string{"a.csv", "--sample-rows", "10"}, want: ScanOptions{Files: []string{"a.csv"}, SampleRows: 10}},
		{name: "no file", args: nil, wantErr: "scan needs at least one CSV FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := cmdutil.Test()
			ios.SetStdoutTTY(tt.tty)
			var got *ScanOptions
			cmd := NewCmdScan(&cmdutil.Factory{IOStreams: ios}, func(o *ScanOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if strings.HasPrefix(tt.wantErr, "--") {
					var fe *cmdutil.FlagError
					if !errors.As(err, &fe) {
						t.Errorf("error %T, want a FlagError", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Files, tt.want.Files) || got.JSON != tt.want.JSON || got.ShowExamples != tt.want.ShowExamples || got.SampleRows != tt.want.SampleRows {
				t.Errorf("options %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// assertNoValues fails if out holds a cell of the fixture. Headers are cut
// out first ("Mark" is in "Marketing Opt-In"); short and generic cells are
// skipped.
func assertNoValues(t *testing.T, out string) {
	t.Helper()
	f, err := os.Open(fixture)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	headers := slices.Clone(rows[0])
	slices.SortFunc(headers, func(a, b string) int { return len(b) - len(a) })
	for _, h := range headers {
		out = strings.ReplaceAll(out, h, "\x00")
	}
	generic := map[string]bool{"Yes": true, "No": true, "active": true}
	for _, row := range rows[1:] {
		for _, cell := range row {
			if len(cell) < 4 || slices.Contains(rows[0], cell) || generic[cell] {
				continue
			}
			if strings.Contains(out, cell) {
				t.Errorf("output holds the value %q", cell)
			}
		}
	}
}
