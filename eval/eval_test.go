package eval

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/carebook/carebook/tools"
)

// The dev set and the fixture practice ship in testdata, copied from the
// project's shared folder (shared/eval/dev.jsonl, shared/fixtures/clinic),
// which stays their source: a clean clone runs them without it.
const (
	casesPath  = "testdata/dev.jsonl"
	fixtureDir = "testdata/clinic"
	goldPath   = "../tools/testdata/dev_gold.jsonl"
)

func needShared(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(fixtureDir, "patients.csv")); err != nil {
		t.Fatalf("the fixture practice is missing from the repository: %v", err)
	}
}

// Every dev request must be expressible as one action whose execution on the
// fixture gives exactly the expected outcome.
func TestGoldActionsScoreFull(t *testing.T) {
	needShared(t)
	cases, err := LoadCases(casesPath)
	if err != nil {
		t.Fatal(err)
	}
	gold, err := LoadGold(goldPath)
	if err != nil {
		t.Fatal(err)
	}
	// The gold file also holds the records cases' (recordsCasesPath).
	for _, c := range cases {
		if _, ok := gold[c.ID]; !ok {
			t.Errorf("%s has no gold action", c.ID)
		}
	}
	results, err := Run(context.Background(), cases, GoldDecider(gold), Options{FixtureDir: fixtureDir})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s: %s\n  action: %s", r.ID, r.Diff, r.Action)
		}
	}
	if pass, total := Score(results); pass != total || total != 20 {
		t.Errorf("score %d/%d, want 20/20", pass, total)
	}
}

// The checker must be able to fail: a wrong action for each kind of case.
func TestCheckerCatchesWrongActions(t *testing.T) {
	needShared(t)
	cases, err := LoadCases(casesPath)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Case{}
	for _, c := range cases {
		byID[c.ID] = c
	}
	gold, err := LoadGold(goldPath)
	if err != nil {
		t.Fatal(err)
	}
	wrong := GoldDecider{
		"dev-01": gold["dev-02"], // a count where a list is expected
		"dev-05": gold["dev-13"], // a write where a read is expected
		"dev-09": gold["dev-12"], // the wrong patient tagged
		"dev-11": gold["dev-12"], // guessed a John Smith instead of asking
		"dev-16": gold["dev-14"], // a write where a refusal is expected
		"dev-18": gold["dev-02"], // the wrong count
	}
	var sel []Case
	for id := range wrong {
		sel = append(sel, byID[id])
	}
	results, err := Run(context.Background(), sel, wrong, Options{FixtureDir: fixtureDir})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Pass {
			t.Errorf("%s passed with a wrong action %s", r.ID, r.Action)
		}
	}
}

const (
	moreCasesPath = "testdata/more.jsonl"
	moreGoldPath  = "testdata/more_gold.jsonl"
)

// The cases of testdata/more.jsonl cover what dev.jsonl does not (time
// phrases, a surname alone, birth dates as people write them, contacted
// and heard from, groups, counts, untag, a log for a filter, clarify and
// refuse). Their expectations were computed from the fixture by
// testdata/more_oracle.py, which shares no code with Carebook; each gold
// action must give exactly them.
func TestMoreGoldActionsScoreFull(t *testing.T) {
	needShared(t)
	cases, err := LoadCases(moreCasesPath)
	if err != nil {
		t.Fatal(err)
	}
	gold, err := LoadGold(moreGoldPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 40 || len(gold) != len(cases) {
		t.Fatalf("%d cases, %d gold actions; want at least 40, one each", len(cases), len(gold))
	}
	results, err := Run(context.Background(), cases, GoldDecider(gold), Options{FixtureDir: fixtureDir})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s: %s\n  action: %s", r.ID, r.Diff, r.Action)
		}
	}
	if pass, total := Score(results); pass != total {
		t.Errorf("score %d/%d", pass, total)
	}
}

// Near misses fail: the other reading of a time phrase, the namesake, a
// list instead of a count, a tag for a query.
func TestMoreCheckerCatchesNearMisses(t *testing.T) {
	needShared(t)
	cases, err := LoadCases(moreCasesPath)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Case{}
	for _, c := range cases {
		byID[c.ID] = c
	}
	gold, err := LoadGold(moreGoldPath)
	if err != nil {
		t.Fatal(err)
	}
	raw := func(s string) tools.Action {
		a, err := tools.ParseAction([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	wrong := GoldDecider{
		// "in the last year" read as the calendar year 2025.
		"more-01": raw(`{"tool":"query","args":{"entity":"patients","where":{"has_appointment":{"status":"completed","when":"last year"}}}}`),
		"more-02": gold["more-01"], // the last twelve months for "last year"
		"more-14": raw(`{"tool":"tag","args":{"tag":"vip","patient":{"match":"John Smith","born":"1990"}}}`),
		"more-03": raw(`{"tool":"query","args":{"entity":"appointments","appointments":{"status":"scheduled","when":"next 14 days"}}}`),
		"more-12": raw(`{"tool":"log_interaction","args":{"patient":{"match":"Thomas Lopez"},"channel":"call","summary":"Left a voicemail"}}`),
		"more-20": raw(`{"tool":"query","args":{"entity":"patients","where":{"has_interaction":{"direction":"outbound","when":"this month"}}}}`),
		"more-46": raw(`{"tool":"log_interaction","args":{"where":{"tags":["diabetes"]},"channel":"sms","summary":"Refill reminder"}}`),
	}
	var sel []Case
	for id := range wrong {
		sel = append(sel, byID[id])
	}
	results, err := Run(context.Background(), sel, wrong, Options{FixtureDir: fixtureDir})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Pass {
			t.Errorf("%s passed with a wrong action %s", r.ID, r.Action)
		}
	}
}

// A model may copy the user's words for times and dates of birth: each
// phrase, as typed, gives the case's expected outcome (issue 15 #6).
func TestMorePhrasesAsTyped(t *testing.T) {
	needShared(t)
	cases, err := LoadCases(moreCasesPath)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Case{}
	for _, c := range cases {
		byID[c.ID] = c
	}
	raw := func(s string) tools.Action {
		a, err := tools.ParseAction([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	typed := GoldDecider{
		"more-01": raw(`{"tool":"query","args":{"entity":"patients","where":{"has_appointment":{"status":"completed","when":"in the last year"}}}}`),
		"more-03": raw(`{"tool":"query","args":{"entity":"appointments","appointments":{"status":"scheduled","when":"in the next 14 days"}, "output":"count"}}`),
		"more-04": raw(`{"tool":"query","args":{"entity":"appointments","appointments":{"status":"scheduled","when":"June 17"}}}`),
		"more-14": raw(`{"tool":"tag","args":{"tag":"vip","patient":{"match":"John Smith","born":"3/2/1958"}}}`),
		"more-15": raw(`{"tool":"query","args":{"entity":"interactions","patient":{"match":"Leila Garcia","born":"02/06/2001"}}}`),
		"more-16": raw(`{"tool":"log_interaction","args":{"channel":"call","summary":"Asked about her lab results","patient":{"match":"Ava Clark","born":"December 17 1943"},"direction":"inbound"}}`),
		"more-22": raw(`{"tool":"query","args":{"entity":"patients","where":{"has_interaction":{"channel":"email","direction":"inbound","when":"in 2026"}},"output":"count"}}`),
		"more-23": raw(`{"tool":"query","args":{"entity":"patients","where":{"has_interaction":{"direction":"outbound","staff":"Carla","when":"since May 1"}}}}`),
		"more-34": raw(`{"tool":"query","args":{"entity":"interactions","interactions":{"channel":"call","staff":"front desk (Ana)","when":"in April 2026"},"output":"count"}}`),
	}
	var sel []Case
	for id := range typed {
		sel = append(sel, byID[id])
	}
	results, err := Run(context.Background(), sel, typed, Options{FixtureDir: fixtureDir})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s: %s\n  action: %s", r.ID, r.Diff, r.Action)
		}
	}
}

// Answers from readers: an answer that does not parse fails its case as a
// model's would, and a case without an answer fails whatever it expects.
func TestActionDecider(t *testing.T) {
	needShared(t)
	cases, err := LoadCases(casesPath)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Case{}
	for _, c := range cases {
		byID[c.ID] = c
	}
	path := filepath.Join(t.TempDir(), "answers.jsonl")
	os.WriteFile(path, []byte(`{"id": "dev-02", "action": {"tool": "query", "args": {"entity": "patients", "where": {"tags": ["diabetes"]}, "output": "count"}}}
{"id": "dev-01", "action": "Everyone tagged refill-overdue"}
{"id": "dev-17", "action": null}
`), 0o600)
	answers, err := LoadActions(path)
	if err != nil {
		t.Fatal(err)
	}
	sel := []Case{byID["dev-02"], byID["dev-01"], byID["dev-17"], byID["dev-16"]}
	results, err := Run(context.Background(), sel, answers, Options{FixtureDir: fixtureDir})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"dev-02": true, "dev-01": false, "dev-17": false, "dev-16": false}
	for _, r := range results {
		if r.Pass != want[r.ID] {
			t.Errorf("%s: pass = %v, want %v (%s)", r.ID, r.Pass, want[r.ID], r.Diff)
		}
	}
}

const recordsCasesPath = "testdata/records.jsonl"

// The everyday-records cases (issue 15): every new tool, the task query and
// where.has_open_task, and the refusals of what only a plain command does
// (adding and merging patients). Their gold actions are in goldPath beside
// the dev set's; cases with setup run actions first (tasks to list or
// complete).
func TestRecordsGoldActionsScoreFull(t *testing.T) {
	needShared(t)
	cases, err := LoadCases(recordsCasesPath)
	if err != nil {
		t.Fatal(err)
	}
	gold, err := LoadGold(goldPath)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := LoadCases(casesPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(gold) != len(dev)+len(cases) {
		t.Errorf("%d gold actions for %d dev and %d records cases", len(gold), len(dev), len(cases))
	}
	used := map[string]bool{}
	for _, c := range cases {
		used[gold[c.ID].Tool] = true
	}
	for _, tool := range tools.RecordTools {
		if !used[tool] {
			t.Errorf("no records case uses %s", tool)
		}
	}
	results, err := Run(context.Background(), cases, GoldDecider(gold), Options{FixtureDir: fixtureDir})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s: %s\n  action: %s", r.ID, r.Diff, r.Action)
		}
	}
	if pass, total := Score(results); pass != total || total < 16 {
		t.Errorf("score %d/%d", pass, total)
	}
}

// Near misses of the records cases fail: another field, the wrong due day,
// a task for one patient where a recall was asked, a done task not logged,
// a bulk change where one patient was meant, a patient added from a
// sentence.
func TestRecordsCheckerCatchesNearMisses(t *testing.T) {
	needShared(t)
	cases, err := LoadCases(recordsCasesPath)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Case{}
	for _, c := range cases {
		byID[c.ID] = c
	}
	raw := func(s string) tools.Action {
		a, err := tools.ParseAction([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	wrong := GoldDecider{
		"rec-01": raw(`{"tool":"update_patient","args":{"patient":{"match":"P1003"},"email":"maria.jose@example.com","city":"Lakeside"}}`),
		"rec-02": raw(`{"tool":"update_patient","args":{"patient":{"match":"Jon Smyth"},"phone":"555-867-5390"}}`),
		"rec-04": raw(`{"tool":"set_consent","args":{"patient":{"match":"P1003"},"marketing":false,"source":"email"}}`),
		"rec-05": raw(`{"tool":"update_patient","args":{"patient":{"match":"P1154"},"status":"inactive"}}`),
		"rec-06": raw(`{"tool":"add_task","args":{"text":"Call back","patient":{"match":"Jon Smyth"},"due":"tuesday"}}`),
		"rec-07": raw(`{"tool":"add_task","args":{"text":"Diabetes recall","where":{"tags":["diabetes"]},"due":"in 2 weeks"}}`),
		"rec-09": raw(`{"tool":"complete_task","args":{"patient":{"match":"Jon Smyth"},"task":"lab results"}}`),
		"rec-11": raw(`{"tool":"query","args":{"entity":"tasks","tasks":{"due":"last 30 days"}}}`),
		"rec-14": raw(`{"tool":"query","args":{"entity":"tasks","tasks":{"due":"today"}}}`),
		"rec-15": raw(`{"tool":"add_patient","args":{"first_name":"Tom","last_name":"Baker","dob":"1970-01-01"}}`),
	}
	var sel []Case
	for id := range wrong {
		sel = append(sel, byID[id])
	}
	results, err := Run(context.Background(), sel, wrong, Options{FixtureDir: fixtureDir})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Pass {
			t.Errorf("%s passed with a wrong action %s", r.ID, r.Action)
		}
	}
}
