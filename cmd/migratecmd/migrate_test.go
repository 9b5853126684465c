package migratecmd

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/migrate"
	"github.com/carebook/carebook/store"
)

const (
	hubspotCSV   = "../../migrate/testdata/hubspot.csv"
	mailchimpCSV = "../../migrate/testdata/mailchimp.csv"
)

type run struct {
	code     int
	err      error
	out, log string
}

// migrate runs `carebook migrate args…` through the command, with stdin as
// typed and tty saying whether stdin and stdout are a terminal.
func runMigrate(t *testing.T, db, stdin string, tty bool, args ...string) run {
	t.Helper()
	ios, in, out, errOut := cmdutil.Test()
	in.WriteString(stdin)
	ios.SetStdinTTY(tty)
	ios.SetStdoutTTY(tty)
	env := map[string]string{"CAREBOOK_NOW": "2026-06-15T10:00:00Z"}
	f := &cmdutil.Factory{IOStreams: ios, Version: "test", Getenv: func(k string) string { return env[k] }, DBFlag: db}
	cmd := NewCmdMigrate(f, nil)
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	code := cmdutil.ExitCode(err, errOut)
	return run{code, err, out.String(), errOut.String()}
}

func counts(t *testing.T, db string) store.Counts {
	t.Helper()
	if _, err := os.Stat(db); err != nil {
		return store.Counts{}
	}
	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.Reader().Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMigrateRefusesToGuessForScripts(t *testing.T) {
	db := filepath.Join(t.TempDir(), "p.duckdb")
	r := runMigrate(t, db, "", false, hubspotCSV)
	var flagErr *cmdutil.FlagError
	if r.code != cmdutil.ExitUsage || !errors.As(r.err, &flagErr) || !errors.Is(r.err, ErrNeedsMapping) {
		t.Fatalf("exit %d, %v", r.code, r.err)
	}
	if !strings.Contains(r.log, "--map") || !strings.Contains(r.log, "--yes") {
		t.Errorf("the refusal should say to pass --map or --yes: %q", r.log)
	}
	// --json is for scripts too, even at a terminal.
	if r := runMigrate(t, db, "", true, hubspotCSV, "--json"); r.code != cmdutil.ExitUsage {
		t.Errorf("--json without --map or --yes: exit %d", r.code)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("the refusal created a database")
	}
}

func TestMigrateYesJSON(t *testing.T) {
	db := filepath.Join(t.TempDir(), "p.duckdb")
	r := runMigrate(t, db, "", false, hubspotCSV, mailchimpCSV, "--yes", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.log)
	}
	var got struct {
		Inventory []struct {
			File    string
			Vendor  string
			Columns []struct{ Header, Field, Holds string }
		}
		RowsRead  int `json:"rows_read"`
		Patients  int
		New       int
		Merged    int `json:"duplicates_merged"`
		Merges    []struct{ Key string }
		NotesKept int                             `json:"notes_kept"`
		Skipped   []struct{ File, Header string } `json:"columns_skipped"`
		Next      []string
		Written   bool
	}
	if err := json.Unmarshal([]byte(r.out), &got); err != nil {
		t.Fatalf("%v\n%s", err, r.out)
	}
	if got.RowsRead != 16 || got.Patients != 13 || got.New != 13 || got.Merged != 3 || len(got.Merges) != 3 || got.NotesKept != 9 || !got.Written {
		t.Errorf("JSON result %+v", got)
	}
	if len(got.Inventory) != 2 || got.Inventory[0].Vendor != "hubspot" || got.Inventory[1].Vendor != "mailchimp" {
		t.Errorf("inventory %+v", got.Inventory)
	}
	if len(got.Next) != 2 || !strings.Contains(got.Next[0], "carebook --db "+db+" export patients --profile marketing --to Mailchimp") {
		t.Errorf("next steps %q", got.Next)
	}
	if c := counts(t, db); c.Patients != 13 || c.Interactions != 9 {
		t.Errorf("database %+v", c)
	}
	for _, secret := range []string{"Ana", "metformin", "example.com"} {
		if strings.Contains(r.out+r.log, secret) {
			t.Errorf("the output mentions %q", secret)
		}
	}
}

func TestMigrateTextSummary(t *testing.T) {
	db := filepath.Join(t.TempDir(), "p.duckdb")
	r := runMigrate(t, db, "", false, hubspotCSV, "--yes")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.log)
	}
	for _, want := range []string{
		"hubspot.csv (HubSpot): 8 rows, 14 columns; holds PHI",
		"Notes\tfree_text\t5\tmedication 2 rows, allergy 3 rows\tnotes\n",
		"Rows read:          8 (hubspot.csv 8)",
		"Patients imported:  6 (6 new, 0 updated, 0 unchanged)",
		"hubspot.csv row 6 merged into hubspot.csv row 2 (same email)",
		"hubspot.csv row 8 merged into hubspot.csv row 5 (same phone+dob)",
		"first_name: kept hubspot.csv row 5; differs in hubspot.csv row 8",
		`Notes kept:         5, as note interactions by "migration" dated 2026-06-15 10:00`,
		"MRNs:               6 from HS-<HubSpot record id>",
		"hubspot.csv: State/Region, Create Date",
		"Next: make the marketing list with `carebook --db " + db + " export patients --profile marketing --to HubSpot -o marketing.csv`",
		"delete these contacts, their notes and tags from HubSpot",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	for _, secret := range []string{"Ana", "Testa", "metformin", "example.com", "555"} {
		if strings.Contains(r.out, secret) {
			t.Errorf("the output mentions %q", secret)
		}
	}
}

func TestMigrateAtTerminal(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "p.duckdb")
	// Change the mapping column by column: Enter keeps, "notes" of the
	// Notes column becomes "skip"; a typo is asked again. Then say no.
	var answers []string
	answers = append(answers, "n")
	for _, h := range []string{"Record ID", "First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number",
		"Date of birth", "City", "State/Region", "Lifecycle Stage", "Marketing contact status", "Tags", "Notes", "Create Date"} {
		switch h {
		case "Notes":
			answers = append(answers, "nots", "skip")
		default:
			answers = append(answers, "")
		}
	}
	stdin := strings.Join(answers, "\n") + "\n"

	r := runMigrate(t, db, stdin+"n\n", true, hubspotCSV)
	if !errors.Is(r.err, cmdutil.ErrCancelled) || r.code != cmdutil.ExitCancelled {
		t.Fatalf("saying no: exit %d, %v", r.code, r.err)
	}
	if !strings.Contains(r.out, `"nots" is not a field`) || !strings.Contains(r.out, `"Notes" = "skip"`) {
		t.Errorf("prompts:\n%s", r.out)
	}
	if c := counts(t, db); c.Patients != 0 {
		t.Errorf("%d patients written after no", c.Patients)
	}

	r = runMigrate(t, db, stdin+"y\n", true, hubspotCSV)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.log)
	}
	if !strings.Contains(r.out, "Ready: 8 rows → 6 patients (2 duplicate rows merged), 0 notes") {
		t.Errorf("preview missing:\n%s", r.out)
	}
	if c := counts(t, db); c.Patients != 6 || c.Interactions != 0 {
		t.Errorf("database %+v", c)
	}

	// Enter accepts the proposal; stdin ending means no.
	db2 := filepath.Join(dir, "q.duckdb")
	if r := runMigrate(t, db2, "\n", true, hubspotCSV); !errors.Is(r.err, cmdutil.ErrCancelled) {
		t.Errorf("stdin ended before the confirmation: %v", r.err)
	}
	if r := runMigrate(t, db2, "\ny\n", true, hubspotCSV); r.code != 0 {
		t.Errorf("exit %d: %s", r.code, r.log)
	}
	if c := counts(t, db2); c.Patients != 6 || c.Interactions != 5 {
		t.Errorf("database %+v", c)
	}
}

func TestMigrateMapFileAndBadValue(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "p.duckdb")
	mapPath := filepath.Join(dir, "mapping.toml")
	os.WriteFile(mapPath, []byte("[columns]\n\"Create Date\" = \"dob\"\n"), 0o600)
	data, err := os.ReadFile(hubspotCSV)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "hubspot.csv")
	os.WriteFile(bad, []byte(strings.Replace(string(data), `"2024-04-20 10:10"`, `"13/45/2024"`, 1)), 0o600)

	// No terminal: --map is enough. The bad date stops everything.
	r := runMigrate(t, db, "", false, bad, mailchimpCSV, "--map", mapPath)
	if r.code != cmdutil.ExitError || !strings.Contains(r.log, `hubspot.csv row 9: "Create Date" is not a date`) || strings.Contains(r.log, "13/45") {
		t.Fatalf("exit %d: %s", r.code, r.log)
	}
	if !strings.Contains(r.out, "dob [map file]") {
		t.Errorf("the mapping from the file is not shown:\n%s", r.out)
	}
	if c := counts(t, db); c.Patients != 0 || c.Interactions != 0 {
		t.Errorf("written after a bad value: %+v", c)
	}

	// --json lists the bad values too, without them.
	r = runMigrate(t, db, "", false, bad, "--map", mapPath, "--json")
	if r.code != cmdutil.ExitError || !strings.Contains(r.out, `"bad_values"`) || strings.Contains(r.out, "13/45") {
		t.Errorf("exit %d: %s", r.code, r.out)
	}

	// A mapping naming a header no file has is a usage error.
	os.WriteFile(mapPath, []byte("[columns]\n\"Birth Date\" = \"dob\"\n"), 0o600)
	if r := runMigrate(t, db, "", false, hubspotCSV, "--map", mapPath); r.code != cmdutil.ExitUsage {
		t.Errorf("unknown header: exit %d: %s", r.code, r.log)
	}
}

func TestNextStepsQuoteDB(t *testing.T) {
	opts := &Options{DBFlag: "/tmp/my practice.duckdb"}
	next := nextSteps(opts, &migrate.Plan{})
	if !strings.Contains(next[0], "carebook --db '/tmp/my practice.duckdb' export patients --profile marketing --to \"your marketing tool\"") {
		t.Errorf("%q", next[0])
	}
}

func TestMigrateSameEmailDifferentDOB(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "family.csv")
	os.WriteFile(csvPath, []byte("First Name,Email,DOB\nPat,fam@example.com,1980-01-01\nKit,fam@example.com,2015-05-05\nPat,fam@example.com,\n"), 0o600)

	r := runMigrate(t, filepath.Join(dir, "p.duckdb"), "", false, csvPath, "--yes")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.log)
	}
	for _, want := range []string{
		"Patients imported:  2 (2 new",
		"family.csv row 4 merged into family.csv row 2 (same email)",
		"Not merged (same email, different dates of birth): family.csv row 2 and row 3\n",
		"MRNs:               2 from E-<hash of the email and date of birth>",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}

	r = runMigrate(t, filepath.Join(dir, "q.duckdb"), "", false, csvPath, "--yes", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.log)
	}
	var got struct {
		Patients  int
		NotMerged []struct {
			Rows   []migrate.RowRef
			Key    string
			Reason string
		} `json:"not_merged"`
	}
	if err := json.Unmarshal([]byte(r.out), &got); err != nil {
		t.Fatalf("%v\n%s", err, r.out)
	}
	if got.Patients != 2 || len(got.NotMerged) != 1 || got.NotMerged[0].Key != "email" ||
		got.NotMerged[0].Reason != "same email, different dates of birth" ||
		len(got.NotMerged[0].Rows) != 2 || got.NotMerged[0].Rows[1] != (migrate.RowRef{File: "family.csv", Row: 3}) {
		t.Errorf("JSON %+v", got)
	}
	for _, secret := range []string{"Pat", "Kit", "fam@", "1980", "2015"} {
		if strings.Contains(r.out+r.log, secret) {
			t.Errorf("the output mentions %q", secret)
		}
	}
}
