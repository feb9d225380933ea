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
			return fmt.Errorf("node group apply created before the control plane is initialized (get: %v)", err)
		}
		return nil
	})

	markControlPlaneInitialized(t, f.cluster)
	testenv.Eventually(t, "node group apply created", func() error {
		return env.Client.Get(context.Background(), key, &infrav1.WorkspaceTemplateApply{})
	})
}
