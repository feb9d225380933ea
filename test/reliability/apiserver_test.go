package reliability

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestAPIServerRestart restarts kube-apiserver (same etcd, same port and certificates)
// while CAPT creates a Cluster, and again while it deletes it: every connection and
// watch of the manager drops. CAPT must reconnect by itself and converge. Waits are
// longer than elsewhere: after several restarts client-go's reflectors (the simulated
// provider's too) back off for up to 30 s before they list again.
//
// The recorder's watches drop too: the round also checks that the recorder followed
// every kind through both restarts, so that its "nothing created again" is evidence.
func TestAPIServerRestart(t *testing.T) {
	tries := rounds(1, 3)
	restarts, errorLines := 0, int64(0)
	lost, failed, reopened, replayed, missed := 0, 0, 0, 0, 0
	for i := range tries {
		ok := t.Run(fmt.Sprint(i), func(t *testing.T) {
			ctx := context.Background()
			s := newScenario(t, fmt.Sprintf("apiserver-%d", i))
			// client-go's reflectors back off up to 30 s between relists after repeated
			// failures: the simulated provider's, which lives across rounds, included.
			s.timeout = 2 * time.Minute
			run := startCAPT(t, newWriteLog(), runOptions{})
			defer run.stop(t)
			s.createCluster()
			testenv.Eventually(t, "creation under way (the VPC apply exists)", func() error {
				return stack.Client.Get(ctx, client.ObjectKey{Namespace: s.name, Name: s.vpcApply()}, &infrav1.WorkspaceTemplateApply{})
			})
			duringCreation := s.restartAPIServer()
			restarts++
			s.waitProvisioned()

			cp := &controlplanev1.CAPTControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.name}}
			if err := stack.Client.Delete(ctx, cp); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			duringDeletion := s.restartAPIServer()
			restarts++
			s.deleteAsClusterAPI()
			s.checkNothingLeft()
			errorLines += run.logs.errors.Load()
			lost += s.checkNotRecreated()

			// Every object is deleted after the first restart: the test deletes the
			// control plane after it, and CAPT the rest because of that.
			s.checkChangedAfter(duringCreation, recordedKindNames()...)
			// After the second, the test deletes the CAPTCluster and the Cluster, and only
			// then does CAPT delete the VPC apply and its Workspace.
			s.checkChangedAfter(duringDeletion, "CAPTCluster", "Cluster", "WorkspaceTemplateApply", workspace.Kind)
			s.checkReopened(2)
			for _, kind := range recordedKindNames() {
				reopened += s.rec.reopened(kind)
			}
			replayed += s.rec.replayed()
			missed += len(s.rec.missed())
		})
		if !ok {
			failed++
		}
	}
	report.add(row{
		fault: "kube-apiserver restarted during creation and during deletion",
		tries: restarts,
		outcome: fmt.Sprintf("%d of %d rounds reconnected and converged: provisioned, deleted, nothing left; %d error lines logged by CAPT while the API server was down; "+
			"the recorder's watches reopened %d times, %d revisions read back from etcd's history, %d ranges of revisions missed",
			tries-failed, tries, errorLines, reopened, replayed, missed),
		lost: lost,
	})
}

// restartAPIServer restarts kube-apiserver, reconnects the simulated provider (a test
// double: CAPT's manager must reconnect by itself) and returns etcd's revision right
// after it.
func (s *scenario) restartAPIServer() int64 {
	s.t.Helper()
	restart(s.t)
	if err := provider.Reconnect(); err != nil {
		s.t.Fatalf("reconnecting the simulated provider: %v", err)
	}
	rev, err := currentRevision(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return rev
}

func restart(t testing.TB) {
	t.Helper()
	start := time.Now()
	if err := stack.RestartAPIServer(); err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver restarted in %s", time.Since(start).Round(time.Millisecond))
}

// checkReopened fails unless the recorder reopened the watch of every kind at least once
// per API server restart: each restart ends every watch.
func (s *scenario) checkReopened(restarts int) {
	s.t.Helper()
	s.eventually(fmt.Sprintf("every watch of the recorder reopened after %d restarts", restarts), func() error {
		for _, kind := range recordedKindNames() {
			if n := s.rec.reopened(kind); n < restarts {
				return fmt.Errorf("the watch of %ss was reopened %d times", kind, n)
			}
		}
		return nil
	})
}

// checkChangedAfter fails unless the recorder recorded a change to each of kinds after
// revision rev. Given the kinds that must change after an API server restart, it fails
// when the recorder stopped following them at the restart.
func (s *scenario) checkChangedAfter(rev int64, kinds ...string) {
	s.t.Helper()
	for _, kind := range kinds {
		if !s.rec.changedAfter(kind, rev) {
			s.t.Errorf("the recorder recorded no change to a %s after revision %d (right after an API server restart)", kind, rev)
		}
	}
}

func recordedKindNames() []string {
	out := make([]string, 0, len(recordedKinds))
	for _, gvk := range recordedKinds {
		out = append(out, gvk.Kind)
	}
	return out
}
