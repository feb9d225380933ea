package reliability

import (
	"fmt"
	"strings"
	"testing"
)

// TestCrashAfterEachWrite stops the manager right after one of its writes (the write
// reached the API server, nothing after it did) and starts a new one, as a Deployment
// would, at every write of a lifecycle: each step of creation and of CAPTEP-0041's
// deletion (endpoint cleared, applies deleted, Workspace being destroyed, secrets
// deleted, finalizers removed). Each lifecycle must crash exactly once, right after the
// write its subtest is named after, and converge: provisioned, deleted in order, nothing
// left, nothing deleted twice, nothing created twice.
func TestCrashAfterEachWrite(t *testing.T) {
	// A reference lifecycle lists the writes. Its controllers run concurrently, so the
	// order of writes to different objects differs from one lifecycle to the next, and a
	// patch more or less changes their number: a crash point is therefore a step,
	// the n-th write of a verb and kind ("delete WorkspaceTemplateApply #1"), not a
	// position in the list.
	ref := newScenario(t, "crash-ref")
	w := newWriteLog()
	run := startCAPT(t, w, runOptions{})
	ref.createCluster()
	ref.waitProvisioned()
	created := len(w.all())
	ref.deleteAsClusterAPI()
	ref.checkNothingLeft()
	run.stop(t)
	writes := w.all()
	t.Logf("reference lifecycle: %d writes (%d during creation)", len(writes), created)
	for i, wr := range writes {
		t.Logf("  %3d %-48s %s", i+1, wr.step(), wr.key)
	}

	// Every write under CAPT_SOAK; otherwise every third one and each deletion step.
	var points []int
	for n := 1; n <= len(writes); n++ {
		if soak || n%3 == 1 || n > created && isDeletionStep(writes[n-1]) {
			points = append(points, n)
		}
	}
	var tally crashTally
	for _, n := range points {
		tally.crashAfter(t, writes[n-1], func(t *testing.T) *scenario { return newScenario(t, fmt.Sprintf("crash-%03d", n)) },
			func(s *scenario) {
				s.createCluster()
				s.waitProvisioned()
				s.deleteAsClusterAPI()
				s.checkNothingLeft()
			}, (*scenario).checkDeletionOrder)
	}
	report.add(row{
		fault: "manager crash right after a write (creation and deletion), restarted",
		tries: len(points),
		outcome: fmt.Sprintf("%d crashes, each right after its write (%d not reached: their lifecycle wrote a patch fewer); "+
			"%d converged: provisioned, deleted in CAPTEP-0041 order, nothing left, nothing deleted or created twice",
			tally.crashed, tally.notReached, len(points)-tally.failed),
		lost: tally.lost,
	})
}

// crashTally counts what the subtests of a crash-after-each-write test saw, for its
// report row.
type crashTally struct{ crashed, notReached, lost, failed int }

// crashAfter runs one lifecycle as a subtest named after step, under a supervisor that
// crashes the manager right after step and starts it again: lifecycle drives the new
// scenario to its end, then the lifecycle must have crashed exactly once, right after
// step, deleted nothing twice and created nothing again; check (if any) adds the test's
// own checks once the manager has stopped.
func (c *crashTally) crashAfter(t *testing.T, step write, newScenario func(*testing.T) *scenario, lifecycle, check func(*scenario)) {
	t.Helper()
	ok := t.Run("after "+step.step(), func(t *testing.T) {
		s := newScenario(t)
		w := newWriteLog()
		sup := supervise(t, w, runOptions{crash: func(_ int, wr write) bool { return wr.step() == step.step() }})
		lifecycle(s)
		crashes := sup.stop(t)
		c.crashed += len(crashes)
		if twice := w.deletedMoreThanOnce(); len(twice) > 0 {
			t.Errorf("deleted more than once: %s", strings.Join(twice, ", "))
		}
		c.lost += s.checkNotRecreated()
		if check != nil {
			check(s)
		}
		if !checkCrashedAfter(t, step, crashes, w) {
			c.notReached++
			t.Skipf("this lifecycle wrote only %d %s %s: no %s, so no crash to test",
				w.count(step.verb, step.kind), step.verb, step.kind, step.step())
		}
	})
	if !ok {
		c.failed++
	}
}

// checkCrashedAfter fails unless the manager crashed exactly once, right after step. Only
// the first run has a crash point: the supervisor restarts the manager without one, so
// one crash is all there can be, and it is the planned one. It returns false, without
// failing, when the lifecycle wrote fewer writes of step's verb and kind than step's
// number (a patch fewer than in the reference): then the step never came.
func checkCrashedAfter(t *testing.T, step write, crashes []write, w *writeLog) bool {
	t.Helper()
	switch {
	case len(crashes) == 1 && crashes[0].step() == step.step():
		return true
	case len(crashes) == 0 && w.count(step.verb, step.kind) < step.nth:
		return false
	default:
		var after []string
		for _, c := range crashes {
			after = append(after, c.step()+" "+c.key)
		}
		t.Errorf("%d crashes (after %v), want exactly one, after %s (this lifecycle wrote %d %s %s)",
			len(crashes), after, step.step(), w.count(step.verb, step.kind), step.verb, step.kind)
		return true
	}
}

// isDeletionStep names the writes of CAPTEP-0041's steps: the cleared endpoint (a
// control plane patch), a deleted apply, Workspace or secret, a removed finalizer.
func isDeletionStep(w write) bool {
	return w.verb == "delete" || w.kind == "CAPTControlPlane" || w.kind == "CAPTCluster" || w.kind == "Cluster"
}
