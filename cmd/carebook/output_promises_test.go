package main

// README promises about what commands say, checked through the built
// binary with stdout a pipe: tables give whole rows to scripts, doctor
// says where the database's path came from, and forget's preview names
// everything it deletes.

import (
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// fixturePractice is the fixture clinic with its appointments and
// interactions, and no model.
func fixturePractice(t *testing.T) *binPractice {
	t.Helper()
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skip("shared fixtures not found")
	}
	p := newBinPractice(t)
	p.must("init")
	for _, kind := range []string{"patients", "appointments", "interactions"} {
		p.must("import", kind, filepath.Join(fixtureDir, kind+".csv"))
	}
	return p
}

// wholeRow matches a line that is exactly these tab-separated fields,
// each a regular expression.
func wholeRow(fields ...string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^` + strings.Join(fields, `\t`) + `$`)
}

// Piped, show's rows are whole and tab-separated: a summary, a task or a
// tag list longer than 80 columns is not cut with …, and nothing is
// padded into columns. Without a terminal the width is 80, and show used
// to fit its tables to it anyway.
func TestPipedTablesAreWhole(t *testing.T) {
	p := fixturePractice(t)
	summary := "Called about the refill: the pharmacy needs the prescriber's new fax number before Friday, and she prefers a text back"
	task := "Confirm the ultrasound with radiology and send the referral letter to the new obstetrician before the visit"
	tag := "needs-spanish-interpreter-at-every-visit-and-call"
	p.must("log", "P1003", "--channel", "call", "--summary", summary, "--yes")
	p.must("task", "add", "P1003", task, "--due", "today", "--yes")
	p.must("consent", "P1003", "marketing", "off", "--source", "phone", "--yes")
	p.must("tag", "add", tag, "P1003", "--yes")

	out := p.must("show", "P1003")
	for what, row := range map[string]*regexp.Regexp{
		"name":        wholeRow(`Name:`, `María José García-López`),
		"tags":        wholeRow(`Tags:`, regexp.QuoteMeta(tag)+`, no-show-risk, pregnant`),
		"interaction": wholeRow(`[^\t]+`, `2026-06-15 \d\d:\d\d`, `call`, `outbound`, `[^\t]+`, regexp.QuoteMeta(summary)),
		"appointment": wholeRow(`A00006`, `2025-10-15 08:00`, `therapy-session`, `Dr. Okafor`, `completed`),
		"task":        wholeRow(`\d+`, `P1003`, `2026-06-15`, `[^\t]+`, `[^\t]+`, regexp.QuoteMeta(task)),
		"consent":     wholeRow(`\d{4}-\d\d-\d\d`, `opted out`, `phone`, `[^\t]+`, `\d{4}-\d\d-\d\d`),
	} {
		if !row.MatchString(out) {
			t.Errorf("show piped: no whole tab-separated %s row:\n%s", what, out)
		}
	}
	if strings.Contains(out, "…") {
		t.Errorf("show piped cut a row:\n%s", out)
	}

	// A write's preview, piped, is a table like any other.
	out = p.must("tag", "add", "prefers-morning-appointments", "P1003", "--dry-run")
	if !wholeRow(`P1003`, `María José García-López`, `1983-05-14`, regexp.QuoteMeta(tag)+`[^\t]*`).MatchString(out) || strings.Contains(out, "…") {
		t.Errorf("tag --dry-run piped: the patient's row is not whole:\n%s", out)
	}
}

// doctor says where the database's path came from, for each of the four
// places it can.
func TestDoctorSaysWhereTheDatabaseCameFrom(t *testing.T) {
	p := newBinPractice(t)
	p.must("init")
	userConfig := filepath.Join(t.TempDir(), "xdg")
	systemConfig := filepath.Join(t.TempDir(), "system.toml")
	dbLine := []byte("db = \"" + p.db + "\"\n")
	if err := os.MkdirAll(filepath.Join(userConfig, "carebook"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(userConfig, "carebook", "config.toml"), dbLine, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(systemConfig, dbLine, 0o600); err != nil {
		t.Fatal(err)
	}
	// The default is carebook.duckdb in the working folder.
	if err := os.Link(p.db, filepath.Join(p.dir, "carebook.duckdb")); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"--db", []string{"CAREBOOK_DB="}, []string{"--db", p.db}, p.db + " (from --db)"},
		{"$CAREBOOK_DB", nil, nil, p.db + " (from $CAREBOOK_DB)"},
		{"user config", []string{"CAREBOOK_DB=", "XDG_CONFIG_HOME=" + userConfig},
			nil, p.db + " (from db in " + filepath.Join(userConfig, "carebook", "config.toml") + ")"},
		{"system config", []string{"CAREBOOK_DB=", "CAREBOOK_SYSTEM_CONFIG=" + systemConfig},
			nil, p.db + " (from db in " + systemConfig + ")"},
		{"default", []string{"CAREBOOK_DB="}, nil, filepath.Join(p.dir, "carebook.duckdb") + " (from default)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(p.bin, append([]string{"doctor", "--json"}, c.args...)...)
			cmd.Env = append(append([]string{}, p.env...), c.env...)
			cmd.Dir = p.dir
			out, _ := cmd.Output() // exit 1: no Ollama
			var rep struct {
				Checks []struct{ Check, Detail string }
			}
			if err := json.Unmarshal(out, &rep); err != nil {
				t.Fatalf("doctor --json: %v\n%s", err, out)
			}
			for _, ch := range rep.Checks {
				if ch.Check == "database file" {
					if !strings.HasPrefix(ch.Detail, c.want+", mode 0600") {
						t.Errorf("database file: %q, want it to start %q", ch.Detail, c.want)
					}
					return
				}
			}
			t.Errorf("no database file check: %s", out)
		})
	}
}

// forget's preview names every kind of row it deletes: tasks, done ones
// too, and the consent history go with the patient, so the preview counts
// them, the report after says the same, and none is left in the file.
func TestForgetSaysAllItDeletes(t *testing.T) {
	p := fixturePractice(t)
	p.must("task", "add", "P1003", "call back about the lab results", "--due", "today", "--yes")
	p.must("task", "add", "P1003", "send the visit summary", "--due", "tomorrow", "--yes")
	var open []struct{ ID int64 }
	if err := json.Unmarshal([]byte(p.must("task", "list", "P1003", "--json")), &open); err != nil || len(open) != 2 {
		t.Fatalf("task list: %v %+v", err, open)
	}
	p.must("task", "done", strconv.FormatInt(open[0].ID, 10), "--yes")
	p.must("consent", "P1003", "marketing", "off", "--source", "phone", "--yes")
	p.must("consent", "P1003", "marketing", "on", "--source", "form", "--yes")

	tables := []string{"patients", "patient_tags", "appointments", "interactions", "tasks", "consent_events"}
	// rows counts the patient's rows in each table, in the file itself.
	rows := func(id int64) map[string]int {
		t.Helper()
		conn, err := sql.Open("duckdb", p.db+"?access_mode=read_only")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if id == 0 {
			if err := conn.QueryRow(`SELECT id FROM patients WHERE mrn = 'P1003'`).Scan(&id); err != nil {
				t.Fatal(err)
			}
		}
		n := map[string]int{"id": int(id)}
		for _, table := range tables {
			col := "patient_id"
			if table == "patients" {
				col = "id"
			}
			var c int
			if err := conn.QueryRow(`SELECT count(*) FROM `+table+` WHERE `+col+` = ?`, id).Scan(&c); err != nil {
				t.Fatal(err)
			}
			n[table] = c
		}
		return n
	}
	before := rows(0)
	if before["tasks"] != 2 || before["consent_events"] < 2 || before["appointments"] == 0 || before["interactions"] == 0 {
		t.Fatalf("positive control: %v", before)
	}
	counts := plural(before["patient_tags"], "tag", "tags") + ", " + plural(before["appointments"], "appointment", "appointments") + ", " +
		plural(before["interactions"], "interaction", "interactions") + ", 2 tasks and " +
		plural(before["consent_events"], "consent-history entry", "consent-history entries")

	if out := p.must("forget", "P1003", "--dry-run"); !strings.Contains(out, "for good: "+counts+".") {
		t.Errorf("preview: want %q in\n%s", counts, out)
	}
	if out := p.must("forget", "P1003", "--yes"); !strings.Contains(out, "Forgotten: removed "+counts+";") {
		t.Errorf("forget: want %q in\n%s", counts, out)
	}
	after := rows(int64(before["id"]))
	for _, table := range tables {
		if after[table] != 0 {
			t.Errorf("%d rows of %s left after forget", after[table], table)
		}
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
