package root

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/carebook/carebook/guard"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/store"
)

const fixtureDir = "../../eval/testdata/clinic"

// practice is a temporary practice database driven through the real
// command tree, the way a user at a terminal or a script would.
type practice struct {
	t   *testing.T
	db  string
	env map[string]string
	// resolver and dial, when set, stand in for DNS and the network under
	// the guard, so that private-network cases run on one machine.
	resolver guard.Resolver
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	// noDBFlag leaves --db off, as staff who just type `carebook` do.
	noDBFlag bool
}

type outcome struct {
	code           int
	stdout, stderr string
}

func newPractice(t *testing.T) *practice {
	t.Helper()
	dir := t.TempDir()
	return &practice{t: t, db: filepath.Join(dir, "practice.duckdb"), env: map[string]string{
		"CAREBOOK_NOW": "2026-06-15T10:00:00Z",
		// Not this machine's /etc/carebook/config.toml.
		"CAREBOOK_SYSTEM_CONFIG": filepath.Join(dir, "no-system-config.toml"),
		// Nothing in these tests may reach a real Ollama.
		"CAREBOOK_OLLAMA_HOST": "http://127.0.0.1:1",
	}}
}

// run runs one carebook command line. stdin is what the user types; tty
// says whether stdin and stdout are a terminal.
func (p *practice) run(stdin string, tty bool, args ...string) outcome {
	p.t.Helper()
	ios, in, out, errOut := cmdutil.Test()
	in.WriteString(stdin)
	ios.SetStdinTTY(tty)
	ios.SetStdoutTTY(tty)
	f := &cmdutil.Factory{IOStreams: ios, Version: "test", Getenv: func(k string) string { return p.env[k] },
		Resolver: p.resolver, Dial: p.dial}
	cmd := NewCmdRoot(f)
	if !p.noDBFlag {
		args = append([]string{"--db", p.db}, args...)
	}
	cmd.SetArgs(args)
	code := cmdutil.ExitCode(cmdutil.Execute(context.Background(), cmd), errOut)
	return outcome{code, out.String(), errOut.String()}
}

// writeConfig writes carebook.toml beside the database.
func (p *practice) writeConfig(content string) {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(filepath.Dir(p.db), "carebook.toml"), []byte(content), 0o600); err != nil {
		p.t.Fatal(err)
	}
}

func (p *practice) mustRun(args ...string) string {
	p.t.Helper()
	o := p.run("", false, args...)
	if o.code != 0 {
		p.t.Fatalf("carebook %s: exit %d: %s", strings.Join(args, " "), o.code, o.stderr)
	}
	return o.stdout
}

func (p *practice) importFixture() {
	p.t.Helper()
	if _, err := os.Stat(fixtureDir); err != nil {
		p.t.Skip("shared fixtures not found")
	}
	p.mustRun("init")
	for _, kind := range []string{"patients", "appointments", "interactions"} {
		p.mustRun("import", kind, filepath.Join(fixtureDir, kind+".csv"))
	}
}

func (p *practice) tagsOf(mrn string) []string {
	p.t.Helper()
	var rec struct{ Tags []string }
	if err := json.Unmarshal([]byte(p.mustRun("show", mrn, "--json")), &rec); err != nil {
		p.t.Fatal(err)
	}
	return rec.Tags
}

func (p *practice) auditRows() []store.AuditRow {
	p.t.Helper()
	st, err := store.Open(context.Background(), p.db, store.Options{})
	if err != nil {
		p.t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.Reader().AuditLog(context.Background(), 0)
	if err != nil {
		p.t.Fatal(err)
	}
	return rows
}

func TestInitCreatesPrivateFile(t *testing.T) {
	p := newPractice(t)
	out := p.mustRun("init")
	if !strings.Contains(out, "Created") {
		t.Errorf("init said %q", out)
	}
	fi, err := os.Stat(p.db)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("database mode %o, want 600", mode)
	}
	if out := p.mustRun("init"); !strings.Contains(out, "already exists") {
		t.Errorf("second init said %q", out)
	}
}

func TestMissingDatabaseIsAClearError(t *testing.T) {
	p := newPractice(t)
	o := p.run("", false, "patients")
	if o.code != 1 || !strings.Contains(o.stderr, "carebook init") {
		t.Errorf("exit %d, stderr %q; want 1 and a hint to run carebook init", o.code, o.stderr)
	}
	if _, err := os.Stat(p.db); err == nil {
		t.Error("a read created the database file")
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	p := newPractice(t)
	p.mustRun("init")
	for _, args := range [][]string{
		{"nosuchcommand"},
		{"patients", "--nosuchflag"},
		{"tag", "add", "Not_Kebab", "P1000"},
		{"tag", "add", "vip"},
		{"log", "P1000", "--channel", "fax", "--summary", "x"},
		{"log", "P1000", "--channel", "call"},
		{"export", "everything"},
		{"export", "patients", "--format", "xml"},
		{"patients", "--limit", "-1"},
	} {
		o := p.run("", false, args...)
		if o.code != 2 {
			t.Errorf("carebook %s: exit %d, want 2 (stderr %q)", strings.Join(args, " "), o.code, o.stderr)
		}
		if strings.Count(strings.TrimSpace(o.stderr), "\n") > 1 {
			t.Errorf("carebook %s: stderr is not one clear message: %q", strings.Join(args, " "), o.stderr)
		}
	}
}

func TestPatientsFilters(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	var all []struct {
		MRN  string   `json:"mrn"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal([]byte(p.mustRun("patients", "--json")), &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != 240 {
		t.Fatalf("patients --json lists %d, want 240", len(all))
	}
	want := 0
	for _, pt := range all {
		if slices.Contains(pt.Tags, "diabetes") {
			want++
		}
	}
	out := p.mustRun("patients", "--tag", "diabetes")
	if got := strings.Count(out, "\n"); got != want || want == 0 {
		t.Errorf("patients --tag diabetes printed %d lines, want %d", got, want)
	}
	if out := p.mustRun("patients", "smith", "--mrn", "P1001"); !strings.HasPrefix(out, "P1001\tJohn\u00a0Smith") && !strings.HasPrefix(out, "P1001\tJohn Smith") {
		t.Errorf("patients smith --mrn P1001 printed %q", out)
	}
	// Piped output is rows only; a terminal gets a header and a count.
	tty := p.run("", true, "patients", "--mrn", "P1001")
	if !strings.HasPrefix(tty.stdout, "MRN") || !strings.Contains(tty.stdout, "1 patient") {
		t.Errorf("terminal output %q lacks header or count", tty.stdout)
	}
	if o := p.run("", false, "patients", "--tag", "no-such-tag"); o.code != 1 || !strings.Contains(o.stderr, "no tag") {
		t.Errorf("unknown tag: exit %d, %q", o.code, o.stderr)
	}
	if o := p.run("", false, "patients", "--status", "asleep"); o.code != 2 || !strings.Contains(o.stderr, "--status") {
		t.Errorf("bad status: exit %d, %q", o.code, o.stderr)
	}
}

func TestShowAmbiguousNameListsCandidates(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	o := p.run("", false, "show", "John Smith")
	if o.code != 1 {
		t.Fatalf("exit %d, want 1", o.code)
	}
	for _, want := range []string{"P1000", "P1001", "1958-03-02", "1990-11-20"} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("candidates %q lack %s", o.stderr, want)
		}
	}
	if o.stdout != "" {
		t.Errorf("an ambiguous show printed a record: %q", o.stdout)
	}
	out := p.mustRun("show", "John Smith", "--born", "1990")
	if !strings.Contains(out, "P1001") || strings.Contains(out, "P1000") {
		t.Errorf("--born 1990 showed %q", out)
	}
	if o := p.run("", false, "show", "Nobody Atall"); o.code != 1 || !strings.Contains(o.stderr, "no patient matches") {
		t.Errorf("unknown patient: exit %d, %q", o.code, o.stderr)
	}
	// The audit row of a read names the patient by MRN only; the failed
	// lookups are audited too, with no name in their action.
	rows := p.auditRows()
	var shown []store.AuditRow
	for _, r := range rows {
		if strings.Contains(r.Action, `"show"`) {
			shown = append(shown, r)
			if strings.Contains(r.Action, "Smith") || strings.Contains(r.Action, "Nobody") {
				t.Errorf("audit action %q", r.Action)
			}
		}
	}
	if len(shown) != 3 || !strings.Contains(shown[1].Action, "P1001") || len(shown[0].PatientIDs) != 2 {
		t.Errorf("show rows %+v; want the candidates, the record by MRN, and the miss", shown)
	}
}

func TestTagAddNeedsConfirmation(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	before := len(p.auditRows())

	// A script without --yes writes nothing.
	o := p.run("", false, "tag", "add", "recall-due", "P1002")
	if o.code != 1 || !strings.Contains(o.stderr, "--yes") {
		t.Errorf("no --yes without a terminal: exit %d, %q", o.code, o.stderr)
	}
	// A person who answers no writes nothing.
	o = p.run("n\n", true, "tag", "add", "recall-due", "P1002")
	if o.code != cmdutil.ExitError || !strings.Contains(o.stdout, "Tag 1 patient as recall-due") {
		t.Errorf("answer no: exit %d, stdout %q", o.code, o.stdout)
	}
	if slices.Contains(p.tagsOf("P1002"), "recall-due") {
		t.Fatal("tag written without confirmation")
	}
	// A person who answers yes does.
	o = p.run("y\n", true, "tag", "add", "recall-due", "P1002")
	if o.code != 0 || !strings.Contains(o.stdout, "Tagged 1 patient as recall-due") {
		t.Errorf("answer yes: exit %d, stdout %q, stderr %q", o.code, o.stdout, o.stderr)
	}
	if !slices.Contains(p.tagsOf("P1002"), "recall-due") {
		t.Fatal("tag not written after yes")
	}
	// Declined and refused writes are audited as refused.
	var refused int
	for _, r := range p.auditRows()[before:] {
		if r.Outcome == store.OutcomeRefused {
			refused++
		}
	}
	if refused != 2 {
		t.Errorf("%d refused audit rows, want 2", refused)
	}
}

func TestTagAddAmbiguousWritesNothing(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	o := p.run("", false, "tag", "add", "flu-2026", "P1002", "John Smith", "--yes")
	if o.code != 1 || !strings.Contains(o.stderr, "P1000") || !strings.Contains(o.stderr, "P1001") || !strings.Contains(o.stderr, "Nothing was written") {
		t.Errorf("exit %d, stderr %q", o.code, o.stderr)
	}
	if slices.Contains(p.tagsOf("P1002"), "flu-2026") {
		t.Error("P1002 was tagged although another name was ambiguous")
	}
}

func TestTagAddRemoveListAndJSON(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	var res struct {
		Count   int      `json:"count"`
		Changed []string `json:"changed_mrns"`
	}
	out := p.mustRun("tag", "add", "flu-2026", "P1002", "P1003", "P1002", "--yes", "--json")
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Count != 2 || !slices.Equal(res.Changed, []string{"P1002", "P1003"}) {
		t.Errorf("tag add result %+v", res)
	}
	if out := p.mustRun("tag", "list"); !strings.Contains(out, "flu-2026\t2\n") {
		t.Errorf("tag list:\n%s", out)
	}
	p.mustRun("tag", "remove", "flu-2026", "P1003", "--yes")
	if tags := p.tagsOf("P1003"); slices.Contains(tags, "flu-2026") {
		t.Errorf("P1003 still tagged: %v", tags)
	}
	if o := p.run("", false, "tag", "remove", "no-such-tag", "P1003", "--yes"); o.code != 1 {
		t.Errorf("removing an unknown tag: exit %d", o.code)
	}
}

func TestLogInteraction(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	p.mustRun("log", "john.smith56@example.org", "--channel", "call", "--summary", "Left a voicemail", "--at", "yesterday", "--yes")
	var rec struct {
		Interactions []struct {
			ID, At, Channel, Direction, Staff, Summary string
		}
	}
	json.Unmarshal([]byte(p.mustRun("show", "P1000", "--json")), &rec)
	if len(rec.Interactions) != 1 {
		t.Fatalf("P1000 has %d interactions, want 1", len(rec.Interactions))
	}
	got := rec.Interactions[0]
	if got.At != "2026-06-14T00:00:00" || got.Channel != "call" || got.Direction != "outbound" || got.Summary != "Left a voicemail" || got.Staff == "" || !strings.HasPrefix(got.ID, "CB-I") {
		t.Errorf("logged %+v", got)
	}
	if o := p.run("", false, "log", "P1000", "--channel", "call", "--summary", "x", "--at", "someday", "--yes"); o.code != 2 || !strings.Contains(o.stderr, "someday") {
		t.Errorf("bad --at: exit %d, %q", o.code, o.stderr)
	}
}

func TestExportRoundTrips(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	p.mustRun("log", "P1000", "--channel", "sms", "--summary", "Reminder, with a comma and \"quotes\"", "--yes")
	dir := t.TempDir()
	for _, kind := range []string{"patients", "appointments", "interactions"} {
		path := filepath.Join(dir, kind+".csv")
		p.mustRun("export", kind, "-o", path)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %o, want 600", kind, fi.Mode().Perm())
		}
	}
	// Re-importing into the same database changes nothing.
	for _, kind := range []string{"patients", "appointments", "interactions"} {
		if out := p.mustRun("import", kind, filepath.Join(dir, kind+".csv")); !strings.Contains(out, " 0 new, 0 updated") {
			t.Errorf("re-import of the %s export changed something: %s", kind, out)
		}
	}
	// Importing into a new database and exporting again gives the same bytes.
	q := newPractice(t)
	q.mustRun("init")
	for _, kind := range []string{"patients", "appointments", "interactions"} {
		q.mustRun("import", kind, filepath.Join(dir, kind+".csv"))
		first, _ := os.ReadFile(filepath.Join(dir, kind+".csv"))
		second := q.mustRun("export", kind)
		if !bytes.Equal(first, []byte(second)) {
			t.Errorf("%s export differs after a round trip", kind)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(p.mustRun("export", "patients"))).ReadAll()
	if err != nil || len(rows) != 241 {
		t.Errorf("patients export: %d rows, %v", len(rows), err)
	}
	var js []map[string]any
	if err := json.Unmarshal([]byte(p.mustRun("export", "appointments", "--format", "json")), &js); err != nil || len(js) != 595 {
		t.Errorf("appointments json: %d, %v", len(js), err)
	}
	last := p.auditRows()
	if l := last[len(last)-1]; l.Channel != cmdutil.ChannelExport || !strings.Contains(l.Message, "disclosure") {
		t.Errorf("export audit row %+v", l)
	}
}

// The shipped service definitions start serve with flags that exist: a
// renamed flag must fail here, not at a practice's reboot.
func TestDeployFilesUseRealFlags(t *testing.T) {
	unit, err := os.ReadFile("../../deploy/carebook.service")
	if err != nil {
		t.Fatal(err)
	}
	var exec []string
	for _, line := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
			exec = strings.Fields(v)
		}
	}
	plist, err := os.ReadFile("../../deploy/com.carebook.serve.plist")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, m := range regexp.MustCompile(`<string>([^<]*)</string>`).FindAllStringSubmatch(string(plist[strings.Index(string(plist), "ProgramArguments"):]), -1) {
		args = append(args, m[1])
		if m[1] == "--socket" {
			args = append(args, "x")
			break
		}
	}
	for _, argv := range [][]string{exec, args} {
		if len(argv) < 2 || argv[1] != "serve" {
			t.Fatalf("not a serve command: %q", argv)
		}
		f := &cmdutil.Factory{IOStreams: func() *cmdutil.IOStreams { ios, _, _, _ := cmdutil.Test(); return ios }(), Getenv: func(string) string { return "" }}
		cmd := NewCmdRoot(f)
		sub, rest, err := cmd.Find(argv[1:])
		if err != nil || sub.Name() != "serve" {
			t.Fatalf("%q: %v", argv, err)
		}
		if err := sub.ParseFlags(rest); err != nil {
			t.Errorf("%q: %v", argv, err)
		}
	}
	if !strings.Contains(string(unit), "Group=carebook-staff") || !strings.Contains(string(unit), "UMask=0077") {
		t.Error("the unit lost its staff group or its umask")
	}
}
