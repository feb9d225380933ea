package controlplane

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestQuietAtRest checks that three Ready control planes are left alone at rest: no
// write, and no reconcile (a loop that writes nothing is still a loop).
//
// Nothing changes at rest, so only three things could ever bring a pass: a resync, a
// timer a pass left behind (RequeueAfter, Requeue, an error's backoff), and a pass's own
// write coming back as a watch event. Rather than wait for them to come by themselves
// (Cluster API's hot-loop check waits two minutes), the test forces the first and counts
// the rest: it restarts the controllers, so that a fresh manager lists every object and
// reconciles each, as a resync does (a resync's events even pass fewer predicates), and
// then requires that those passes wrote nothing and ended without any timer, and that no
// pass follows them. A timer of any length fails here, a 30-s requeue as well as a
// 20-minute one; waiting two minutes caught only the short ones.
func TestQuietAtRest(t *testing.T) {
	_, stop := startControllersStoppable(t)
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
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// The restart. The new manager sees only this test's namespace and its Workspaces
	// (cluster-scoped, labelled with their apply's namespace): the objects earlier tests
	// of the package left on the API server (deleting, failed, waiting) are not at rest,
	// and their passes would be counted with these.
	controllers := []string{controllerName, "workspacetemplateapply"}
	before := resultCounts(controllers)
	writes := startControllers(t, func(o *ctrl.Options) {
		o.Cache.DefaultNamespaces = map[string]cache.Config{ns: {}}
		o.Cache.ByObject = map[client.Object]cache.ByObject{
			api.NewObject(): {Label: labels.SelectorFromSet(labels.Set{infrav1.WorkspaceTemplateApplyNamespaceLabel: ns})},
		}
	})
	testenv.Eventually(t, "every control plane and apply reconciled after the restart", func() error {
		for _, c := range controllers {
			if n := testenv.ReconcileTotal(c) - before[c][""]; n < 3 {
				return fmt.Errorf("%s: %.0f passes after the restart, want one per object (3)", c, n)
			}
		}
		return nil
	})
	writes.Settle(2 * time.Second)
	if writes.Total() != 0 {
		t.Errorf("the passes of the restart wrote to objects at rest: %s", writes)
	}
	after := resultCounts(controllers)
	for _, c := range controllers {
		for _, result := range []string{testenv.ResultRequeueAfter, testenv.ResultRequeue, testenv.ResultError} {
			if n := after[c][result] - before[c][result]; n != 0 {
				t.Errorf("%s: %.0f passes of the restart ended with %s: a pass at rest left a timer that will bring another", c, n, result)
			}
		}
	}
	// And no pass follows them: nothing is left running or queued.
	time.Sleep(2 * time.Second)
	if later := resultCounts(controllers); fmt.Sprint(later) != fmt.Sprint(after) {
		t.Errorf("passes after the restart's had settled: %v, then %v", after, later)
	}
}

// resultCounts are the reconcile counts of controllers, by result ("" for all).
func resultCounts(controllers []string) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for _, c := range controllers {
		out[c] = map[string]float64{"": testenv.ReconcileTotal(c)}
		for _, result := range []string{testenv.ResultRequeueAfter, testenv.ResultRequeue, testenv.ResultError, testenv.ResultSuccess} {
			out[c][result] = testenv.ReconcileResult(c, result)
		}
	}
	return out
}
