package machinepool

import (
	"context"
	"fmt"
	"testing"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestFailureIsOneWarning (docs/machinepool.md): WorkspaceReady turning to a failure
// records one Warning event with its reason, and passes that find the same failure
// record nothing more.
func TestFailureIsOneWarning(t *testing.T) {
	startControllers(t)
	ns := newNamespace(t)
	one, three := int32(1), int32(3)
	f := newFixture(t, ns, "warned", 2, infrav1.CAPTMachinePoolSpec{Scaling: &infrav1.MachinePoolScaling{MinSize: &one, MaxSize: &three}}, nil)
	testenv.Eventually(t, "the Workspace asks for 2", func() error { return wantVars(t, f.mp, map[string]string{"desired_size": "2"}) })
	patchReplicas(t, f.owner, 9)
	waitMP(t, f.mp, "ScalingInvalid", condIs(infrav1.WorkspaceReadyCondition, metav1.ConditionFalse, infrav1.ScalingInvalidReason))
	testenv.Eventually(t, "one Warning event", func() error { return poolWarnings(t, f.mp, infrav1.ScalingInvalidReason, 1) })
	// Another size, still outside the bounds: a pass that finds the same failure.
	patchReplicas(t, f.owner, 10)
	testenv.Consistently(t, "no second event for the same failure", time2s, func() error {
		return poolWarnings(t, f.mp, infrav1.ScalingInvalidReason, 1)
	})
}

// poolWarnings checks that the Warning events about the pool with reason number n.
func poolWarnings(t *testing.T, mp *infrav1.CAPTMachinePool, reason string, n int32) error {
	t.Helper()
	list := &eventsv1.EventList{}
	if err := env.Client.List(context.Background(), list, client.InNamespace(mp.Namespace)); err != nil {
		return err
	}
	var got int32
	for _, e := range list.Items {
		switch {
		case e.Regarding.Name != mp.Name || e.Reason != reason || e.Type != "Warning":
		case e.Series != nil:
			got += e.Series.Count
		default:
			got++
		}
	}
	if got != n {
		return fmt.Errorf("%d Warning events %s, want %d", got, reason, n)
	}
	return nil
}
