package machinepool

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestDeletionWaitsForTheWorkspace: a deleted pool deletes its node group apply and keeps
// its finalizer, saying why, until the Workspace is destroyed.
func TestDeletionWaitsForTheWorkspace(t *testing.T) {
	startControllers(t)
	ctx := context.Background()
	ns := newNamespace(t)
	f := newFixture(t, ns, "del", 1, infrav1.CAPTMachinePoolSpec{}, nil)
	provide(t, f.mp, map[string]any{"node_group_name": "ng-del", "desired_size": int64(1)})
	waitMP(t, f.mp, "node group ready", condIs(infrav1.WorkspaceReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason))

	// provider-terraform's finalizer: the destroy runs until the test lets it go.
	u := api.NewObject()
	if err := env.Client.Get(ctx, client.ObjectKey{Name: workspaceName(f.mp)}, u); err != nil {
		t.Fatal(err)
	}
	controllerutil.AddFinalizer(u, testenv.ProviderFinalizer)
	if err := env.Client.Update(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(ctx, getMP(t, f.mp)); err != nil {
		t.Fatal(err)
	}
	waitMP(t, f.mp, "waiting for the Workspace", func(mp *infrav1.CAPTMachinePool) error {
		if err := condIs(infrav1.DeletingCondition, metav1.ConditionTrue, infrav1.WaitingForWorkspaceDeletionReason)(mp); err != nil {
			return err
		}
		if mp.Status.Phase != infrav1.PhaseDeleting {
			return fmt.Errorf("phase %s", mp.Status.Phase)
		}
		return nil
	})
	testenv.Eventually(t, "the Workspace is being destroyed", func() error {
		if err := env.Client.Get(ctx, client.ObjectKey{Name: workspaceName(f.mp)}, u); err != nil {
			return err
		}
		if u.GetDeletionTimestamp() == nil {
			return fmt.Errorf("the Workspace is not being deleted")
		}
		return nil
	})
	testenv.Consistently(t, "the pool keeps its finalizer while the Workspace exists", time2s, func() error {
		mp := getMP(t, f.mp)
		if !controllerutil.ContainsFinalizer(mp, infrav1.CAPTMachinePoolFinalizer) {
			return fmt.Errorf("finalizer removed while the Workspace exists")
		}
		return nil
	})
	controllerutil.RemoveFinalizer(u, testenv.ProviderFinalizer)
	if err := env.Client.Update(ctx, u); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the pool is gone", func() error { return gone(f.mp) })
}

// TestPausedPoolChangesNothing: while the Cluster is paused, a new size does not reach the
// Workspace, and the pool says it is paused; unpaused, it does.
func TestPausedPoolChangesNothing(t *testing.T) {
	startControllers(t)
	ctx := context.Background()
	ns := newNamespace(t)
	f := newFixture(t, ns, "paused", 1, infrav1.CAPTMachinePoolSpec{}, nil)
	testenv.Eventually(t, "the Workspace asks for 1", func() error { return wantVars(t, f.mp, map[string]string{"desired_size": "1"}) })

	cluster := f.cluster.DeepCopy()
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cluster), cluster); err != nil {
		t.Fatal(err)
	}
	base := cluster.DeepCopy()
	cluster.Spec.Paused = ptr.To(true)
	if err := env.Client.Patch(ctx, cluster, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	waitMP(t, f.mp, "paused", condIs(infrav1.PausedCondition, metav1.ConditionTrue, "Paused"))
	patchReplicas(t, f.owner, 2)
	testenv.Consistently(t, "the apply keeps 1 while paused", time2s, func() error {
		if v, err := applyVar(t, f.mp, "desired_size"); err != nil || v != "1" {
			return fmt.Errorf("desired_size %q: %w", v, err)
		}
		return nil
	})
	base = cluster.DeepCopy()
	cluster.Spec.Paused = nil
	if err := env.Client.Patch(ctx, cluster, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the Workspace asks for 2 once unpaused", func() error { return wantVars(t, f.mp, map[string]string{"desired_size": "2"}) })
}

// TestHostileInputIsAConditionNotACrash: a size outside spec.scaling and a malformed
// node_group_name output are failures on WorkspaceReady, with nothing applied for the
// bad size and no Nodes read under a bad name.
func TestHostileInputIsAConditionNotACrash(t *testing.T) {
	startControllers(t)
	ns := newNamespace(t)
	one, five := int32(1), int32(5)
	f := newFixture(t, ns, "hostile", 2, infrav1.CAPTMachinePoolSpec{Scaling: &infrav1.MachinePoolScaling{MinSize: &one, MaxSize: &five}}, nil)
	testenv.Eventually(t, "the Workspace asks for 2", func() error { return wantVars(t, f.mp, map[string]string{"desired_size": "2"}) })
	patchReplicas(t, f.owner, 9)
	waitMP(t, f.mp, "ScalingInvalid", condIs(infrav1.WorkspaceReadyCondition, metav1.ConditionFalse, infrav1.ScalingInvalidReason))
	if err := wantVars(t, f.mp, map[string]string{"desired_size": "2"}); err != nil {
		t.Fatalf("a size outside spec.scaling reached the Workspace: %v", err)
	}
	patchReplicas(t, f.owner, 3)
	testenv.Eventually(t, "the Workspace asks for 3", func() error { return wantVars(t, f.mp, map[string]string{"desired_size": "3"}) })

	provide(t, f.mp, map[string]any{"node_group_name": "not a name; rm -rf /", "desired_size": int64(3)})
	got := waitMP(t, f.mp, "NodeGroupOutputsInvalid", condIs(infrav1.WorkspaceReadyCondition, metav1.ConditionFalse, infrav1.NodeGroupOutputsInvalidReason))
	if got.Status.NodeGroupName != "" || got.Status.Phase != infrav1.PhaseFailed {
		t.Fatalf("node group %q, phase %s", got.Status.NodeGroupName, got.Status.Phase)
	}
	provide(t, f.mp, map[string]any{"node_group_name": []any{"a"}, "desired_size": int64(3)})
	waitMP(t, f.mp, "a list is not a name", func(mp *infrav1.CAPTMachinePool) error {
		c := cond(mp, infrav1.WorkspaceReadyCondition)
		if c.Reason != infrav1.NodeGroupOutputsInvalidReason || c.Message != "output node_group_name is a JSON array, want a string" {
			return fmt.Errorf("WorkspaceReady %s/%s (%s)", c.Status, c.Reason, c.Message)
		}
		return nil
	})
}
