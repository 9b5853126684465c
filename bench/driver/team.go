package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/internal/ollamatest"
)

// team measures carebook serve on the 100k demo (issue 12): write latency
// with four staff writing at once, the same requests through the server
// and on the file, and a 10k-line batch through the server.
func (d *driver) team() {
	db := d.copyDemo("team")
	d.cmd(nil, "--db", db, "staff", "add", cmdutil.Actor(), "--role", "manager")
	ollama := ollamatest.New("bench:latest", `{"tool":"query","args":{"entity":"patients","where":{"tags":["diabetes"]},"output":"count"}}`)
	defer ollama.Close()
	timed := &timedHandler{next: ollama.Config.Handler}
	ollama.Config.Handler = timed
	modelEnv := []string{"CAREBOOK_OLLAMA_HOST=" + ollama.URL, "CAREBOOK_MODEL=bench:latest"}

	// The same requests on the file, then through the server.
	same := []struct {
		name string
		args []string
		ask  bool
	}{
		{"patients --tag vip --limit 20", []string{"patients", "--tag", "vip", "--limit", "20", "--json"}, false},
		{"show D000123", []string{"show", "D000123", "--json"}, false},
		{"tag add (one patient)", []string{"tag", "add", "bench-same", "D000123", "--yes"}, false},
		{"ask, instant scripted Ollama", []string{"ask", "how many patients have diabetes"}, true},
	}
	const runs = 10
	direct := make([]time.Duration, len(same))
	for i, r := range same {
		var wall []time.Duration
		for range runs {
			timed.spent = 0
			el, _ := d.cmd(modelEnv, append([]string{"--db", db}, r.args...)...)
			wall = append(wall, el-timed.spent)
		}
		direct[i] = percentile(wall, .5)
	}

	socket := db + ".sock"
	stop := d.serve(db, socket, modelEnv)
	defer stop()
	server := []string{"--server", socket}
	for i, r := range same {
		var wall []time.Duration
		for range runs {
			timed.spent = 0
			el, _ := d.cmd(nil, append(server, r.args...)...)
			wall = append(wall, el-timed.spent)
		}
		med := percentile(wall, .5)
		what := "wall"
		if r.ask {
			what = "wall minus Ollama"
		}
		d.row("team: "+r.name+", server vs direct", fmt.Sprintf("median of %d, %s", runs, what),
			fmt.Sprintf("server %s, direct %s", ms(med), ms(direct[i])), fmt.Sprintf("server adds %s", ms(med-direct[i])),
			"target ≤ 40 ms over direct", verdict(med-direct[i] <= 40*time.Millisecond))
	}

	// Four staff writing at once, each its own process per command, as
	// they would type them.
	lat, errs := d.concurrentWrites(server, 4, 50, "")
	d.row("team: write latency, 4 clients at once (tag add, log)", fmt.Sprintf("%d writes, %d errors", len(lat), errs),
		fmt.Sprintf("p50 %s p99 %s", ms(percentile(lat, .5)), ms(percentile(lat, .99))), "target p99 ≤ 100 ms, 0 errors", "",
		verdict(percentile(lat, .99) <= 100*time.Millisecond && errs == 0))

	// The same while a batch runs.
	batch := d.batchFile("team-during", 2000)
	var batchEl time.Duration
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		batchEl, _ = d.cmd(nil, append(server, "run", batch, "--yes", "--json")...)
	}()
	time.Sleep(500 * time.Millisecond)
	lat, errs = d.concurrentWrites(server, 4, 25, "during")
	wg.Wait()
	d.row("team: write latency, 4 clients while a 2k-line batch runs", fmt.Sprintf("%d writes, %d errors", len(lat), errs),
		fmt.Sprintf("p50 %s p99 %s", ms(percentile(lat, .5)), ms(percentile(lat, .99))), "batch "+ms(batchEl), "",
		verdict(percentile(lat, .99) <= 100*time.Millisecond && errs == 0))

	// The 10k-line batch of the batch row, through the server.
	el, _ := d.cmd(nil, append(server, "run", d.batchFile("team", 10_000), "--yes", "--json")...)
	d.row("team: batch, 10k JSONL lines through the server (run --yes)", "10000 lines", ms(el), "target < 10 s", "", verdict(el < 10*time.Second))
}

// serve starts carebook serve on db and returns how to stop it.
func (d *driver) serve(db, socket string, env []string) (stop func()) {
	cmd := exec.Command(d.bin, "--db", db, "serve", "--socket", socket)
	cmd.Env = append(append(os.Environ(), "CAREBOOK_NOW=2026-06-15T10:00:00Z", "HOME="+d.work, "XDG_CONFIG_HOME="+d.work), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	must(0, cmd.Start())
	deadline := time.Now().Add(time.Minute)
	for {
		if c, err := net.Dial("unix", socket); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "bench: carebook serve did not answer:\n%s\n", out.String())
			os.Exit(2)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: carebook serve: %v\n%s\n", err, out.String())
		}
	}
}

// concurrentWrites runs clients processes at once, each making n writes
// (tag add and log in turn, unique values), and returns each command's
// wall time and how many failed.
func (d *driver) concurrentWrites(server []string, clients, n int, tag string) ([]time.Duration, int) {
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	for k := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				mrn := fmt.Sprintf("D%06d", 1+(k*7919+i*104729)%100_000)
				v := fmt.Sprintf("bench-w%s%d-%d", tag, k, i)
				args := []string{"tag", "add", v, mrn, "--yes"}
				if i%2 == 1 {
					args = []string{"log", mrn, "--channel", "call", "--summary", v, "--yes"}
				}
				cmd := exec.Command(d.bin, append(server, args...)...)
				cmd.Env = append(os.Environ(), "CAREBOOK_NOW=2026-06-15T10:00:00Z", "HOME="+d.work, "XDG_CONFIG_HOME="+d.work)
				t0 := time.Now()
				out, err := cmd.CombinedOutput()
				el := time.Since(t0)
				mu.Lock()
				lat = append(lat, el)
				if err != nil {
					errs++
					fmt.Fprintf(os.Stderr, "bench: %s: %v\n%s\n", strings.Join(args, " "), err, out)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return lat, errs
}

// batchFile writes the batch row's mixed batch of n lines: for each
// patient a tag, a logged call, a count of their interactions and an
// untag.
func (d *driver) batchFile(name string, n int) string {
	f := filepath.Join(d.work, name+".jsonl")
	var b strings.Builder
	for i := range n {
		mrn := fmt.Sprintf("D%06d", 1+((i/4)*7919)%100_000)
		tag := fmt.Sprintf("batch-%d", (i/4)%5)
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, `{"tool":"tag","args":{"tag":%q,"patient":{"match":%q}}}`+"\n", tag, mrn)
		case 1:
			fmt.Fprintf(&b, `{"tool":"log_interaction","args":{"patient":{"match":%q},"channel":"call","direction":"outbound","summary":"Reminder call"}}`+"\n", mrn)
		case 2:
			fmt.Fprintf(&b, `{"tool":"query","args":{"entity":"interactions","patient":{"match":%q},"output":"count"}}`+"\n", mrn)
		default:
			fmt.Fprintf(&b, `{"tool":"untag","args":{"tag":%q,"patient":{"match":%q}}}`+"\n", tag, mrn)
		}
	}
	must(0, os.WriteFile(f, []byte(b.String()), 0o600))
	return f
}
