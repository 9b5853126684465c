package main

import (
	"bufio"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/carebook/carebook/internal/ollamatest"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// carebookBinary builds the real binary once per test run.
func carebookBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "carebook-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "carebook")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// workday runs what a practice does in a day through the real binary:
// init, import, export, a disclosure, ask, run, the REPL, a search, a
// backup, doctor and a scan. wrap, when set, prefixes every command (strace).
type workday struct {
	t       *testing.T
	bin     string
	dataDir string // everything Carebook creates lands here
	inDir   string // what the test itself writes
	env     []string
	wrap    []string
	srv     *ollamatest.Server
}

func newWorkday(t *testing.T) *workday {
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skip("shared fixtures not found")
	}
	w := &workday{t: t, bin: carebookBinary(t), inDir: t.TempDir()}
	w.dataDir = filepath.Join(t.TempDir(), "practice", "data") // does not exist yet
	w.srv = ollamatest.New("tiny:latest",
		`{"tool":"query","args":{"entity":"patients","output":"count"}}`)
	t.Cleanup(w.srv.Close)
	w.env = append(os.Environ(), "CAREBOOK_DB="+filepath.Join(w.dataDir, "practice.duckdb"),
		"CAREBOOK_NOW=2026-06-15T10:00:00Z", "CAREBOOK_OLLAMA_HOST="+w.srv.URL, "CAREBOOK_MODEL=tiny:latest",
		"CAREBOOK_BACKUP_PASSPHRASE=correct horse battery staple", "HOME="+w.inDir, "XDG_CONFIG_HOME="+w.inDir,
		// Proxies pointing nowhere: nothing may try them.
		"HTTP_PROXY=http://192.0.2.1:3128", "HTTPS_PROXY=http://192.0.2.1:3128", "ALL_PROXY=socks5://192.0.2.1:1080")
	return w
}

func (w *workday) run(stdin string, args ...string) string {
	w.t.Helper()
	argv := append(append([]string{}, w.wrap...), w.bin)
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = w.env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("carebook %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (w *workday) do() {
	jsonl := filepath.Join(w.inDir, "batch.jsonl")
	os.WriteFile(jsonl, []byte(`{"tool":"tag","args":{"tag":"recall-due","patient":{"match":"P1002"}}}`+"\n"), 0o600)
	w.run("", "init")
	os.WriteFile(filepath.Join(w.dataDir, "carebook.toml"), []byte("history = true\n"), 0o600)
	for _, kind := range []string{"patients", "appointments", "interactions"} {
		w.run("", "import", kind, filepath.Join(fixtureDir, kind+".csv"))
	}
	w.run("", "export", "patients", "--output", filepath.Join(w.dataDir, "patients.csv"))
	w.run("", "export", "patient", "P1003", "--output", filepath.Join(w.dataDir, "P1003.json"), "--to", "the patient", "--purpose", "right of access")
	w.run("", "ask", "how many patients are there")
	w.run("", "run", jsonl, "--yes")
	w.run("how many patients are there\n/bye\n", "repl")
	w.run("", "patients", "--tag", "vip", "--json")
	w.run("", "backup", filepath.Join(w.dataDir, "backup.age"))
	w.run("", "audit", "export", "--output", filepath.Join(w.dataDir, "audit.jsonl"))
	w.run("", "forget", "P1004", "--yes")
	w.run("", "doctor")
	w.run("", "scan", filepath.Join(fixtureDir, "patients.csv"))
}

// Every file Carebook creates is 0600 (the audit export 0400, read-only on
// purpose) and every folder 0700, although this test runs with umask 022.
func TestEverythingCreatedIsPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	w := newWorkday(t)
	w.do()
	var seen int
	filepath.WalkDir(filepath.Dir(filepath.Dir(w.dataDir)), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := d.Info()
		rel := strings.TrimPrefix(path, filepath.Dir(filepath.Dir(w.dataDir)))
		switch {
		case rel == "" || rel == "/practice" && d.IsDir():
			return nil // the temp dir and a folder the test made the parent of
		case d.IsDir():
			if fi.Mode().Perm() != 0o700 {
				t.Errorf("folder %s has mode %04o, want 0700", rel, fi.Mode().Perm())
			}
		case filepath.Base(path) == "carebook.toml":
			// written by the test
		case filepath.Base(path) == "audit.jsonl":
			if fi.Mode().Perm() != 0o400 {
				t.Errorf("audit export %s has mode %04o, want 0400", rel, fi.Mode().Perm())
			}
		default:
			seen++
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("file %s has mode %04o, want 0600", rel, fi.Mode().Perm())
			}
		}
		return nil
	})
	for _, want := range []string{"practice.duckdb", "practice.duckdb.audit-head", "practice.duckdb.history", "backup.age", "patients.csv", "P1003.json"} {
		if _, err := os.Stat(filepath.Join(w.dataDir, want)); err != nil {
			t.Errorf("%s was not created: %v", want, err)
		}
	}
	if seen < 6 {
		t.Errorf("only %d files checked", seen)
	}
}

var connectLine = regexp.MustCompile(`connect\(\d+, \{sa_family=(AF_\w+), (.*?)\}`)

// Carebook makes no network call but to the guarded Ollama endpoint: a
// whole working day under strace shows every connect(2) it made.
func TestNoOtherNetwork(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("strace is not installed; .ci/run installs it")
		}
		t.Skip("strace is not installed (apt-get install strace)")
	}
	w := newWorkday(t)
	trace := filepath.Join(w.inDir, "trace")
	// -A appends: one trace for the whole day.
	w.wrap = []string{strace, "-f", "-qq", "-e", "trace=connect", "-o", trace, "-A"}
	w.do()

	_, port, _ := net.SplitHostPort(w.srv.Listener.Addr().String())
	allowed := fmt.Sprintf(`sin_port=htons(%s), sin_addr=inet_addr("127.0.0.1")`, port)
	f, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var toOllama int
	for sc.Scan() {
		m := connectLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		switch {
		case m[1] == "AF_INET" && m[2] == allowed:
			toOllama++
		case m[1] == "AF_UNIX" && strings.Contains(m[2], "/nscd/"):
			// the C library asking the name service cache for the OS user
		default:
			t.Errorf("a connection not to the guarded endpoint: %s", sc.Text())
		}
	}
	if toOllama == 0 {
		t.Error("no connection to the scripted Ollama was seen: the trace proves nothing")
	}
	t.Logf("%d connections, all to the guarded endpoint %s", toOllama, w.srv.URL)
}
