package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A case with setup actions is captured on the database it runs on: its
// setup ran first (the request turn lists a staff label only a setup
// interaction brought), and only the request's chat is captured, one model
// call per case, setup or not.
func TestCaptureRunsTheCaseSetup(t *testing.T) {
	dir := t.TempDir()
	cases := filepath.Join(dir, "cases.jsonl")
	lines := []string{
		`{"id": "plain", "request": "Which tasks are overdue?", "expect": {"kind": "tasks"}}`,
		`{"id": "setup", "request": "Which tasks are overdue?", "setup": [` +
			`{"tool": "log_interaction", "args": {"channel": "call", "summary": "Called", "patient": {"match": "P1002"}, "staff": "nurse (Zoe)"}},` +
			`{"tool": "add_task", "args": {"text": "call back", "patient": {"match": "P1002"}, "due": "2026-06-10"}}], "expect": {"kind": "tasks"}}`,
	}
	if err := os.WriteFile(cases, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := capture([]string{cases, "-fixture", "../testdata/clinic", "-o", out}); err != nil {
		t.Fatal(err)
	}
	turn := func(id string) string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(out, id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Messages []struct{ Role, Content string }
		}
		if err := json.Unmarshal(data, &body); err != nil {
			t.Fatal(err)
		}
		for _, m := range body.Messages[1 : len(body.Messages)-1] {
			if strings.Contains(m.Content, "call back") || strings.Contains(m.Content, "nurse (Zoe)") {
				t.Errorf("%s: a setup action reached the chat: %q", id, m.Content)
			}
		}
		return body.Messages[len(body.Messages)-1].Content
	}
	if plain := turn("plain"); strings.Contains(plain, "nurse (Zoe)") {
		t.Errorf("a case without setup lists the other case's staff:\n%s", plain)
	}
	last := turn("setup")
	if !strings.Contains(last, "nurse (Zoe)") {
		t.Errorf("the request turn does not list the staff the setup brought:\n%s", last)
	}
	if !strings.HasSuffix(last, "Request: Which tasks are overdue?") {
		t.Errorf("the last turn is not the case's request:\n%s", last)
	}
}
