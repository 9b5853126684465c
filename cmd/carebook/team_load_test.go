package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/carebook/carebook/store"
)

// teamFull runs the load test at the size issue 12 names: 4 clients × 250
// writes and a 2,000-line batch (make team-full). The default is a smaller
// but real concurrent run, sized for make test on two shared cores.
var teamFull = os.Getenv("CAREBOOK_TEAM_FULL") != ""

// written is one write a client made: the unique value it wrote.
type written struct {
	tool  string // tag or log_interaction
	value string // the tag, or the summary
	mrn   string
}

// writeArgs is the command line of client k's i-th write, and what it
// writes: tags and logs in turn, each with a value nobody else writes.
func writeArgs(k, i int) ([]string, written) {
	mrn := fmt.Sprintf("P%d", 1000+(k*61+i)%200)
	v := fmt.Sprintf("w%d-%d", k, i)
	if i%2 == 0 {
		return []string{"tag", "add", v, mrn, "--yes"}, written{"tag", v, mrn}
	}
	return []string{"log", mrn, "--channel", "call", "--summary", v, "--yes"}, written{"log_interaction", v, mrn}
}

// batchLine is line i of the batch file, and what it writes.
func batchLine(prefix string, i int) (string, written) {
	mrn := fmt.Sprintf("P%d", 1000+i%200)
	v := fmt.Sprintf("%s-%d", prefix, i)
	if i%2 == 0 {
		return fmt.Sprintf(`{"tool":"tag","args":{"tag":%q,"patient":{"match":%q}}}`, v, mrn), written{"tag", v, mrn}
	}
	return fmt.Sprintf(`{"tool":"log_interaction","args":{"patient":{"match":%q},"channel":"call","direction":"outbound","summary":%q}}`, mrn, v),
		written{"log_interaction", v, mrn}
}

// TestTeamUnderLoad is issue 12's load test through the real binary and a
// real server: four staff writing at once, one reading in a loop, a batch
// and a forget, all together. Nobody sees a failure, every committed write
// has exactly its audit row (and no audit row claims a write that is not
// there), and the log verifies.
func TestTeamUnderLoad(t *testing.T) {
	clients, perClient, batchLines := 4, 60, 500
	if teamFull {
		perClient, batchLines = 250, 2000
	} else if testing.Short() {
		perClient, batchLines = 10, 100
	}
	tm := newTeam(t)
	tm.serve()

	batch := filepath.Join(t.TempDir(), "batch.jsonl")
	var lines []string
	var want []written
	for i := range batchLines {
		l, w := batchLine("b", i)
		lines = append(lines, l)
		want = append(want, w)
	}
	if err := os.WriteFile(batch, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		failures []string
		wg       sync.WaitGroup
	)
	fail := func(what string, r result) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, what+": "+r.String())
	}
	start := time.Now()
	var writerTimes []time.Duration
	for k := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perClient {
				args, _ := writeArgs(k, i)
				if i%togetherEvery == togetherEvery-1 {
					// Now and then all four create the same new tag at
					// about the same moment, each on a patient of its own:
					// one tag row, four links, four audit rows.
					args = []string{"tag", "add", fmt.Sprintf("together-%d", i/togetherEvery), fmt.Sprintf("P%d", 1200+k), "--yes"}
				}
				r := tm.client(args...)
				if r.code != 0 {
					fail(strings.Join(args, " "), r)
				}
				mu.Lock()
				writerTimes = append(writerTimes, r.took)
				mu.Unlock()
			}
		}()
		for i := range perClient {
			if i%togetherEvery != togetherEvery-1 {
				_, w := writeArgs(k, i)
				want = append(want, w)
			}
		}
	}
	var batchOut result
	wg.Add(1)
	go func() {
		defer wg.Done()
		batchOut = tm.client("run", batch, "--yes", "--json")
		if batchOut.code != 0 {
			fail("run", batchOut)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Once everyone is busy: the rewrite waits for them, and they
		// for it.
		time.Sleep(time.Second)
		if r := tm.client("forget", "P1239", "--yes"); r.code != 0 {
			fail("forget", r)
		}
	}()
	writersDone := make(chan struct{})
	var reads atomic.Int64
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for n := 0; ; n++ {
			select {
			case <-writersDone:
				return
			default:
			}
			args := []string{"patients", "--tag", "vip", "--limit", "5"}
			if n%2 == 1 {
				args = []string{"show", "P1100"}
			}
			if r := tm.client(args...); r.code != 0 {
				fail(strings.Join(args, " "), r)
			}
			reads.Add(1)
		}
	}()
	wg.Wait()
	close(writersDone)
	<-readerDone
	elapsed := time.Since(start)
	for _, f := range failures {
		t.Error(f)
	}
	if len(failures) > 0 {
		t.Fatalf("%d commands failed", len(failures))
	}
	var report []struct {
		Line   int    `json:"line"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(batchOut.stdout), &report); err != nil {
		t.Fatalf("run --json: %v\n%s", err, batchOut.stdout)
	}
	for _, l := range report {
		if l.Status != "ok" {
			t.Errorf("batch line %d: %s", l.Line, l.Status)
		}
	}
	if len(report) != batchLines {
		t.Errorf("the batch reported %d lines of %d", len(report), batchLines)
	}
	if code := tm.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("carebook serve exited %d on SIGTERM:\n%s", code, tm.srvOut.String())
	}
	if r := tm.direct("audit", "verify"); r.code != 0 {
		t.Fatalf("audit verify: %s", r)
	}
	st := tm.open()
	checkEffectsMatchAudit(t, st, want, nil)
	checkForgotten(t, st, "P1239")
	checkTogether(t, st, clients, perClient/togetherEvery)
	t.Logf("%d clients × %d writes, a %d-line batch, a forget and %d reads in %v; write p50 %v, max %v",
		clients, perClient, batchLines, reads.Load(), elapsed.Round(time.Millisecond),
		percentile(writerTimes, .5).Round(time.Millisecond), percentile(writerTimes, 1).Round(time.Millisecond))
}

// checkEffectsMatchAudit checks that every write in want that has an ok
// audit row has its effect in the database and exactly one row, and that
// every one without a row left no trace. maybe lists writes that may or
// may not have happened (a batch cut short): for those, effect iff row.
// Writes in want are all expected to have happened unless in maybe.
func checkEffectsMatchAudit(t *testing.T, st *store.Store, want []written, maybe map[string]bool) (done int) {
	t.Helper()
	ctx := context.Background()
	r := st.Reader()
	rows, err := r.AuditLog(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	audited := map[string]int{}
	for _, row := range rows {
		if row.Outcome != store.OutcomeOK {
			continue
		}
		var a struct {
			Tool string `json:"tool"`
			Args struct {
				Tag     string `json:"tag"`
				Summary string `json:"summary"`
			} `json:"args"`
		}
		if err := json.Unmarshal([]byte(row.Action), &a); err != nil {
			continue
		}
		switch a.Tool {
		case "tag":
			audited["tag "+a.Args.Tag]++
		case "log_interaction":
			audited["log_interaction "+a.Args.Summary]++
		}
	}
	tags, err := r.ListTags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	effect := map[string]int{}
	for _, tc := range tags {
		effect["tag "+tc.Name] = tc.Patients
	}
	inters, err := r.FindInteractions(ctx, store.InteractionQuery{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inters {
		effect["log_interaction "+in.Summary]++
	}
	for _, w := range want {
		key := w.tool + " " + w.value
		n, has := audited[key], effect[key] > 0
		switch {
		case n > 1:
			t.Errorf("%s has %d audit rows, want one", key, n)
		case effect[key] > 1:
			t.Errorf("%s was written %d times, want once", key, effect[key])
		case n == 1 && !has:
			t.Errorf("%s has its audit row, but is not in the database", key)
		case n == 0 && has:
			t.Errorf("%s is in the database without its audit row", key)
		case n == 0 && !maybe[key]:
			t.Errorf("%s was not written", key)
		}
		if n == 1 && has {
			done++
		}
	}
	return done
}

// togetherEvery is how often the load test's writers all create the same
// new tag at once.
const togetherEvery = 15

// checkTogether checks the tags all clients created at once: each on every
// client's patient, with one audit row per client.
func checkTogether(t *testing.T, st *store.Store, clients, rounds int) {
	t.Helper()
	ctx := context.Background()
	tags, _ := st.Reader().ListTags(ctx)
	rows, _ := st.Reader().AuditLog(ctx, 0)
	for r := range rounds {
		name := fmt.Sprintf("together-%d", r)
		if i := slices.IndexFunc(tags, func(tc store.TagCount) bool { return tc.Name == name }); i < 0 || tags[i].Patients != clients {
			t.Errorf("%s is not on the %d patients that were tagged with it", name, clients)
		}
		n := 0
		for _, row := range rows {
			if row.Outcome == store.OutcomeOK && actionTool(row.Action) == "tag" && strings.Contains(row.Action, `"`+name+`"`) {
				n++
			}
		}
		if n != clients {
			t.Errorf("%s has %d audit rows, want %d", name, n, clients)
		}
	}
}

// checkForgotten checks that mrn is gone, and its forget is audited.
func checkForgotten(t *testing.T, st *store.Store, mrn string) {
	t.Helper()
	ps, err := st.Reader().FindPatients(context.Background(), store.PatientFilter{MRNs: []string{mrn}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 0 {
		t.Errorf("%s is still there after forget", mrn)
	}
	rows, _ := st.Reader().AuditLog(context.Background(), 0)
	forgets := 0
	for _, r := range rows {
		if actionTool(r.Action) == "forget" && r.Outcome == store.OutcomeOK {
			forgets++
		}
	}
	if forgets != 1 {
		t.Errorf("%d forget rows, want 1", forgets)
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}
