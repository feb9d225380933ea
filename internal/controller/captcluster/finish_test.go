package captcluster

import (
	"context"
	"fmt"
	"testing"

	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/requeue"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestDeletionFinishesOnce replays the pass that a cache which has not yet seen the
// CAPTCluster's finalizer removed runs: it must find the deletion finished, and write and
// announce nothing (no second Deleted event, no patch of an object that is gone).
func TestDeletionFinishesOnce(t *testing.T) {
	ctx := context.Background()
	_, stop, err := env.RunManager(controllers)
	if err != nil {
		t.Fatal(err)
	}
	ns := newNamespace(t)
	_, cc := newCluster(t, ns, "once", byTemplate())
	provide(t, cc, "True", "True", "", goodOutputs())
	waitCC(t, cc, "provisioned", vpcReady("True", infrav1.ReadyReason, infrav1.PhaseProvisioned))
	holdWorkspace(t, cc, []string{"test/destroying"})
	if err := env.Client.Delete(ctx, getCC(t, cc)); err != nil {
		t.Fatal(err)
	}
	// What the stale cache holds: the CAPTCluster being deleted, waiting for its VPC.
	stale := waitCC(t, cc, "waiting for the VPC", func(c *infrav1.CAPTCluster) error {
		if d := cond(c, infrav1.DeletingCondition); d.Reason != infrav1.WaitingForWorkspaceDeletionReason {
			return fmt.Errorf("Deleting %+v", d)
		}
		return nil
	})
	holdWorkspace(t, cc, nil)
	testenv.Eventually(t, "CAPTCluster gone", func() error { return gone(&infrav1.CAPTCluster{ObjectMeta: cc.ObjectMeta}) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	env.ReplayIsQuiet(t, stale, func(c client.Client, rec events.EventRecorder) reconcile.Reconciler {
		return &Reconciler{Client: c, APIReader: env.Client, Recorder: rec, API: api, Intervals: requeue.Defaults()}
	})
}

// holdWorkspace sets the VPC Workspace's finalizers, as provider-terraform's holds it
// while terraform destroy runs.
func holdWorkspace(t *testing.T, cc *infrav1.CAPTCluster, finalizers []string) {
	t.Helper()
	testenv.Eventually(t, "set VPC Workspace finalizers", func() error {
		u := api.NewObject()
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: workspaceName(cc)}, u); err != nil {
			return err
		}
		u.SetFinalizers(finalizers)
		return env.Client.Update(context.Background(), u)
	})
}
