package controlplane

import (
	"context"
	"testing"

	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/requeue"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestDeletionFinishesOnce replays the pass that a cache which has not yet seen the
// control plane's finalizer removed runs, woken by the control plane's own secret
// deletions: it must find the deletion finished, and read, write and announce nothing
// (issue #18: three 404 reads, a 404 patch and a second Deleted event before).
func TestDeletionFinishesOnce(t *testing.T) {
	ctx := context.Background()
	_, stop := startControllersStoppable(t)
	ns := newNamespace(t)
	_, cp := readyCluster(t, ns, "once")
	if err := env.Client.Delete(ctx, getCP(t, cp)); err != nil {
		t.Fatal(err)
	}
	// What the stale cache holds: the control plane being deleted, finalizer on, waiting
	// for its Workspace.
	stale := waitCP(t, cp, "waiting for the Workspace", condIs(infrav1.DeletingCondition, "True", controlplanev1.DeletingWorkspaceTemplateApplyReason))
	if !finalizer.Held(stale) {
		t.Fatalf("finalizers %v", stale.Finalizers)
	}
	setWorkspaceFinalizers(t, cp, nil)
	testenv.Eventually(t, "control plane gone", func() error { return gone(&controlplanev1.CAPTControlPlane{ObjectMeta: cp.ObjectMeta}) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// The replayed pass: the control plane and its (empty) list of applies from the stale
	// cache, everything else from the API server.
	env.ReplayIsQuiet(t, stale, func(c client.Client, rec events.EventRecorder) reconcile.Reconciler {
		return &Reconciler{Client: c, APIReader: env.Client, Recorder: rec, API: api, Intervals: requeue.Defaults()}
	}, &infrav1.WorkspaceTemplateApplyList{})
}
