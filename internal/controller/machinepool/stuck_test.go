package machinepool

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/workspaceapply"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestStuckDeletionShowsOnThePool (docs/machinepool.md, docs/deletion-stuck.md): a node
// group whose destroy fails shows the provider's error on the CAPTMachinePool's Deleting
// condition, with the apply's reason and name; after the stall timeout without progress
// the pool's DeletionStalled turns True; and the abandon annotation set on the pool (the
// object on the Cluster's tree) reaches its apply, whose Workspace gets the orphan
// deletion policy, and the pool goes once its provider lets the Workspace go.
func TestStuckDeletionShowsOnThePool(t *testing.T) {
	env.StartManager(t, controllersStallingAfter(3*time.Second))
	ctx := context.Background()
	ns := newNamespace(t)
	f := newFixture(t, ns, "stuck", 1, infrav1.CAPTMachinePoolSpec{}, nil)
	provide(t, f.mp, map[string]any{"node_group_name": "ng-stuck", "desired_size": int64(1)})
	waitMP(t, f.mp, "node group ready", condIs(infrav1.WorkspaceReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason))

	holdNodeGroupWorkspace(t, f.mp, []string{testenv.ProviderFinalizer})
	if err := env.Client.Delete(ctx, getMP(t, f.mp)); err != nil {
		t.Fatal(err)
	}
	env.SetDestroyResult(t, api, client.ObjectKey{Name: workspaceName(f.mp)}, "delete failed: Error: deleting EKS Node Group: ResourceInUseException")
	waitMP(t, f.mp, "destroy failure shown on the pool", func(mp *infrav1.CAPTMachinePool) error {
		if err := condIs(infrav1.DeletingCondition, metav1.ConditionTrue, infrav1.WorkspaceDestroyFailedReason)(mp); err != nil {
			return err
		}
		return testenv.ContainsAll(cond(mp, infrav1.DeletingCondition).Message, "WorkspaceTemplateApply "+applyName(f.mp)+":", "ResourceInUseException", workspaceName(f.mp))
	})
	waitMP(t, f.mp, "stall shown on the pool", func(mp *infrav1.CAPTMachinePool) error {
		if err := condIs(infrav1.DeletionStalledCondition, metav1.ConditionTrue, infrav1.DeletionStalledReason)(mp); err != nil {
			return err
		}
		return testenv.ContainsAll(cond(mp, infrav1.DeletionStalledCondition).Message, "ResourceInUseException", infrav1.AbandonWorkspaceAnnotation)
	})

	w, err := getWorkspace(t, f.mp)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "annotate the pool", func() error {
		mp := getMP(t, f.mp)
		mp.Annotations = map[string]string{infrav1.AbandonWorkspaceAnnotation: string(w.UID)}
		return env.Client.Update(ctx, mp)
	})
	testenv.Eventually(t, "orphan policy on the node group Workspace", func() error {
		u := api.NewObject()
		if err := env.Client.Get(ctx, client.ObjectKey{Name: workspaceName(f.mp)}, u); err != nil {
			return err
		}
		if policy, _, _ := unstructured.NestedString(u.Object, "spec", "deletionPolicy"); policy != "Orphan" {
			return fmt.Errorf("deletionPolicy %q", policy)
		}
		return nil
	})
	// provider-terraform honours Orphan: it lets the Workspace go without a destroy.
	holdNodeGroupWorkspace(t, f.mp, nil)
	testenv.Eventually(t, "the pool is gone", func() error { return gone(f.mp) })
}

// controllersStallingAfter is controllers with the apply's deletion stall timeout set.
func controllersStallingAfter(stall time.Duration) testenv.SetupFunc {
	return func(ctx context.Context, mgr ctrl.Manager, c client.Client) error {
		if err := (&workspaceapply.Reconciler{Client: c, APIReader: mgr.GetAPIReader(), API: api, DeletionStallTimeout: stall}).
			SetupWithManager(ctx, mgr, controller.Options{}); err != nil {
			return err
		}
		cc, err := NewClusterCache(ctx, mgr, "", controller.Options{})
		if err != nil {
			return err
		}
		return (&Reconciler{Client: c, APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("captmachinepool-controller"),
			ClusterCache: cc, API: api}).SetupWithManager(ctx, mgr, controller.Options{})
	}
}

// holdNodeGroupWorkspace sets the node group Workspace's finalizers, as provider-terraform
// holds it while terraform destroy runs.
func holdNodeGroupWorkspace(t *testing.T, mp *infrav1.CAPTMachinePool, finalizers []string) {
	t.Helper()
	testenv.Eventually(t, "set the node group Workspace's finalizers", func() error {
		u := api.NewObject()
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: workspaceName(mp)}, u); err != nil {
			return err
		}
		u.SetFinalizers(finalizers)
		return env.Client.Update(context.Background(), u)
	})
}
