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
)

// TestAPIServerRestart restarts kube-apiserver (same etcd, same port and certificates)
// while CAPT creates a Cluster, and again while it deletes it: every connection and
// watch of the manager drops. CAPT must reconnect by itself and converge. Waits are
// longer than elsewhere: after several restarts client-go's reflectors (the simulated
// provider's too) back off for up to 30 s before they list again.
func TestAPIServerRestart(t *testing.T) {
	tries := rounds(1, 3)
	restarts, errorLines := 0, int64(0)
	lost, failed := 0, 0
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
			restart(t)
			restarts++
			s.waitProvisioned()

			cp := &controlplanev1.CAPTControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.name}}
			if err := stack.Client.Delete(ctx, cp); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			restart(t)
			restarts++
			s.deleteAsClusterAPI()
			s.checkNothingLeft()
			errorLines += run.logs.errors.Load()
			if again := s.rec.recreated(); len(again) > 0 {
				lost += len(again)
				t.Errorf("created again after deletion: %v", again)
			}
		})
		if !ok {
			failed++
		}
	}
	report.add(row{
		fault:   "kube-apiserver restarted during creation and during deletion",
		tries:   restarts,
		outcome: fmt.Sprintf("%d of %d rounds reconnected and converged: provisioned, deleted, nothing left; %d error lines logged by CAPT while the API server was down", tries-failed, tries, errorLines),
		lost:    lost,
	})
}

func restart(t *testing.T) {
	t.Helper()
	start := time.Now()
	if err := stack.RestartAPIServer(); err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver restarted in %s", time.Since(start).Round(time.Millisecond))
}
