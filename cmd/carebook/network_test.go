package main

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
// backup, doctor and a scan, on the file itself or through carebook serve.
// Under strace (trace set), every command appends to one trace, and the
// server writes its own.
type workday struct {
	t       *testing.T
	bin     string
	dataDir string // everything Carebook creates lands here
	inDir   string // what the test itself writes
	env     []string
	srv     *ollamatest.Server
	// strace, when set, runs every command under strace: the commands
	// append to trace, the server writes serveTrace.
	strace, trace, serveTrace string
	// serve runs the day through carebook serve rather than on the file.
	serve  bool
	socket string
	// sawSocket is the socket's mode while the server ran.
	sawSocket os.FileMode
}

// wrap is the strace prefix that writes to file, or none.
func (w *workday) wrap(file string, appendTo bool) []string {
	if w.strace == "" {
		return nil
	}
	argv := []string{w.strace, "-f", "-qq", "-e", "trace=connect,bind", "-o", file}
	if appendTo {
		argv = append(argv, "-A")
	}
	return argv
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
	argv := append(w.wrap(w.trace, true), w.bin)
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
	if w.serve {
		w.run("", "staff", "add", cmdutilActor(), "--role", "manager")
		stop := w.startServer()
		defer stop()
	}
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
// purpose) and every folder 0700, although this test runs with umask 022;
// carebook serve's socket is 0660 (its owner and the staff group).
func TestEverythingCreatedIsPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	for _, serve := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "server"}[serve], func(t *testing.T) {
			w := newWorkday(t)
			w.serve = serve
			w.do()
			checkPrivate(t, w)
			if serve && (w.sawSocket&os.ModeSocket == 0 || w.sawSocket.Perm() != 0o660) {
				t.Errorf("the socket has mode %v, want a socket with 0660", w.sawSocket)
			}
		})
	}
}

func checkPrivate(t *testing.T, w *workday) {
	var seen int
	root := filepath.Dir(filepath.Dir(w.dataDir))
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := d.Info()
		rel := strings.TrimPrefix(path, root)
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
		case fi.Mode()&os.ModeSocket != 0:
			t.Errorf("the socket %s outlived the server", rel)
		default:
			seen++
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("file %s has mode %04o, want 0600", rel, fi.Mode().Perm())
			}
		}
		return nil
	})
	want := []string{"practice.duckdb", "practice.duckdb.audit-head", "practice.duckdb.lock", "backup.age", "patients.csv", "P1003.json"}
	if !w.serve {
		want = append(want, "practice.duckdb.history")
	}
	for _, name := range want {
		if _, err := os.Stat(filepath.Join(w.dataDir, name)); err != nil {
			t.Errorf("%s was not created: %v", name, err)
		}
	}
	if seen < len(want) {
		t.Errorf("only %d files checked", seen)
	}
}

var socketLine = regexp.MustCompile(`(connect|bind)\(\d+, \{sa_family=(AF_\w+), (.*?)\}`)

// Carebook makes no network call but to the guarded Ollama endpoint: a
// whole working day under strace shows every connect(2) and bind(2) it
// made. Through carebook serve, the commands connect to its Unix socket
// and nowhere else, and the server binds that socket and connects to
// Ollama, and nothing else.
func TestNoOtherNetwork(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("strace is not installed; .ci/run installs it")
		}
		t.Skip("strace is not installed (apt-get install strace)")
	}
	for _, serve := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "server"}[serve], func(t *testing.T) {
			w := newWorkday(t)
			w.serve = serve
			w.strace, w.trace, w.serveTrace = strace, filepath.Join(w.inDir, "trace"), filepath.Join(w.inDir, "trace.serve")
			w.do()
			_, port, _ := net.SplitHostPort(w.srv.Listener.Addr().String())
			ollama := fmt.Sprintf(`sin_port=htons(%s), sin_addr=inet_addr("127.0.0.1")`, port)
			socket := fmt.Sprintf("sun_path=%q", w.socket)
			commands := readTrace(t, w.trace)
			if !serve {
				if checkTrace(t, "a command", commands, ollama, "")["ollama"] == 0 {
					t.Error("no connection to the scripted Ollama was seen: the trace proves nothing")
				}
				return
			}
			if n := checkTrace(t, "a command", commands, "", socket); n["socket"] == 0 {
				t.Error("no command connected to the server's socket: the trace proves nothing")
			}
			n := checkTrace(t, "carebook serve", readTrace(t, w.serveTrace), ollama, socket)
			if n["ollama"] == 0 || n["bind"] != 1 {
				t.Errorf("the server connected to Ollama %d times and bound %d sockets: the trace proves nothing", n["ollama"], n["bind"])
			}
		})
	}
}

func readTrace(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(data), "\n")
}

// checkTrace fails for every connect or bind in lines but those allowed:
// to ollama (when not ""), to or of socket (when not ""), and the C
// library's name service cache. It counts what it allowed.
func checkTrace(t *testing.T, who string, lines []string, ollama, socket string) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, l := range lines {
		m := socketLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		switch {
		case m[1] == "connect" && ollama != "" && m[2] == "AF_INET" && m[3] == ollama:
			n["ollama"]++
		case m[1] == "connect" && socket != "" && m[2] == "AF_UNIX" && m[3] == socket:
			n["socket"]++
		case m[1] == "bind" && socket != "" && m[2] == "AF_UNIX" && m[3] == socket:
			n["bind"]++
		case m[1] == "connect" && m[2] == "AF_UNIX" && strings.Contains(m[3], "/nscd/"):
			// the C library asking the name service cache for the OS user
		default:
			t.Errorf("%s made a connection not allowed: %s", who, l)
		}
	}
	return n
}

// cmdutilActor is this process's OS account, as carebook names it.
func cmdutilActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return fmt.Sprintf("uid:%d", os.Getuid())
}

// startServer starts carebook serve on the day's database and points every
// later command at it; stop stops it with SIGTERM and checks it ended well.
func (w *workday) startServer() (stop func()) {
	w.t.Helper()
	w.socket = filepath.Join(w.dataDir, "practice.duckdb.sock")
	argv := append(w.wrap(w.serveTrace, false), w.bin, "serve")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = w.env
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(time.Minute)
	for {
		if c, err := net.Dial("unix", w.socket); err == nil {
			c.Close()
			if strings.Contains(out.String(), "(pid ") {
				break
			}
		}
		select {
		case err := <-done:
			w.t.Fatalf("carebook serve ended (%v):\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("carebook serve did not answer:\n%s", out.String())
		}
	}
	if fi, err := os.Stat(w.socket); err == nil {
		w.sawSocket = fi.Mode()
	}
	env := w.env
	w.env = append(append([]string{}, env...), "CAREBOOK_SERVER="+w.socket)
	// The server itself, not strace around it, gets the signal.
	pid := cmd.Process.Pid
	if m := regexp.MustCompile(`\(pid (\d+)\)`).FindStringSubmatch(out.String()); m != nil {
		pid, _ = strconv.Atoi(m[1])
	}
	return func() {
		w.env = env
		syscall.Kill(pid, syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				w.t.Errorf("carebook serve: %v\n%s", err, out.String())
			}
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			syscall.Kill(pid, syscall.SIGKILL)
			w.t.Errorf("carebook serve did not stop on SIGTERM:\n%s", out.String())
		}
	}
}
