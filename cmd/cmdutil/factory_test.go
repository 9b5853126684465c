package cmdutil

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebook/carebook/agent"
)

func testFactory(t *testing.T, env map[string]string) (*Factory, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	var errOut bytes.Buffer
	f := &Factory{
		IOStreams: &IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &errOut},
		Getenv:    func(k string) string { return env[k] },
		DBFlag:    filepath.Join(dir, "practice.duckdb"),
	}
	env["HOME"], env["XDG_CONFIG_HOME"] = dir, dir
	return f, &errOut
}

func TestKeepAlive(t *testing.T) {
	tests := []struct {
		name, env, file string
		want            time.Duration
		wantErr         string
	}{
		{name: "default", want: 0},
		{name: "environment", env: "8h", want: 8 * time.Hour},
		{name: "file", file: `keep_alive = "45m"`, want: 45 * time.Minute},
		{name: "environment over file", env: "2h", file: `keep_alive = "45m"`, want: 2 * time.Hour},
		{name: "until Ollama stops", env: "-1s", want: -time.Second},
		{name: "not a duration", env: "all day", wantErr: "$CAREBOOK_KEEP_ALIVE: \"all day\" is not a duration"},
		{name: "zero", file: `keep_alive = "0s"`, wantErr: "keep_alive in "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			if tt.env != "" {
				env["CAREBOOK_KEEP_ALIVE"] = tt.env
			}
			f, _ := testFactory(t, env)
			if tt.file != "" {
				os.WriteFile(filepath.Join(filepath.Dir(f.DBFlag), "carebook.toml"), []byte(tt.file+"\n"), 0o600)
			}
			got, err := f.KeepAlive()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("KeepAlive() = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// The stats line holds counts and timings, and nothing else.
func TestPrintModelStats(t *testing.T) {
	f, errOut := testFactory(t, map[string]string{})
	f.printModelStats(agent.Call{PromptTokens: 155, EvalTokens: 23, PromptEval: 41 * time.Millisecond,
		Eval: 310 * time.Millisecond, Total: 362 * time.Millisecond, Done: true})
	f.printModelStats(agent.Call{PromptTokens: 1190, EvalTokens: 1, PromptEval: 2100 * time.Millisecond,
		Load: 900 * time.Millisecond, Total: 3050 * time.Millisecond, Done: true, Warmup: true})
	want := "carebook: model call: prompt_eval_count=155 prompt_eval_ms=41 eval_count=23 eval_ms=310 load_ms=0 total_ms=362 done=true\n" +
		"carebook: model warm-up: prompt_eval_count=1190 prompt_eval_ms=2100 eval_count=1 eval_ms=0 load_ms=900 total_ms=3050 done=true\n"
	if errOut.String() != want {
		t.Errorf("got %q, want %q", errOut.String(), want)
	}
}
