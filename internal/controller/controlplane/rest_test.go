package controlplane

import (
	"fmt"
	"testing"
	"time"

	"github.com/capt-dev/capt/internal/testenv"
)

// TestQuietAtRest leaves three Ready control planes alone for two minutes (Cluster
// API's own hot-loop check) and counts what CAPT writes meanwhile: nothing.
func TestQuietAtRest(t *testing.T) {
	writes := startControllers(t)
	ns := newNamespace(t)
	for i := range 3 {
		_, cp := newCluster(t, ns, fmt.Sprintf("rest%d", i))
		goodProvider(t).apply(t, cp)
		waitReady(t, cp, cp.Name+" Ready")
	}
	writes.Settle(2 * time.Second)
	reconciles := testenv.ReconcileTotal(controllerName) + testenv.ReconcileTotal("workspacetemplateapply")
	writes.Reset()
	time.Sleep(2 * time.Minute)
	if writes.Total() != 0 {
		t.Errorf("writes during 2 minutes at rest: %s", writes)
	}
	t.Logf("reconciles during 2 minutes at rest: %.0f", testenv.ReconcileTotal(controllerName)+testenv.ReconcileTotal("workspacetemplateapply")-reconciles)
}
