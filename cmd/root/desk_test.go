package root

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/store"
)

// Issue 14, "for the people at the desk": each test here fails without the
// piece it is named after. The practice's Ollama is http://127.0.0.1:1
// (nothing listens), so every command below runs with the model down.

// rowsSince returns the audit rows written after the first n.
func (p *practice) rowsSince(n int) []store.AuditRow {
	p.t.Helper()
	return p.auditRows()[n:]
}

type apptJSON struct {
	ID, MRN, Patient, Start, Type, Provider, Status string
}

func (p *practice) appointments(args ...string) []apptJSON {
	p.t.Helper()
	var out []apptJSON
	raw := p.mustRun(append([]string{"appointments", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		p.t.Fatalf("appointments %v: %v: %s", args, err, raw)
	}
	return out
}

func ids[T any](xs []T, id func(T) string) []string {
	var out []string
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

// The schedule says who is coming: each appointment carries its patient's
// name, in the table and in --json, and the listing is an audited read of
// exactly those patients.
func TestScheduleNamesItsPatients(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	before := len(p.auditRows())
	week := p.appointments("--when", "next week")
	if len(week) < 3 {
		t.Fatalf("%d appointments next week", len(week))
	}
	rows := p.rowsSince(before)
	mrns := map[string]bool{}
	for _, a := range week {
		mrns[a.MRN] = true
	}
	if len(rows) != 1 || len(rows[0].PatientIDs) != len(mrns) {
		t.Errorf("the listing of %d patients audited as %+v", len(mrns), rows)
	}
	for _, a := range week[:3] {
		var rec struct {
			First string `json:"first_name"`
			Last  string `json:"last_name"`
		}
		json.Unmarshal([]byte(p.mustRun("show", a.MRN, "--json")), &rec)
		if want := rec.First + " " + rec.Last; a.Patient != want || want == " " {
			t.Errorf("%s of %s: patient %q, want %q", a.ID, a.MRN, a.Patient, want)
		}
	}
	o := p.run("", true, "appointments", "--when", "next week")
	if !strings.Contains(o.stdout, "PATIENT") || !strings.Contains(o.stdout, week[0].Patient) {
		t.Errorf("the table does not name %q:\n%s", week[0].Patient, o.stdout)
	}
	// Scripts cut columns by position: the name is the last.
	first := strings.Split(strings.Split(p.mustRun("appointments", "--when", "next week"), "\n")[0], "\t")
	if len(first) != 7 || first[1] != week[0].MRN || first[6] != week[0].Patient {
		t.Errorf("tab-separated row %q", first)
	}
}

// #8: the schedule without a model, through the query tool (validated and
// audited as any query).
func TestAppointmentsWithoutAModel(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	apptID := func(a apptJSON) string { return a.ID }

	// Today (2026-06-15) is the default, and --today says the same.
	today := p.appointments()
	if got := ids(today, apptID); !slices.Equal(got, []string{"A00579", "A00064"}) {
		t.Errorf("today: %v", got)
	}
	if got := ids(p.appointments("--today"), apptID); !slices.Equal(got, []string{"A00579", "A00064"}) {
		t.Errorf("--today: %v", got)
	}
	// A range, by its ends or in words; by provider, type and status.
	week := p.appointments("--from", "2026-06-22", "--to", "2026-06-28")
	if len(week) == 0 {
		t.Fatal("no appointments the week of 2026-06-22")
	}
	for _, a := range week {
		if a.Start < "2026-06-22" || a.Start >= "2026-06-29" {
			t.Errorf("--from/--to gave %+v", a)
		}
	}
	if got, want := ids(p.appointments("--when", "next week"), apptID), ids(week, apptID); !slices.Equal(got, want) {
		t.Errorf("--when \"next week\" %v, --from/--to %v", got, want)
	}
	patel := p.appointments("--when", "next week", "--provider", "dr. patel", "--status", "scheduled")
	if len(patel) == 0 || len(patel) >= len(week) {
		t.Errorf("Dr. Patel's scheduled next week: %d of %d", len(patel), len(week))
	}
	for _, a := range patel {
		if a.Provider != "Dr. Patel" || a.Status != "scheduled" {
			t.Errorf("--provider/--status gave %+v", a)
		}
	}
	for _, a := range p.appointments("--from", "2026-06-22", "--type", "lab-work") {
		if a.Type != "lab-work" || a.Start < "2026-06-22" {
			t.Errorf("--from alone/--type gave %+v", a)
		}
	}
	// People get a table with a count; scripts get rows.
	if o := p.run("", true, "appointments"); o.code != 0 || !strings.HasPrefix(o.stdout, "ID") || !strings.Contains(o.stdout, "2 appointments") {
		t.Errorf("on a terminal: %q", o.stdout)
	}
	// Mistakes: a status is a usage error; a provider nobody has names those there are.
	if o := p.run("", false, "appointments", "--status", "late"); o.code != cmdutil.ExitUsage {
		t.Errorf("--status late: exit %d %q", o.code, o.stderr)
	}
	if o := p.run("", false, "appointments", "--when", "next week", "--from", "today"); o.code != cmdutil.ExitUsage {
		t.Errorf("--when with --from: exit %d", o.code)
	}
	if o := p.run("", false, "appointments", "--provider", "Dr. Nobody"); o.code != 1 || !strings.Contains(o.stderr, "Dr. Patel") {
		t.Errorf("unknown provider: exit %d %q", o.code, o.stderr)
	}
	// One audit row per listing, naming the patients shown.
	before := len(p.auditRows())
	p.mustRun("appointments")
	rows := p.rowsSince(before)
	if len(rows) != 1 || rows[0].Channel != cmdutil.ChannelCLI || !strings.Contains(rows[0].Action, `"entity":"appointments"`) || len(rows[0].PatientIDs) != 2 {
		t.Errorf("audit rows %+v", rows)
	}
}

// #9: the contact log, by patient, channel, staff and date.
func TestInteractionsWithoutAModel(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	type inter struct{ ID, MRN, At, Channel, Staff string }
	list := func(args ...string) []inter {
		t.Helper()
		var out []inter
		raw := p.mustRun(append([]string{"interactions", "--json"}, args...)...)
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		return out
	}
	id := func(i inter) string { return i.ID }
	if got := ids(list("--patient", "P1002"), id); !slices.Equal(got, []string{"I00004", "I00003"}) {
		t.Errorf("--patient P1002 (newest first): %v", got)
	}
	if got := ids(list("--patient", "Jon Smyth", "--channel", "call"), id); !slices.Equal(got, []string{"I00003"}) {
		t.Errorf("--patient by name, --channel call: %v", got)
	}
	calls := list("--channel", "call", "--since", "30 days ago")
	if len(calls) == 0 {
		t.Fatal("no calls in 30 days")
	}
	for _, c := range calls {
		if c.Channel != "call" || c.At < "2026-05-16" {
			t.Errorf("--channel/--since gave %+v", c)
		}
	}
	ben := list("--staff", "front desk (Ben)", "--when", "May 2026")
	for _, c := range ben {
		if c.Staff != "front desk (Ben)" || !strings.HasPrefix(c.At, "2026-05") {
			t.Errorf("--staff/--when gave %+v", c)
		}
	}
	if len(ben) == 0 {
		t.Error("no contacts by Ben in May")
	}
	if o := p.run("", false, "interactions", "--channel", "fax"); o.code != cmdutil.ExitUsage {
		t.Errorf("--channel fax: exit %d", o.code)
	}
	if o := p.run("", true, "interactions", "--patient", "P1002"); !strings.Contains(o.stdout, "2 interactions") {
		t.Errorf("on a terminal: %q", o.stdout)
	}
}

// #10: a dry run on every write shows what would change and changes
// nothing.
func TestDryRunOnEveryWrite(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	export := func() string { return p.mustRun("export", "patients") + p.mustRun("export", "interactions") }
	before := export()
	for _, args := range [][]string{
		{"tag", "add", "flu-2026", "P1002"},
		{"tag", "remove", "new-parent", "P1002"},
		{"tag", "rename", "vip", "very-important"},
		{"tag", "delete", "vip"},
		{"log", "P1002", "--channel", "call", "--summary", "Confirmed"},
		{"forget", "P1002"},
	} {
		o := p.run("", false, append(args, "--dry-run")...)
		if o.code != 0 || !strings.Contains(o.stdout, "Dry run: nothing was changed.") || !strings.Contains(o.stdout, "P1002") && args[1] != "rename" && args[1] != "delete" {
			t.Errorf("%v --dry-run: exit %d, %q %q", args, o.code, o.stdout, o.stderr)
		}
	}
	if after := export(); after != before {
		t.Error("a dry run changed the practice")
	}
	// Migrate rehearses the import and rolls it back: real counts, nothing kept.
	o := p.run("", false, "migrate", "../../migrate/testdata/hubspot.csv", "--dry-run")
	if o.code != 0 || !strings.Contains(o.stdout, "Dry run of 1 file: nothing was written") || !strings.Contains(o.stdout, "new") {
		t.Errorf("migrate --dry-run: exit %d %q %q", o.code, o.stdout, o.stderr)
	}
	if after := export(); after != before {
		t.Error("migrate --dry-run changed the practice")
	}
	// Import (done already): checks and counts, writes nothing.
	if o := p.run("", false, "import", "patients", filepath.Join(fixtureDir, "patients.csv"), "--dry-run"); o.code != 0 || !strings.Contains(o.stdout, "dry run") {
		t.Errorf("import --dry-run: %q", o.stdout)
	}
	// Restore decrypts and checks, and puts nothing in place.
	p.env["CAREBOOK_BACKUP_PASSPHRASE"] = "correct horse battery staple"
	file := filepath.Join(t.TempDir(), "b.age")
	p.mustRun("backup", file)
	q := newPractice(t)
	q.env["CAREBOOK_BACKUP_PASSPHRASE"] = "correct horse battery staple"
	o = q.run("", false, "restore", file, "--dry-run")
	if o.code != 0 || !strings.Contains(o.stdout, "240 patients") || !strings.Contains(o.stdout, "nothing was put in place") {
		t.Errorf("restore --dry-run: exit %d %q %q", o.code, o.stdout, o.stderr)
	}
	if _, err := os.Stat(q.db); err == nil {
		t.Error("restore --dry-run put a database in place")
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(q.db), ".restore*"))
	if len(left) > 0 {
		t.Errorf("restore --dry-run left %v", left)
	}
	// Over a database it says a real restore would need --force.
	if o := p.run("", false, "restore", file, "--dry-run"); o.code != 0 || !strings.Contains(o.stdout, "needs --force") {
		t.Errorf("restore --dry-run over a database: %q %q", o.stdout, o.stderr)
	}
}

// #11: a new tag close to one in use asks "did you mean …?" before it is
// created.
func TestNewTagNearAnExistingOneAsksDidYouMean(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	o := p.run("n\n", true, "tag", "add", "recall-deu", "P1003")
	if o.code != cmdutil.ExitError || !strings.Contains(o.stdout, "did you mean recall-due?") {
		t.Errorf("typo: exit %d, %q", o.code, o.stdout)
	}
	if slices.Contains(p.tagsOf("P1003"), "recall-deu") {
		t.Error("the typo was written after no")
	}
	// A new tag unlike any other is only "new".
	o = p.run("n\n", true, "tag", "add", "flu-2026", "P1003")
	if !strings.Contains(o.stdout, "The tag is new. Create it and go ahead?") || strings.Contains(o.stdout, "did you mean") {
		t.Errorf("a new tag: %q", o.stdout)
	}
	var plan struct {
		Summary string `json:"summary"`
	}
	raw := p.mustRun("tag", "add", "refill-overdeu", "P1003", "--dry-run", "--json")
	if err := json.Unmarshal([]byte(raw), &plan); err != nil || !strings.Contains(plan.Summary, "did you mean refill-overdue?") {
		t.Errorf("dry run: %v %s", err, raw)
	}
}

// #11: tag rename and tag delete are previewed (how many patients carry
// it), confirmed and audited with every patient listed; a tag with no
// patients disappears from tag list and from completion.
func TestTagRenameAndDelete(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	vip := strings.Count(p.mustRun("patients", "--tag", "vip"), "\n")
	if vip < 11 {
		t.Fatalf("fixture has %d vip patients; the test wants more than a preview's ten", vip)
	}
	// A script needs --yes; a person sees the count and answers.
	if o := p.run("", false, "tag", "rename", "vip", "very-important"); o.code != 1 || !strings.Contains(o.stderr, "--yes") {
		t.Errorf("rename without --yes: exit %d %q", o.code, o.stderr)
	}
	o := p.run("n\n", true, "tag", "rename", "vip", "very-important")
	if o.code != 1 || !strings.Contains(o.stdout, fmt.Sprintf("Rename tag vip to very-important on %d patients", vip)) || !strings.Contains(o.stdout, fmt.Sprintf("and %d more", vip-10)) {
		t.Errorf("declined rename: exit %d %q", o.code, o.stdout)
	}
	before := len(p.auditRows())
	o = p.run("y\n", true, "tag", "rename", "vip", "very-important")
	if o.code != 0 || !strings.Contains(o.stdout, fmt.Sprintf("Renamed tag vip to very-important on %d patients.", vip)) {
		t.Errorf("rename: exit %d %q %q", o.code, o.stdout, o.stderr)
	}
	rows := p.rowsSince(before)
	last := rows[len(rows)-1]
	if last.Outcome != store.OutcomeOK || !strings.Contains(last.Action, `"rename_tag"`) || len(last.PatientIDs) != vip {
		t.Errorf("rename's audit row %+v; want every one of %d patients", last, vip)
	}
	list := p.mustRun("tag", "list")
	if strings.Contains(list, "vip\t") || !strings.Contains(list, fmt.Sprintf("very-important\t%d\n", vip)) {
		t.Errorf("tag list after rename:\n%s", list)
	}
	// Renaming onto a tag in use merges the two.
	p.mustRun("tag", "rename", "very-important", "recall-due", "--yes")
	if tags := p.tagsOf("P1001"); !slices.Contains(tags, "recall-due") || slices.Contains(tags, "very-important") {
		t.Errorf("P1001 after the merge: %v", tags)
	}
	// Delete: previewed with the count, then gone from every patient.
	o = p.run("", false, "tag", "delete", "asthma", "--yes")
	if o.code != 0 || !strings.Contains(o.stdout, "Delete tag asthma: remove it from 12 patients") || !strings.Contains(o.stdout, "Deleted tag asthma from 12 patients.") {
		t.Errorf("delete: exit %d %q %q", o.code, o.stdout, o.stderr)
	}
	if strings.Contains(p.mustRun("tag", "list"), "asthma") {
		t.Error("asthma still listed")
	}
	if o := p.run("", false, "tag", "delete", "asthma", "--yes"); o.code != 1 || !strings.Contains(o.stderr, `no tag "asthma"`) {
		t.Errorf("deleting it again: exit %d %q", o.code, o.stderr)
	}
	if o := p.run("", false, "tag", "delete", "diabetis", "--yes"); o.code != 1 || !strings.Contains(o.stderr, "did you mean diabetes?") {
		t.Errorf("a typo: exit %d %q", o.code, o.stderr)
	}
	// The model is never offered these tools: a batch can use them, ask cannot.
	if o := p.run("", false, "tag", "rename", "Not_Kebab", "x"); o.code != cmdutil.ExitUsage {
		t.Errorf("bad name: exit %d", o.code)
	}

	// A tag nobody carries any more leaves the list and completion.
	p.mustRun("tag", "add", "flu-2026", "P1002", "--yes")
	if c := p.mustRun("__complete", "tag", "add", "flu"); !strings.Contains(c, "flu-2026") {
		t.Errorf("completion of a tag in use: %q", c)
	}
	p.mustRun("tag", "remove", "flu-2026", "P1002", "--yes")
	if strings.Contains(p.mustRun("tag", "list"), "flu-2026") {
		t.Error("a tag with no patients is still listed")
	}
	if c := p.mustRun("__complete", "tag", "add", "flu"); strings.Contains(c, "flu-2026") {
		t.Errorf("a tag with no patients is still completed: %q", c)
	}
}

// #12: a write that would change nothing says so, asks nothing, exits 0,
// and leaves a preview's audit row.
func TestNoOpWritesSaySoAndAskNothing(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	p.mustRun("task", "add", "P1002", "call back about lab results", "--yes")
	task := jsonID(p.record("P1002").Tasks[0].ID)
	p.mustRun("task", "done", task, "--yes")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tag", "add", "new-parent", "P1002"}, "P1002 already has new-parent; nothing to do."},
		{[]string{"tag", "add", "new-parent", "P1002", "--yes"}, "P1002 already has new-parent; nothing to do."},
		{[]string{"tag", "remove", "diabetes", "P1002"}, "P1002 does not have diabetes; nothing to do."},
		{[]string{"tag", "remove", "diabetes", "P1002", "P1003"}, "None of the 2 patients has diabetes; nothing to do."},
		// #14: the same for the other writes.
		{[]string{"patient", "edit", "P1002", "--city", "Lakeside", "--language", "English"}, "P1002 already has these values; nothing to do."},
		{[]string{"patient", "edit", "Jon Smyth", "--city", "Lakeside", "--yes"}, "P1002 already has these values; nothing to do."},
		{[]string{"task", "done", task}, "Task " + task + " is done already; nothing to do."},
		{[]string{"consent", "P1002", "marketing", "off", "--source", "phone"}, "P1002 has already opted out of marketing; nothing to do."},
	} {
		before := len(p.auditRows())
		// On a terminal with nothing typed: a question would fail for
		// want of an answer.
		o := p.run("", true, tc.args...)
		if o.code != 0 || !strings.Contains(o.stdout, tc.want) || strings.Contains(o.stdout, "[y/N]") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", tc.args, o.code, o.stdout, o.stderr)
		}
		rows := p.rowsSince(before)
		last := rows[len(rows)-1]
		if last.Outcome != store.OutcomePreviewed || !strings.Contains(last.Message, "nothing to do") || len(last.PatientIDs) == 0 {
			t.Errorf("%v: audit row %+v", tc.args, last)
		}
		for _, r := range rows {
			if r.Outcome == store.OutcomeOK && strings.Contains(r.Action, `"tool":"tag"`) || strings.Contains(r.Action, `"tool":"untag"`) && r.Outcome == store.OutcomeOK {
				t.Errorf("%v: a write was executed: %+v", tc.args, r)
			}
		}
	}
	// Scripts get it as JSON.
	var res struct {
		NothingToDo bool `json:"nothing_to_do"`
	}
	if err := json.Unmarshal([]byte(p.mustRun("tag", "add", "new-parent", "P1002", "--yes", "--json")), &res); err != nil || !res.NothingToDo {
		t.Errorf("--json: %v %+v", err, res)
	}
}

// #14: a time still to come gets its own question on a terminal; --yes
// means it.
func TestLogInTheFutureAsks(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	had := len(p.show("P1003").Interactions)
	o := p.run("n\n", true, "log", "P1003", "--channel", "call", "--summary", "Booked", "--at", "2026-06-20T10:00:00Z")
	if o.code != 1 || !strings.Contains(o.stdout, "That is in the future (2026-06-20 10:00). Log it anyway? [y/N]") {
		t.Errorf("future, declined: exit %d %q", o.code, o.stdout)
	}
	if len(p.show("P1003").Interactions) != had {
		t.Fatal("logged after no")
	}
	// The past asks the usual question.
	o = p.run("n\n", true, "log", "P1003", "--channel", "call", "--summary", "Booked", "--at", "yesterday")
	if !strings.Contains(o.stdout, "Go ahead? [y/N]") || strings.Contains(o.stdout, "future") {
		t.Errorf("past: %q", o.stdout)
	}
	o = p.run("y\n", true, "log", "P1003", "--channel", "call", "--summary", "Booked", "--at", "tomorrow")
	if o.code != 0 || !strings.Contains(o.stdout, "in the future") || len(p.show("P1003").Interactions) != had+1 {
		t.Errorf("future, yes: exit %d %q", o.code, o.stdout)
	}
	if o := p.run("", false, "log", "P1003", "--channel", "call", "--summary", "Booked", "--at", "tomorrow", "--yes"); o.code != 0 || strings.Contains(o.stdout, "future") {
		t.Errorf("future with --yes: exit %d %q %q", o.code, o.stdout, o.stderr)
	}
}

// #14: forget on a terminal asks for the MRN typed; "y" is not it.
func TestForgetAsksForTheMRNTyped(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	o := p.run("y\n", true, "forget", "Jon Smyth")
	if o.code != 1 || !strings.Contains(o.stdout, "Type P1002 to confirm") {
		t.Errorf("y: exit %d %q", o.code, o.stdout)
	}
	if o := p.run("", false, "show", "P1002"); o.code != 0 {
		t.Fatal("forgotten on a y")
	}
	o = p.run("P1002\n", true, "forget", "Jon Smyth")
	if o.code != 0 || !strings.Contains(o.stdout, "Forgotten") {
		t.Errorf("MRN typed: exit %d %q %q", o.code, o.stdout, o.stderr)
	}
	if o := p.run("", false, "show", "P1002"); o.code != 1 {
		t.Error("not forgotten after the MRN was typed")
	}
}

// #15: files are never replaced without --force; a terminal is not a
// place for a whole patient list; a disclosure says to whom and why.
func TestExportAndBackupFiles(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	dir := t.TempDir()
	out := filepath.Join(dir, "patients.csv")
	os.WriteFile(out, []byte("keep me"), 0o600)
	before := len(p.auditRows())
	if o := p.run("", false, "export", "patients", "-o", out); o.code != 1 || !strings.Contains(o.stderr, "--force") {
		t.Errorf("over a file: exit %d %q", o.code, o.stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != "keep me" {
		t.Error("export replaced a file without --force")
	}
	if n := len(p.rowsSince(before)); n != 0 {
		t.Errorf("a refused export left %d audit rows (a disclosure that did not happen)", n)
	}
	p.mustRun("export", "patients", "-o", out, "--force")
	if b, _ := os.ReadFile(out); !strings.HasPrefix(string(b), "Patient ID (MRN)") {
		t.Error("--force did not replace the file")
	}

	// A terminal without -o is refused; -o - prints on purpose.
	if o := p.run("", true, "export", "patients", "--internal"); o.code != cmdutil.ExitUsage || !strings.Contains(o.stderr, "-o") || strings.Contains(o.stdout, "P1002") {
		t.Errorf("to a terminal: exit %d %q %q", o.code, o.stderr, o.stdout)
	}
	if o := p.run("", true, "export", "patients", "-o", "-", "--internal"); o.code != 0 || !strings.Contains(o.stdout, "P1002") {
		t.Errorf("-o - on a terminal: exit %d %q", o.code, o.stderr)
	}
	if last := p.lastAudit(); !strings.Contains(last.Message, "internal use, not a disclosure") {
		t.Errorf("--internal recorded %q", last.Message)
	}
	// On a terminal, a missing --to and --purpose are asked.
	o := p.run("Dr. Lee\ncontinuity of care\n", true, "export", "interactions", "-o", filepath.Join(dir, "i.csv"))
	if o.code != 0 || !strings.Contains(o.stdout, "Who receives this export?") {
		t.Errorf("asked: exit %d %q %q", o.code, o.stdout, o.stderr)
	}
	if last := p.lastAudit(); !strings.Contains(last.Message, "to Dr. Lee; purpose continuity of care") {
		t.Errorf("disclosure recorded %q", last.Message)
	}
	if o := p.run("\n", true, "export", "interactions", "-o", filepath.Join(dir, "j.csv")); o.code != cmdutil.ExitUsage || !strings.Contains(o.stderr, "--internal") {
		t.Errorf("no recipient typed: exit %d %q", o.code, o.stderr)
	}
	// --json is --format json.
	if a, b := p.mustRun("export", "appointments", "--json"), p.mustRun("export", "appointments", "--format", "json"); a != b || !strings.HasPrefix(a, "[") {
		t.Error("--json differs from --format json")
	}

	// backup: the same rule for its file, and a JSON summary.
	p.env["CAREBOOK_BACKUP_PASSPHRASE"] = "correct horse battery staple"
	bak := filepath.Join(dir, "b.age")
	os.WriteFile(bak, []byte("last week's backup"), 0o600)
	if o := p.run("", false, "backup", bak); o.code != 1 || !strings.Contains(o.stderr, "--force") {
		t.Errorf("backup over a file: exit %d %q", o.code, o.stderr)
	}
	if b, _ := os.ReadFile(bak); string(b) != "last week's backup" {
		t.Error("backup replaced a file without --force")
	}
	var sum struct {
		File           string `json:"file"`
		EncryptedBytes int64  `json:"encrypted_bytes"`
	}
	if err := json.Unmarshal([]byte(p.mustRun("backup", bak, "--force", "--json")), &sum); err != nil || sum.File != bak || sum.EncryptedBytes == 0 {
		t.Errorf("backup --json: %v %+v", err, sum)
	}
	var rs struct {
		Patients int  `json:"patients"`
		DryRun   bool `json:"dry_run"`
		Restored bool `json:"restored"`
	}
	q := newPractice(t)
	q.env["CAREBOOK_BACKUP_PASSPHRASE"] = "correct horse battery staple"
	if err := json.Unmarshal([]byte(q.mustRun("restore", bak, "--json")), &rs); err != nil || rs.Patients != 240 || !rs.Restored || rs.DryRun {
		t.Errorf("restore --json: %v %+v", err, rs)
	}
}

// #18: shell completion is there, and completes tags, MRNs (an audited
// read, never for an empty prefix) and flag values.
func TestShellCompletion(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	if help := p.mustRun("--help"); !strings.Contains(help, "completion") {
		t.Error("carebook --help does not list completion")
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if out := p.mustRun("completion", shell); !strings.Contains(out, "carebook") {
			t.Errorf("completion %s printed %q", shell, out)
		}
	}
	lines := func(out string) []string {
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasPrefix(l, ":") && l != "" && !strings.HasPrefix(l, "Completion ended") {
				got = append(got, l)
			}
		}
		return got
	}
	if got := lines(p.mustRun("__complete", "tag", "add", "re")); !slices.Equal(got, []string{"recall-due", "refill-overdue"}) {
		t.Errorf("tag names: %v", got)
	}
	if got := lines(p.mustRun("__complete", "patients", "--tag", "dia")); !slices.Equal(got, []string{"diabetes"}) {
		t.Errorf("--tag: %v", got)
	}
	before := len(p.auditRows())
	got := lines(p.mustRun("__complete", "tag", "add", "vip", "P100"))
	slices.Sort(got)
	if len(got) != 10 || got[0] != "P1000" || got[9] != "P1009" {
		t.Errorf("MRNs after the tag: %v", got)
	}
	rows := p.rowsSince(before)
	if len(rows) != 1 || !strings.Contains(rows[0].Action, `"complete"`) || len(rows[0].PatientIDs) != 10 {
		t.Errorf("completion's audit rows %+v", rows)
	}
	before = len(p.auditRows())
	if got := lines(p.mustRun("__complete", "show", "")); len(got) != 0 {
		t.Errorf("an empty prefix offered %v", got)
	}
	if n := len(p.rowsSince(before)); n != 0 {
		t.Errorf("an empty prefix read %d rows", n)
	}
	if got := lines(p.mustRun("__complete", "show", "P1")); len(got) > 50 {
		t.Errorf("%d MRNs offered; at most 50", len(got))
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"log", "P1000", "--channel", "i"}, []string{"in-person"}},
		{[]string{"appointments", "--status", ""}, []string{"scheduled", "completed", "no-show", "cancelled"}},
		{[]string{"interactions", "--direction", "in"}, []string{"inbound"}},
		{[]string{"export", "patients", "--format", ""}, []string{"csv", "json"}},
		{[]string{"staff", "add", "Ana", "--role", ""}, []string{"front-desk", "clinician", "manager"}},
		{[]string{"patients", "--status", "d"}, []string{"deceased"}},
		// The practice's vocabulary, as the query tool knows it.
		{[]string{"appointments", "--provider", "Dr. K"}, []string{"Dr. Kim"}},
		{[]string{"appointments", "--provider", "dr. o"}, []string{"Dr. Okafor"}},
		{[]string{"appointments", "--type", "t"}, []string{"telehealth", "therapy-session"}},
		{[]string{"interactions", "--staff", "front"}, []string{"front desk (Ana)", "front desk (Ben)"}},
		{[]string{"patients", "--staff", "nur"}, []string{"nurse (Carla)"}},
		{[]string{"task", "add", "P1000", "x", "--assign", "bil"}, []string{"billing (Dev)"}},
		{[]string{"task", "list", "--assigned", "nur"}, []string{"nurse (Carla)"}},
		{[]string{"audit", "log", "--user", "nur"}, []string{"nurse (Carla)"}},
		{[]string{"patient", "edit", "P1000", "--status", "in"}, []string{"inactive"}},
		{[]string{"consent", "P1000", "marketing", "--source", "ph"}, []string{"phone"}},
		{[]string{"consent", "P1000", ""}, []string{"marketing"}},
		{[]string{"consent", "P1000", "marketing", "o"}, []string{"on", "off"}},
		// The PATIENT of every command that takes one.
		{[]string{"patient", "edit", "P101"}, mrnsFrom(1010)},
		{[]string{"patient", "merge", "P101"}, mrnsFrom(1010)},
		{[]string{"patient", "merge", "P1000", "P101"}, mrnsFrom(1010)},
		{[]string{"consent", "P101"}, mrnsFrom(1010)},
		{[]string{"task", "add", "P101"}, mrnsFrom(1010)},
		{[]string{"task", "list", "P101"}, mrnsFrom(1010)},
	} {
		got := lines(p.mustRun(append([]string{"__complete"}, tc.args...)...))
		slices.Sort(got)
		want := slices.Sorted(slices.Values(tc.want))
		if !slices.Equal(got, want) {
			t.Errorf("%v: %v, want %v", tc.args, got, want)
		}
	}

	// Wherever these flags and arguments are, on every command of the
	// tree, they complete: a new command cannot forget.
	ios, _, _, _ := cmdutil.Test()
	root := NewCmdRoot(&cmdutil.Factory{IOStreams: ios, Getenv: func(string) string { return "" }})
	if _, ok := root.GetFlagCompletionFunc("staff"); !ok {
		t.Error("the global --staff does not complete")
	}
	for _, c := range leaves(root) {
		for _, name := range []string{"provider", "type", "staff", "status", "channel", "direction", "patient", "tag", "role", "source", "format", "assign", "assigned", "user"} {
			if c.LocalFlags().Lookup(name) == nil {
				continue
			}
			if _, ok := c.GetFlagCompletionFunc(name); !ok {
				t.Errorf("%s --%s does not complete", c.CommandPath(), name)
			}
		}
		if (strings.Contains(c.Use, "PATIENT") || strings.Contains(c.Use, "KEEP")) && c.ValidArgsFunction == nil {
			t.Errorf("%s takes a PATIENT and does not complete it", c.CommandPath())
		}
	}
}

// mrnsFrom is the ten MRNs P<n> to P<n+9>.
func mrnsFrom(n int) []string {
	var out []string
	for i := range 10 {
		out = append(out, fmt.Sprintf("P%d", n+i))
	}
	return out
}

// rename_tag and delete_tag are for the plain commands and batches: a
// model that answers with one is refused (they are not in its schema
// either), and a run file may use them.
func TestTagToolsAreNotTheModels(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	rename := `{"tool":"rename_tag","args":{"tag":"vip","to":"very-important"}}`
	p.withModel(rename, rename)
	if o := p.run("", false, "ask", "rename vip to very-important", "--yes"); o.code != 1 || !strings.Contains(o.stderr, "rename_tag") {
		t.Errorf("ask: exit %d %q", o.code, o.stderr)
	}
	if !slices.Contains(p.tagsOf("P1002"), "vip") {
		t.Fatal("the model renamed a tag")
	}
	batch := filepath.Join(t.TempDir(), "tags.jsonl")
	os.WriteFile(batch, []byte(rename+"\n"+`{"tool":"delete_tag","args":{"tag":"asthma"}}`+"\n"), 0o600)
	if o := p.run("", false, "run", batch, "--yes"); o.code != 0 {
		t.Errorf("run: exit %d %q %q", o.code, o.stdout, o.stderr)
	}
	if tags := p.tagsOf("P1002"); !slices.Contains(tags, "very-important") || slices.Contains(tags, "vip") {
		t.Errorf("P1002 after the batch: %v", tags)
	}
	if strings.Contains(p.mustRun("tag", "list"), "asthma") {
		t.Error("asthma still listed after the batch")
	}
}
