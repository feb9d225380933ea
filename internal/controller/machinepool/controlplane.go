package machinepool

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
)

// controlPlaneWatch records whether the controller watches CAPTControlPlanes: added when a
// pool first reads one, so that an infrastructure provider installed without the control
// plane's CRD still reconciles its pools.
type controlPlaneWatch struct {
	mu    sync.Mutex
	added bool
}

// controlPlaneVersion reads status.version of the Cluster's CAPTControlPlane (Cluster
// API's contract field: the version it runs), from the cache, after making sure the
// controller watches CAPTControlPlanes: a control plane that reports a new version brings
// a pass of its Cluster's pools. It is "" when the Cluster names no CAPTControlPlane
// (another provider's control plane, which CAPT's role may not read), or that control
// plane is gone or reports no version: nothing then holds a pool's version back.
func (r *Reconciler) controlPlaneVersion(ctx context.Context, cluster *clusterv1.Cluster) (string, error) {
	ref := cluster.Spec.ControlPlaneRef
	if !ref.IsDefined() || ref.APIGroup != controlplanev1.GroupVersion.Group || ref.Kind != "CAPTControlPlane" {
		return "", nil
	}
	if err := r.watchControlPlanes(); err != nil {
		return "", err
	}
	cp := &controlplanev1.CAPTControlPlane{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: cluster.Namespace, Name: ref.Name}, cp); err != nil {
		if apierrors.IsNotFound(err) {
			return "", nil
		}
		return "", fmt.Errorf("reading CAPTControlPlane %s: %w", ref.Name, err)
	}
	return cp.Status.Version, nil
}

// watchControlPlanes watches CAPTControlPlanes once: their status.version changes, mapped
// to the pools of the Cluster named by their cluster-name label (Cluster API sets it).
func (r *Reconciler) watchControlPlanes() error {
	w := &r.controlPlanes
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.added || r.controller == nil {
		return nil
	}
	err := r.controller.Watch(source.Kind[client.Object](r.cache, &controlplanev1.CAPTControlPlane{},
		handler.EnqueueRequestsFromMapFunc(labelledToCluster(r.clusterToPools)), controlPlaneVersionChanged()))
	if err != nil {
		return fmt.Errorf("watching CAPTControlPlanes: %w", err)
	}
	w.added = true
	return nil
}

// controlPlaneVersionChanged passes a control plane's creation and the updates that
// change its status.version: what a pool held behind it waits for.
func controlPlaneVersionChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return true },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return statusVersion(e.ObjectOld) != statusVersion(e.ObjectNew)
		},
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

func statusVersion(o client.Object) string {
	cp, ok := o.(*controlplanev1.CAPTControlPlane)
	if !ok {
		return ""
	}
	return cp.Status.Version
}
