package machinepool

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestPoolFollowsItsNodes: the contract's fields come from the node group's Workspace
// and its Nodes in the workload cluster; a size or instance type change reaches the
// Workspace; Nodes joining, turning Ready and leaving change providerIDList and the
// replicas; a pool at rest writes nothing.
func TestPoolFollowsItsNodes(t *testing.T) {
	counter := startControllers(t)
	ns := newNamespace(t)
	f := newFixture(t, ns, "follow", 2, infrav1.CAPTMachinePoolSpec{InstanceTypes: []string{"t3.medium"}}, nil)
	ctx := context.Background()

	// The node group is asked for with the MachinePool's size and the pool's spec.
	testenv.Eventually(t, "the Workspace asks for 2 t3.medium Nodes", func() error {
		return wantVars(t, f.mp, map[string]string{"desired_size": "2", "min_size": "2", "max_size": "2",
			"instance_types": `["t3.medium"]`, "subnet_ids": `["subnet-a","subnet-b"]`, "cluster_name": "follow",
			"node_group_name": "follow-pool", "kubernetes_version": "1.33.1"})
	})
	waitMP(t, f.mp, "provisioning", condIs(infrav1.WorkspaceReadyCondition, metav1.ConditionFalse, infrav1.NodeGroupProvisioningReason))
	provide(t, f.mp, map[string]any{"node_group_name": "ng-follow", "desired_size": int64(2)})
	waitMP(t, f.mp, "node group ready, no Nodes yet", func(mp *infrav1.CAPTMachinePool) error {
		if err := condIs(infrav1.NodesReadyCondition, metav1.ConditionFalse, infrav1.WaitingForNodesReason)(mp); err != nil {
			return err
		}
		if !mp.Status.Ready || !ptr.Deref(mp.Status.Initialization.Provisioned, false) || mp.Status.NodeGroupName != "ng-follow" {
			return fmt.Errorf("ready %v, provisioned %v, node group %q", mp.Status.Ready, mp.Status.Initialization.Provisioned, mp.Status.NodeGroupName)
		}
		return nil
	})

	// Nodes join: one Ready, one not yet, one of another node group.
	a := addNode(t, "follow-a", "ng-follow", "aws:///us-west-2a/i-a", true)
	b := addNode(t, "follow-b", "ng-follow", "aws:///us-west-2b/i-b", false)
	addNode(t, "other-x", "ng-other", "aws:///us-west-2a/i-x", true)
	waitMP(t, f.mp, "two Nodes, one Ready", wantNodes([]string{"aws:///us-west-2a/i-a", "aws:///us-west-2b/i-b"}, 2, 1, metav1.ConditionFalse))
	setNodeReady(t, b, true)
	got := waitMP(t, f.mp, "two Ready Nodes", wantNodes([]string{"aws:///us-west-2a/i-a", "aws:///us-west-2b/i-b"}, 2, 2, metav1.ConditionTrue))
	if c := cond(got, infrav1.ReadyCondition); c.Status != metav1.ConditionTrue {
		t.Fatalf("Ready = %s/%s (%s), want True", c.Status, c.Reason, c.Message)
	}
	counter.AtRest(t, controllerName, "a pool whose Nodes are all Ready")
	// Kubelets (KWOK) keep heartbeating: that is no change of the pool's.
	before := testenv.ReconcileTotal(controllerName)
	for range 10 {
		heartbeat(t, a)
		heartbeat(t, b)
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if passes := testenv.ReconcileTotal(controllerName) - before; passes > 2 || counter.Total() != 0 {
		t.Errorf("20 Node heartbeats brought %.0f passes and %d writes (%s)", passes, counter.Total(), counter)
	}

	// The MachinePool grows: the Workspace is asked for 3, the pool waits for the Node.
	patchReplicas(t, f.owner, 3)
	testenv.Eventually(t, "the Workspace asks for 3", func() error {
		return wantVars(t, f.mp, map[string]string{"desired_size": "3", "min_size": "3", "max_size": "3"})
	})
	provide(t, f.mp, map[string]any{"node_group_name": "ng-follow", "desired_size": int64(3)})
	addNode(t, "follow-c", "ng-follow", "aws:///us-west-2c/i-c", true)
	waitMP(t, f.mp, "three Ready Nodes", wantNodes([]string{"aws:///us-west-2a/i-a", "aws:///us-west-2b/i-b", "aws:///us-west-2c/i-c"}, 3, 3, metav1.ConditionTrue))

	// A Node leaves: the list and the count follow, and the pool says it waits.
	if err := env.Client.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	waitMP(t, f.mp, "a Node left", wantNodes([]string{"aws:///us-west-2b/i-b", "aws:///us-west-2c/i-c"}, 2, 2, metav1.ConditionFalse))

	// The instance type changes: the Workspace is asked for it.
	base := getMP(t, f.mp)
	changed := base.DeepCopy()
	changed.Spec.InstanceTypes = []string{"m7g.large"}
	if err := env.Client.Patch(ctx, changed, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the Workspace asks for m7g.large", func() error {
		return wantVars(t, f.mp, map[string]string{"instance_types": `["m7g.large"]`})
	})
}

// TestAutoscalerOwnsTheSize: with cluster.x-k8s.io/replicas-managed-by on the
// MachinePool, CAPT passes no desired size, only the bounds, and copies the size the node
// group reports into the MachinePool.
func TestAutoscalerOwnsTheSize(t *testing.T) {
	startControllers(t)
	ns := newNamespace(t)
	f := newFixture(t, ns, "auto", 2, infrav1.CAPTMachinePoolSpec{
		Scaling: &infrav1.MachinePoolScaling{MinSize: ptr.To[int32](1), MaxSize: ptr.To[int32](6)},
	}, map[string]string{clusterv1.ReplicasManagedByAnnotation: "cluster-autoscaler"})
	testenv.Eventually(t, "the Workspace leaves the size to the autoscaler", func() error {
		return wantVars(t, f.mp, map[string]string{"desired_size": "", "min_size": "1", "max_size": "6"})
	})
	provide(t, f.mp, map[string]any{"node_group_name": "ng-auto", "desired_size": int64(4)})
	testenv.Eventually(t, "the MachinePool gets the node group's size", func() error {
		mp := &clusterv1.MachinePool{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(f.owner), mp); err != nil {
			return err
		}
		if got := ptr.Deref(mp.Spec.Replicas, -1); got != 4 {
			return fmt.Errorf("MachinePool replicas %d, want 4", got)
		}
		return nil
	})
	// The copied size changes nothing the Workspace is asked for.
	if err := wantVars(t, f.mp, map[string]string{"desired_size": "", "min_size": "1", "max_size": "6"}); err != nil {
		t.Fatal(err)
	}
}

func wantVars(t *testing.T, mp *infrav1.CAPTMachinePool, want map[string]string) error {
	t.Helper()
	for k, v := range want {
		got, err := workspaceVar(t, mp, k)
		if err != nil {
			return err
		}
		if got != v {
			return fmt.Errorf("variable %s = %q, want %q", k, got, v)
		}
	}
	return nil
}

func wantNodes(ids []string, replicas, ready int32, nodesReady metav1.ConditionStatus) func(*infrav1.CAPTMachinePool) error {
	return func(mp *infrav1.CAPTMachinePool) error {
		if !slices.Equal(mp.Spec.ProviderIDList, ids) || mp.Status.Replicas != replicas || mp.Status.ReadyReplicas != ready {
			return fmt.Errorf("providerIDList %v, replicas %d, ready %d", mp.Spec.ProviderIDList, mp.Status.Replicas, mp.Status.ReadyReplicas)
		}
		if c := cond(mp, infrav1.NodesReadyCondition); c.Status != nodesReady {
			return fmt.Errorf("NodesReady %s/%s (%s)", c.Status, c.Reason, c.Message)
		}
		return nil
	}
}

func patchReplicas(t *testing.T, owner *clusterv1.MachinePool, replicas int32) {
	t.Helper()
	fresh := &clusterv1.MachinePool{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(owner), fresh); err != nil {
		t.Fatal(err)
	}
	base := fresh.DeepCopy()
	fresh.Spec.Replicas = ptr.To(replicas)
	if err := env.Client.Patch(context.Background(), fresh, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
}
