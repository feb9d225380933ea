package controlplane

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/capt-dev/capt/internal/testenv"
)

// TestQuietAtRest leaves three Ready control planes alone (two minutes: Cluster API's own
// hot-loop check, and long enough for the 30 s requeue interval to show) and counts what
// CAPT does meanwhile: no write, and no reconcile. Nothing changes, so no watch event
// arrives and nothing may requeue: a loop that writes nothing fails here too.
func TestQuietAtRest(t *testing.T) {
	writes := startControllers(t)
	ns := newNamespace(t)
	for i := range 3 {
		_, cp := newCluster(t, ns, fmt.Sprintf("rest%d", i))
		// A module kubeconfig: an EKS token's refresh is the one write at rest, and
		// TestTokenRefresh counts it.
		p := goodProvider(t)
		p.extra = map[string]string{"kubeconfig": moduleKubeconfig(t, cp.Name)}
		p.apply(t, cp)
		waitReady(t, cp, cp.Name+" Ready")
	}
	writes.Settle(2 * time.Second)
	total := func() float64 {
		return testenv.ReconcileTotal(controllerName) + testenv.ReconcileTotal("workspacetemplateapply")
	}
	reconciles := total()
	writes.Reset()
	time.Sleep(restWindow())
	if writes.Total() != 0 {
		t.Errorf("writes during %s at rest: %s", restWindow(), writes)
	}
	if n := total() - reconciles; n != 0 {
		t.Errorf("%.0f reconciles during %s at rest, want 0", n, restWindow())
	}
}

// restWindow is two minutes, or 35 s under make mutate: still longer than the 30 s
// requeue interval, the slowest loop a mutation could introduce.
func restWindow() time.Duration {
	if os.Getenv("CAPT_MUTATE") != "" {
		return 35 * time.Second
	}
	return 2 * time.Minute
}
