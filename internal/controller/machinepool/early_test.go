package machinepool

import (
	"context"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestNodeGroupWaitsForTheControlPlane (docs/machinepool.md): a node group joins a running
// cluster, so no node group apply is created before the Cluster's control plane is
// initialized; WorkspaceReady says WaitingForControlPlane meanwhile, and the Cluster's
// initialization alone brings the apply.
func TestNodeGroupWaitsForTheControlPlane(t *testing.T) {
	startControllers(t)
	ns := newNamespace(t)
	f := newFixtureBeforeControlPlane(t, ns, "early", 1, infrav1.CAPTMachinePoolSpec{}, nil)
	waitMP(t, f.mp, "waiting for the control plane", condIs(infrav1.WorkspaceReadyCondition, metav1.ConditionFalse, infrav1.WaitingForControlPlaneReason))
	key := client.ObjectKey{Namespace: ns, Name: applyName(f.mp)}
	testenv.Consistently(t, "no node group apply before the control plane", time2s, func() error {
		if err := env.Client.Get(context.Background(), key, &infrav1.WorkspaceTemplateApply{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("node group apply created before the control plane is initialized (get: %w)", err)
		}
		return nil
	})

	markControlPlaneInitialized(t, f.cluster)
	testenv.Eventually(t, "node group apply created", func() error {
		return env.Client.Get(context.Background(), key, &infrav1.WorkspaceTemplateApply{})
	})
}

// TestNodeGroupWaitsForSubnets (docs/machinepool.md): with the control plane initialized
// but no private subnets from the Cluster's infrastructure and no spec.subnetIDs, no node
// group apply is created (WaitingForInfrastructure); setting spec.subnetIDs brings it.
func TestNodeGroupWaitsForSubnets(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	f := newFixtureBeforeControlPlane(t, ns, "nosubnets", 1, infrav1.CAPTMachinePoolSpec{}, nil)
	cc := &infrav1.CAPTCluster{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "nosubnets"}, cc); err != nil {
		t.Fatal(err)
	}
	// A provisioned VPC that reports no private subnets.
	cc.Status.VPC.PrivateSubnetIDs = nil
	if err := env.Client.Status().Update(ctx, cc); err != nil {
		t.Fatal(err)
	}
	markControlPlaneInitialized(t, f.cluster)
	waitMP(t, f.mp, "waiting for subnets", condIs(infrav1.WorkspaceReadyCondition, metav1.ConditionFalse, infrav1.WaitingForInfrastructureReason))
	key := client.ObjectKey{Namespace: ns, Name: applyName(f.mp)}
	testenv.Consistently(t, "no node group apply without subnets", time2s, func() error {
		if err := env.Client.Get(ctx, key, &infrav1.WorkspaceTemplateApply{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("node group apply created without subnets (get: %w)", err)
		}
		return nil
	})

	testenv.Eventually(t, "set spec.subnetIDs", func() error {
		mp := getMP(t, f.mp)
		mp.Spec.SubnetIDs = []string{"subnet-0000000c"}
		return env.Client.Update(ctx, mp)
	})
	testenv.Eventually(t, "node group apply created", func() error { return wantVars(t, f.mp, map[string]string{"subnet_ids": `["subnet-0000000c"]`}) })
}
