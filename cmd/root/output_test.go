package root

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/carebook/carebook/cmd/cmdutil"
)

const devGold = "../../tools/testdata/dev_gold.jsonl"

// run prints each query's answer with its line number, the way ask
// prints it; --json carries the rows and the MRNs a write changed.
func TestRunShowsAnswers(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	batch := filepath.Join(t.TempDir(), "batch.jsonl")
	os.WriteFile(batch, []byte(strings.Join([]string{
		`{"tool":"query","args":{"entity":"patients","where":{"tags":["diabetes"]},"output":"count"}}`,
		`{"tool":"query","args":{"entity":"patients","where":{"mrns":["P1002"]}}}`,
		`{"tool":"query","args":{"entity":"patients","output":"groups","group_by":"status"}}`,
		`{"tool":"tag","args":{"tag":"recall-due","patient":{"match":"P1003"}}}`,
		`{"tool":"tag","args":{"tag":"recall-due","patient":{"match":"John Smith"}}}`,
	}, "\n")), 0o600)

	o := p.run("", false, "run", batch, "--yes")
	for _, want := range []string{
		"Line 1: Count patients\n27\n",
		"Line 2: List patients\nP1002\tJon\tSmyth",
		"Line 3: Count patients by status\nactive\t",
		"1\tok\tCount patients: 27\n",
		"4\tok\tTagged 1 patient as recall-due",
	} {
		if !strings.Contains(strings.ReplaceAll(o.stdout, "\u00a0", " "), strings.ReplaceAll(want, "Jon\tSmyth", "Jon Smyth")) {
			t.Errorf("run output lacks %q:\n%s", want, o.stdout)
		}
	}
	// The candidates of an ambiguous name keep their lines in the report.
	if !strings.Contains(o.stdout, "5\tfailed\t2 patients match \"John Smith\"") || !regexpLine(o.stdout, "\t\t  P1000  John Smith  born 1958-03-02") {
		t.Errorf("the ambiguous line's candidates are not one per line:\n%s", o.stdout)
	}

	var rep []struct {
		Line   int
		Status string
		Result *struct {
			Count    int
			Patients []struct{ MRN string }
			Changed  []string `json:"changed_mrns"`
		}
	}
	q := newPractice(t)
	q.importFixture()
	o = q.run("", false, "run", batch, "--yes", "--json")
	if err := json.Unmarshal([]byte(o.stdout), &rep); err != nil || len(rep) != 5 {
		t.Fatalf("run --json: %v\n%s", err, o.stdout)
	}
	if rep[0].Result == nil || rep[0].Result.Count != 27 || rep[1].Result == nil || len(rep[1].Result.Patients) != 1 ||
		rep[3].Result == nil || !slices.Equal(rep[3].Result.Changed, []string{"P1003"}) {
		t.Errorf("run --json results: %+v %+v %+v", rep[0].Result, rep[1].Result, rep[3].Result)
	}
}

func regexpLine(out, line string) bool {
	return slices.Contains(strings.Split(out, "\n"), line)
}

// A refusal or a question from the model is "declined by the model", not
// a failure, and the summary counts it apart.
func TestRunOfQuestionsShowsAnswersAndDeclines(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	p.withModel(countDiabetes,
		`{"tool":"refuse","args":{"message":"Carebook does not delete patients in bulk."}}`,
		`{"tool":"clarify","args":{"message":"Which John Smith?\nBorn 1958 or 1990?"}}`)
	batch := filepath.Join(t.TempDir(), "morning.txt")
	os.WriteFile(batch, []byte("how many diabetics\ndelete everyone\ntag John Smith\n"), 0o600)
	o := p.run("", false, "run", batch, "--yes")
	if o.code != 1 || !strings.Contains(o.stdout, "Line 1: Count patients\n27\n") {
		t.Errorf("exit %d, stdout:\n%s", o.code, o.stdout)
	}
	for _, want := range []string{
		"2\tdeclined\tCarebook won't do this: Carebook does not delete patients in bulk.\n",
		"3\tunclear\tCarebook asks: Which John Smith? Born 1958 or 1990?\n",
	} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, o.stdout)
		}
	}
	if strings.Contains(o.stdout, "failed") || strings.TrimSpace(o.stderr) != "The model declined 2 lines (asked a question on 1)." {
		t.Errorf("a decline counted as a failure: stdout %q, stderr %q", o.stdout, o.stderr)
	}
}

// The project's own gold file runs, its ids echoed.
func TestRunEchoesIDs(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	o := p.run("", false, "run", devGold, "--yes", "--json")
	var rep []struct {
		Line   int
		ID     string
		Status string
		Result json.RawMessage
	}
	if err := json.Unmarshal([]byte(o.stdout), &rep); err != nil || len(rep) < 20 {
		t.Fatalf("exit %d, %v\n%s\n%s", o.code, err, o.stdout, o.stderr)
	}
	// The first twenty are the dev set's; the records cases after them
	// need their own setup, which eval gives them.
	status := map[string]string{}
	for i, r := range rep[:20] {
		status[r.ID] = r.Status
		if want := "dev-" + twoDigits(i+1); r.ID != want || r.Line != i+1 {
			t.Errorf("line %d has id %q, want %s", r.Line, r.ID, want)
		}
		if r.Status == "ok" && len(r.Result) == 0 {
			t.Errorf("%s: ok without its result", r.ID)
		}
	}
	// dev-11 names two John Smiths: it fails; dev-16 and 17 are refusals.
	if status["dev-01"] != "ok" || status["dev-11"] != "failed" || status["dev-16"] != "declined" || status["dev-17"] != "declined" {
		t.Errorf("statuses %v", status)
	}
	q := newPractice(t)
	q.importFixture()
	if o := q.run("", false, "run", devGold, "--yes"); !strings.Contains(o.stdout, "Line 2 (dev-02): Count patients\n27\n") || !strings.Contains(o.stdout, "2\tdev-02\tok\tCount patients: 27\n") {
		t.Errorf("the report does not echo the ids:\n%s", o.stdout)
	}
}

func twoDigits(n int) string { return string(rune('0'+n/10)) + string(rune('0'+n%10)) }

// The model's sentences are labelled, cut to a sane length, on one line,
// and the same with --dry-run: output and exit code.
func TestModelSentencesAreLabelled(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	long := strings.Repeat("Please say which one. ", 60)
	for _, tc := range []struct{ answer, want string }{
		{`{"tool":"clarify","args":{"message":"Which John Smith:\nborn 1958 or 1990?"}}`, "Carebook asks: Which John Smith: born 1958 or 1990?\n"},
		{`{"tool":"refuse","args":{"message":"Carebook does not send patient lists by email."}}`, "Carebook won't do this: Carebook does not send patient lists by email.\n"},
		{`{"tool":"clarify","args":{"message":"` + long + `"}}`, "Carebook asks: Please say which one."},
	} {
		p.withModel(tc.answer)
		plain := p.run("", false, "ask", "something")
		dry := p.run("", false, "ask", "something", "--dry-run")
		if !strings.HasPrefix(plain.stdout, tc.want) || plain.code != 1 || strings.Count(plain.stdout, "\n") != 1 {
			t.Errorf("ask: exit %d, %q; want 1 and %q", plain.code, plain.stdout, tc.want)
		}
		if dry.stdout != plain.stdout || dry.code != plain.code {
			t.Errorf("--dry-run: exit %d, %q; without: exit %d, %q", dry.code, dry.stdout, plain.code, plain.stdout)
		}
		if n := len([]rune(plain.stdout)); n > 330 {
			t.Errorf("a model's sentence of %d characters was shown whole", n)
		}
	}
}

// patients --limit says of how many; a table fits an 80-column terminal.
func TestPatientsLimitAndWidth(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	o := p.run("", true, "patients", "--limit", "3")
	if !strings.HasSuffix(o.stdout, "\n3 of 240 patients\n") {
		t.Errorf("patients --limit 3 on a terminal:\n%s", o.stdout)
	}
	if out := p.mustRun("patients", "--limit", "3"); strings.Count(out, "\n") != 3 {
		t.Errorf("piped, the rows alone:\n%s", out)
	}
	var res struct{ Result struct{ Count, Total int } }
	p.withModel(`{"tool":"query","args":{"entity":"patients","limit":5}}`)
	if err := json.Unmarshal([]byte(p.mustRun("ask", "five patients", "--json")), &res); err != nil || res.Result.Count != 5 || res.Result.Total != 240 {
		t.Errorf("ask --json: %+v, %v", res, err)
	}

	all := p.run("", true, "patients")
	cut := false
	for _, l := range strings.Split(all.stdout, "\n") {
		if w := cmdutil.DisplayWidth(l); w > 80 {
			t.Fatalf("a line %d columns wide on an 80-column terminal: %q", w, l)
		}
		cut = cut || strings.Contains(l, "…")
	}
	if !cut || !strings.Contains(all.stdout, "P1000") {
		t.Errorf("the widest column was not cut:\n%.600s", all.stdout)
	}
}

// show lists appointments and interactions in one order: newest first.
func TestShowNewestFirst(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	var rec struct {
		Appointments []struct{ ID string }
		Interactions []struct{ ID string }
	}
	if err := json.Unmarshal([]byte(p.mustRun("show", "P1002", "--json")), &rec); err != nil {
		t.Fatal(err)
	}
	var appts, inters []string
	for _, a := range rec.Appointments {
		appts = append(appts, a.ID)
	}
	for _, i := range rec.Interactions {
		inters = append(inters, i.ID)
	}
	if !slices.Equal(appts, []string{"A00004", "A00005"}) || !slices.Equal(inters, []string{"I00004", "I00003"}) {
		t.Errorf("appointments %v, interactions %v; want both newest first", appts, inters)
	}
	out := p.mustRun("show", "P1002")
	if strings.Index(out, "A00004") > strings.Index(out, "A00005") || strings.Index(out, "I00004") > strings.Index(out, "I00003") {
		t.Errorf("show prints an older row first:\n%s", out)
	}
}

// show at 80 columns: the record's MRN is said once, not on every
// appointment and interaction row, and fitting cuts the summary, never a
// time.
func TestShowRowsAt80Columns(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	o := p.run("", true, "show", "P1002")
	stamp := regexp.MustCompile(`^[AI]0000\d  \d{4}-\d\d-\d\d \d\d:\d\d  `)
	rows := 0
	for _, l := range strings.Split(o.stdout, "\n") {
		if w := cmdutil.DisplayWidth(l); w > 80 {
			t.Errorf("%d columns: %q", w, l)
		}
		if !strings.HasPrefix(l, "A0000") && !strings.HasPrefix(l, "I0000") {
			continue
		}
		rows++
		if strings.Contains(l, "P1002") || !stamp.MatchString(l) {
			t.Errorf("row %q: want its ID and whole time first, no MRN", l)
		}
	}
	if rows != 4 {
		t.Errorf("%d appointment and interaction rows:\n%s", rows, o.stdout)
	}
}
