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
// deleted, finalizers removed). Each lifecycle must converge: provisioned, deleted in
// order, nothing left, nothing deleted twice, nothing created twice.
func TestCrashAfterEachWrite(t *testing.T) {
	// A reference lifecycle numbers the writes.
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
		t.Logf("  %3d %s", i+1, wr)
	}

	// Every write under CAPT_SOAK; otherwise every third one and each deletion step.
	var points []int
	for n := 1; n <= len(writes); n++ {
		if soak || n%3 == 1 || n > created && isDeletionStep(writes[n-1]) {
			points = append(points, n)
		}
	}
	crashed, lost, failed := 0, 0, 0
	for _, n := range points {
		ok := t.Run(fmt.Sprintf("after write %d %s", n, writes[n-1].verb+" "+writes[n-1].kind), func(t *testing.T) {
			s := newScenario(t, fmt.Sprintf("crash-%03d", n))
			w := newWriteLog()
			sup := supervise(t, w, runOptions{crash: func(i int, _ write) bool { return i == n }})
			s.createCluster()
			s.waitProvisioned()
			s.deleteAsClusterAPI()
			s.checkNothingLeft()
			crashes := sup.stop(t)
			crashed += crashes
			if twice := w.deletedMoreThanOnce(); len(twice) > 0 {
				t.Errorf("deleted more than once: %s", strings.Join(twice, ", "))
			}
			if again := s.rec.recreated(); len(again) > 0 {
				lost += len(again)
				t.Errorf("created again after deletion: %s", strings.Join(again, ", "))
			}
			s.checkDeletionOrder()
		})
		if !ok {
			failed++
		}
	}
	report.add(row{
		fault: "manager crash right after a write (creation and deletion), restarted",
		tries: len(points),
		outcome: fmt.Sprintf("%d crashes; %d converged: provisioned, deleted in CAPTEP-0041 order, nothing left, nothing deleted or created twice",
			crashed, len(points)-failed),
		lost: lost,
	})
}

// isDeletionStep names the writes of CAPTEP-0041's steps: the cleared endpoint (a
// control plane patch), a deleted apply, Workspace or secret, a removed finalizer.
func isDeletionStep(w write) bool {
	return w.verb == "delete" || w.kind == "CAPTControlPlane" || w.kind == "CAPTCluster" || w.kind == "Cluster"
}
