package controlplane

import (
	"errors"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestPausedControlPlaneRefreshesNothing (docs/controlplane.md "Refresh", docs/install.md
// "Nothing acts mid-move"): while its Cluster is paused, a Ready EKS control plane whose
// token is due every 2 s writes nothing at all in three intervals, the kubeconfig's token
// included; unpaused, the refresh goes on.
func TestPausedControlPlaneRefreshesNothing(t *testing.T) {
	const interval = 2 * time.Second
	counter, stop := startControllersWith(t, faults{tokenRefresh: interval})
	t.Cleanup(func() { _ = stop() })
	ns := newNamespace(t)
	cluster, cp := newCluster(t, ns, "frozen")
	goodProvider(t).apply(t, cp)
	waitReady(t, cp, "Ready")

	testenv.Eventually(t, "pause the Cluster", func() error {
		c := getCluster(t, cluster)
		c.Spec.Paused = ptr.To(true)
		return env.Client.Update(t.Context(), c)
	})
	waitCP(t, cp, "paused", condIs(infrav1.PausedCondition, metav1.ConditionTrue, clusterv1.PausedReason))
	counter.Settle(500 * time.Millisecond)
	counter.Reset()
	before, _ := publishedToken(t, ns, cluster.Name)
	testenv.Consistently(t, "nothing written while paused", 3*interval, func() error {
		if writes := counter.In(ns); len(writes) != 0 {
			return fmt.Errorf("writes while the Cluster is paused: %v", writes)
		}
		return nil
	})
	if token, _ := publishedToken(t, ns, cluster.Name); token != before {
		t.Error("the token was refreshed while the Cluster is paused")
	}

	testenv.Eventually(t, "unpause the Cluster", func() error {
		c := getCluster(t, cluster)
		c.Spec.Paused = ptr.To(false)
		return env.Client.Update(t.Context(), c)
	})
	testenv.Eventually(t, "token refreshed after the unpause", func() error {
		if token, _ := publishedToken(t, ns, cluster.Name); token == before {
			return errors.New("same token")
		}
		return nil
	})
}
