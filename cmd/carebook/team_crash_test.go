package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carebook/carebook/store"
)

// TestTeamServerKilledDuringBatch kills carebook serve with SIGKILL in the
// middle of a batch, ten times: each line is all or nothing (its changes
// are in the database exactly when its audit row is), the audit log
// verifies, and the next server starts.
func TestTeamServerKilledDuringBatch(t *testing.T) {
	rounds, perBatch := 10, 400
	if testing.Short() {
		rounds = 3
	}
	tm := newTeam(t)
	var want []written
	maybe := map[string]bool{}
	cut := 0
	for round := range rounds {
		tm.serve()
		before, err := store.ReadHead(tm.db)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for i := range perBatch {
			l, w := batchLine(fmt.Sprintf("k%d", round), i)
			lines = append(lines, l)
			want = append(want, w)
			maybe[w.tool+" "+w.value] = true
		}
		batch := filepath.Join(t.TempDir(), "batch.jsonl")
		os.WriteFile(batch, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
		run := exec.Command(tm.bin, "--server", tm.socket, "run", batch, "--yes", "--json")
		run.Env = tm.env
		var runOut syncBuffer
		run.Stdout, run.Stderr = &runOut, &runOut
		if err := run.Start(); err != nil {
			t.Fatal(err)
		}
		// Once the batch has committed something, kill the server a
		// moment later: usually in the middle of a group.
		deadline := time.Now().Add(time.Minute)
		for {
			h, err := store.ReadHead(tm.db)
			if err == nil && h.Size > before.Size+2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the batch committed nothing within a minute:\n%s\n%s", round, runOut.String(), tm.srvOut.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond)
		if code := tm.stop(syscall.SIGKILL); code != 128+int(syscall.SIGKILL) {
			t.Fatalf("round %d: the server ended with %d before it was killed:\n%s", round, code, tm.srvOut.String())
		}
		err = run.Wait()
		if err == nil {
			// The batch finished before the kill: nothing was cut.
			t.Logf("round %d: the batch was done before the kill", round)
		} else if !strings.Contains(runOut.String(), "carebook serve") {
			t.Errorf("round %d: the client's message does not say the server went away:\n%s", round, runOut.String())
		}
		st, err := store.Open(t.Context(), tm.db, store.Options{})
		if err != nil {
			t.Fatalf("round %d: the database does not open after the kill: %v", round, err)
		}
		done := checkEffectsMatchAudit(t, st, want, maybe)
		st.Close()
		if r := tm.direct("audit", "verify"); r.code != 0 {
			t.Fatalf("round %d: audit verify after the kill: %s", round, r)
		}
		if done < len(want) {
			cut++
		}
		t.Logf("round %d: %d of %d lines so far committed", round, done, len(want))
	}
	if cut == 0 {
		t.Error("no kill landed before the end of its batch: the test proved nothing")
	}
	tm.serve()
	tm.mustClient("patients", "--limit", "1")
	if code := tm.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("the last server exited %d on SIGTERM", code)
	}
}
