package tools_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// A model's answer is untrusted input. Whatever string it puts in any field
// of any tool, no tool may read or write a file or reach a URL: the values
// are bound as parameters, and DuckDB's external access is off underneath.
// This puts hostile strings in every string field of every gold action.
func TestModelValuesCannotReachFilesOrURLs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.csv")
	os.WriteFile(secret, []byte("name\nTOPSECRET-4242\n"), 0o600)

	var hits atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			c.Close()
		}
	}()
	url := "http://" + ln.Addr().String() + "/x.csv"
	leak := func(n string) string { return filepath.Join(dir, "leak-"+n) }
	payloads := []string{
		secret,
		url,
		"read_csv('" + secret + "')",
		"x'); COPY patients TO '" + leak("copy.csv") + "'; --",
		"'; COPY (SELECT 1) TO '" + leak("copy2.csv") + "' --",
		"x\"); ATTACH '" + leak("attach.duckdb") + "' AS a; --",
		"' OR 1=1 --",
		"'||(SELECT content FROM read_text('" + secret + "'))||'",
		"read_csv_auto('" + url + "')",
		"file://" + secret,
		"$(touch " + leak("shell") + ")",
		"`touch " + leak("shell2") + "`",
		"../../../../etc/passwd",
	}

	now := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	st, err := store.Open(ctx, filepath.Join(dir, "p.duckdb"), store.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Write(ctx, store.AuditEntry{Channel: "test", Action: "{}"}, func(tx *store.Tx) error {
		_, err := tx.LoadPatients(ctx, []store.Patient{
			{MRN: "P1", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.org", Status: "active"},
			{MRN: "P2", FirstName: "Alan", LastName: "Turing", Email: "alan@example.org", Status: "active"},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	f, err := os.Open("testdata/dev_gold.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := tools.Env{Now: now, Staff: "tester"}
	var tried, ran int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var gold struct {
			Action json.RawMessage `json:"action"`
		}
		if err := json.Unmarshal(sc.Bytes(), &gold); err != nil {
			t.Fatal(err)
		}
		var tree any
		json.Unmarshal(gold.Action, &tree)
		for _, p := range payloads {
			for _, variant := range substitutions(tree, p) {
				data, _ := json.Marshal(variant)
				tried++
				a, err := tools.ParseAction(data)
				if err != nil {
					continue // rejected by the validator: fine
				}
				plan, err := tools.Prepare(ctx, st.Reader(), a, env)
				if err != nil {
					continue
				}
				// Writes run too: a hostile summary or tag must be stored as
				// text, never run.
				res, err := plan.Execute(ctx, st, store.AuditEntry{Channel: "test"})
				if err != nil {
					continue
				}
				ran++
				out, _ := json.Marshal(res.JSON(nil))
				if strings.Contains(string(out), "TOPSECRET") {
					t.Errorf("%s: the result holds the secret file's content", data)
				}
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "leak-") {
			t.Errorf("a model-supplied value created %s", e.Name())
		}
	}
	if hits.Load() != 0 {
		t.Errorf("a model-supplied value reached a URL %d times", hits.Load())
	}
	if ran == 0 || tried < 100 {
		t.Fatalf("tried %d, ran %d: the test exercised nothing", tried, ran)
	}
	t.Logf("%d hostile actions, %d passed validation and ran", tried, ran)
}

// substitutions returns copies of tree with one string leaf replaced by s,
// one copy per leaf (the tool name excepted).
func substitutions(tree any, s string) []any {
	var out []any
	var walk func(node any, set func(any) any) // set rebuilds the root with node replaced
	walk = func(node any, set func(any) any) {
		switch n := node.(type) {
		case map[string]any:
			for k, v := range n {
				if k == "tool" {
					continue
				}
				walk(v, func(nv any) any {
					c := clone(n)
					c[k] = nv
					return set(c)
				})
			}
		case []any:
			for i, v := range n {
				walk(v, func(nv any) any {
					c := append([]any(nil), n...)
					c[i] = nv
					return set(c)
				})
			}
		case string:
			out = append(out, set(s))
		}
	}
	walk(tree, func(v any) any { return v })
	return out
}

func clone(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
