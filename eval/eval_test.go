package eval

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

const (
	casesPath  = "../../shared/eval/dev.jsonl"
	fixtureDir = "../../shared/fixtures/clinic"
	goldPath   = "../tools/testdata/dev_gold.jsonl"
)

func needShared(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(fixtureDir, "patients.csv")); err != nil {
		t.Skipf("shared fixtures not found next to the repository: %v", err)
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
	if len(gold) != len(cases) {
		t.Errorf("%d gold actions for %d cases", len(gold), len(cases))
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
