package controlplane

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
)

// racingClusterWriter is the control plane reconciler's client with another writer that
// updates the Cluster right before the reconciler's first Cluster patch, so that patch
// (optimistically locked on the version the reconciler read) conflicts.
type racingClusterWriter struct {
	client.Client
	raced, conflicts atomic.Int32
}

func (w *racingClusterWriter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	cluster, isCluster := obj.(*clusterv1.Cluster)
	if isCluster && w.raced.Add(1) == 1 {
		other := &clusterv1.Cluster{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cluster), other); err != nil {
			return err
		}
		if other.Annotations == nil {
			other.Annotations = map[string]string{}
		}
		other.Annotations["example.com/other-writer"] = "was here"
		if err := env.Client.Update(ctx, other); err != nil {
			return err
		}
	}
	err := w.Client.Patch(ctx, obj, patch, opts...)
	if isCluster && apierrors.IsConflict(err) {
		w.conflicts.Add(1)
	}
	return err
}

// TestClusterEndpointWriteRetriesConflicts: another writer changes the Cluster between
// the control plane's read and its endpoint patch. The patch conflicts, is retried on a
// fresh Cluster, and the endpoint lands without EndpointReady ever reporting
// EndpointUpdateFailed (a flap that would reach the Cluster's conditions and events).
func TestClusterEndpointWriteRetriesConflicts(t *testing.T) {
	racer := &racingClusterWriter{}
	_, stop := startControllersWith(t, faults{client: func(c client.Client) client.Client { racer.Client = c; return racer }})
	t.Cleanup(func() { _ = stop() })
	ns := newNamespace(t)
	log := env.WatchRevisions(t, ns, &controlplanev1.CAPTControlPlaneList{})
	cluster, cp := newCluster(t, ns, "raced")
	goodProvider(t).apply(t, cp)
	waitReady(t, cp, "Ready")
	if got := getCluster(t, cluster); got.Spec.ControlPlaneEndpoint.IsZero() || got.Annotations["example.com/other-writer"] == "" {
		t.Errorf("Cluster endpoint %+v, annotations %v: want both writers' changes", got.Spec.ControlPlaneEndpoint, got.Annotations)
	}
	if racer.conflicts.Load() == 0 {
		t.Fatal("set-up: the endpoint patch never conflicted")
	}
	log.Stop()
	if rev, flapped := log.First(func(c testenv.Change) bool {
		cond := conditions.Get(c.Object.(*controlplanev1.CAPTControlPlane), controlplanev1.EndpointReadyCondition)
		return cond != nil && cond.Reason == controlplanev1.EndpointUpdateFailedReason
	}); flapped {
		t.Errorf("EndpointReady said %s at revision %d on a write conflict", controlplanev1.EndpointUpdateFailedReason, rev)
	}
}

// failingSecretReads is the control plane reconciler's API reader with Secret reads
// timing out while failing is set, as during an API server restart.
type failingSecretReads struct {
	client.Reader
	failing *atomic.Bool
	failed  atomic.Int32
}

func (r *failingSecretReads) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, isSecret := obj.(*corev1.Secret); isSecret && r.failing.Load() {
		r.failed.Add(1)
		return apierrors.NewTimeoutError("the server was unable to return a response in the time allotted", 1)
	}
	return r.Reader.Get(ctx, key, obj, opts...)
}

// TestTransientReadFailureLeavesAvailable: a Ready control plane's passes fail to read
// its secrets. The conditions that depend on them say Unknown (InternalError); Available,
// Ready, the contract's fields, observedGeneration and the Cluster stay as they were; once
// reads work again the conditions are True again and the generation is recorded.
func TestTransientReadFailureLeavesAvailable(t *testing.T) {
	failing := &atomic.Bool{}
	reader := &failingSecretReads{failing: failing}
	_, stop := startControllersWith(t, faults{reader: func(r client.Reader) client.Reader { reader.Reader = r; return reader }})
	t.Cleanup(func() { _ = stop() })
	ns := newNamespace(t)
	cluster, cp := newCluster(t, ns, "flaky")
	goodProvider(t).apply(t, cp)
	before := waitReady(t, cp, "Ready")
	clusterBefore := getCluster(t, cluster)
	availableSince := cond(before, controlplanev1.AvailableCondition).LastTransitionTime

	failing.Store(true)
	// A spec change brings a pass, and a generation the failed passes must not record.
	testenv.Eventually(t, "change the control plane's tags", func() error {
		c := getCP(t, cp)
		c.Spec.AdditionalTags = map[string]string{"team": "platform"}
		return env.Client.Update(context.Background(), c)
	})
	during := waitCP(t, cp, "a pass that could not read its secrets", condIs(controlplanev1.EndpointReadyCondition, metav1.ConditionUnknown, infrav1.InternalErrorReason))
	if reader.failed.Load() == 0 {
		t.Fatal("set-up: no Secret read failed")
	}
	if err := contains(cond(during, controlplanev1.EndpointReadyCondition).Message, "Timeout"); err != nil {
		t.Error(err)
	}
	available := cond(during, controlplanev1.AvailableCondition)
	if available.Status != metav1.ConditionTrue || !available.LastTransitionTime.Equal(&availableSince) ||
		!conditions.IsTrue(during, infrav1.ReadyCondition) || !during.Status.Ready || !during.Status.SecretsReady || during.Status.Phase != controlplanev1.PhaseReady {
		t.Errorf("a failed read changed what the control plane says: Available %+v, Ready %+v, status.ready %v, secretsReady %v, phase %s",
			available, cond(during, infrav1.ReadyCondition), during.Status.Ready, during.Status.SecretsReady, during.Status.Phase)
	}
	if during.Generation == before.Generation || during.Status.ObservedGeneration != before.Status.ObservedGeneration {
		t.Errorf("observedGeneration %d for generation %d after failed passes, was %d: a failed pass observed nothing",
			during.Status.ObservedGeneration, during.Generation, before.Status.ObservedGeneration)
	}
	if got := getCluster(t, cluster); got.ResourceVersion != clusterBefore.ResourceVersion {
		t.Errorf("the Cluster was written during a failed read: %+v", got.Spec.ControlPlaneEndpoint)
	}

	failing.Store(false)
	waitCP(t, cp, "reads work again", func(c *controlplanev1.CAPTControlPlane) error {
		if c.Status.ObservedGeneration != c.Generation {
			return fmt.Errorf("observedGeneration %d, generation %d", c.Status.ObservedGeneration, c.Generation)
		}
		for _, typ := range []string{controlplanev1.EndpointReadyCondition, controlplanev1.SecretsReadyCondition, controlplanev1.AvailableCondition} {
			if !conditions.IsTrue(c, typ) {
				return fmt.Errorf("%s is %+v", typ, cond(c, typ))
			}
		}
		return nil
	})
}
