package controlplane

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestWaitsForTheOwnerCluster (docs/controlplane.md): the owner Cluster is found through
// the owner reference Cluster API sets; until it is there the control plane does nothing
// (no finalizer, no apply), and the reference's arrival alone starts it.
func TestWaitsForTheOwnerCluster(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unowned"},
		Spec: clusterv1.ClusterSpec{ControlPlaneRef: clusterv1.ContractVersionedObjectReference{
			APIGroup: controlplanev1.GroupVersion.Group, Kind: "CAPTControlPlane", Name: "unowned-cp"}}}
	cp := &controlplanev1.CAPTControlPlane{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unowned-cp", Labels: map[string]string{clusterv1.ClusterNameLabel: "unowned"}},
		Spec:       controlplanev1.CAPTControlPlaneSpec{Version: "v1.31.2", WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "eks"}},
	}
	create(t, cluster, cp)
	testenv.Consistently(t, "nothing done before the owner reference", 2*time.Second, func() error {
		if got := getCP(t, cp); len(got.Finalizers) != 0 {
			return fmt.Errorf("finalizers %v without an owner Cluster", got.Finalizers)
		}
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: applyName(cp)}, &infrav1.WorkspaceTemplateApply{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("WorkspaceTemplateApply created without an owner Cluster (get: %w)", err)
		}
		return nil
	})

	testenv.Eventually(t, "set the owner reference", func() error {
		c := getCP(t, cp)
		c.OwnerReferences = []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster", Name: cluster.Name, UID: cluster.UID}}
		return env.Client.Update(ctx, c)
	})
	waitWorkspace(t, cp)
}
