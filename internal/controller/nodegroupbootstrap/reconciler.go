// Package nodegroupbootstrap reconciles CAPTNodeGroupBootstraps: Cluster API's bootstrap
// contract for MachinePools whose nodes are EKS managed node groups (CAPTMachinePools).
// EKS joins a managed node group's instances itself, so there is no bootstrap data to
// write: a config owned by such a MachinePool reports its data secret created with an
// empty name, as the contract's fields allow; owned by anything else it refuses, in its
// Ready condition, and reports nothing created.
package nodegroupbootstrap

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/capt-dev/capt/api/bootstrap/v1beta1"
	"github.com/capt-dev/capt/internal/controller/lifecycle"
)

// Reconciler reconciles CAPTNodeGroupBootstraps.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads what the cache may not have yet.
	APIReader client.Reader
	// WatchFilterValue limits reconciles to objects with this watch-filter label value.
	WatchFilterValue string

	// writes lets a pass read the controller's own last write of its object.
	writes lifecycle.LastWrites
}

var ownedConditions = []string{bootstrapv1.ReadyCondition, bootstrapv1.PausedCondition}

// +kubebuilder:rbac:groups=bootstrap.cluster.x-k8s.io,resources=captnodegroupbootstraps,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=bootstrap.cluster.x-k8s.io,resources=captnodegroupbootstraps/status,verbs=patch
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=machinepools,verbs=get;list;watch
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=clusters,verbs=get;list;watch

// Reconcile reads the config's owner and writes what the contract asks, in one status
// write; a paused config writes only its Paused condition. Nothing else is created: no
// Secret, no finalizer (nothing to clean up).
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	b := &bootstrapv1.CAPTNodeGroupBootstrap{}
	writer, err := r.writes.Start(ctx, r.Client, r.APIReader, req.NamespacedName, b, r.WatchFilterValue)
	if writer == nil {
		return ctrl.Result{}, err
	}
	cluster, err := r.getCluster(ctx, b)
	if err != nil {
		return ctrl.Result{}, err
	}
	if lifecycle.SetPaused("CAPTNodeGroupBootstrap", cluster, b) {
		return ctrl.Result{}, writer.Patch(ctx, b, []string{bootstrapv1.PausedCondition}, false)
	}
	o, err := r.owner(ctx, b)
	if err == nil {
		setStatus(b, o)
	}
	return ctrl.Result{}, writer.Finish(ctx, b, ownedConditions, err)
}

// owner reads what the config's controller reference names: for a MachinePool, the kind
// of its infrastructure.
func (r *Reconciler) owner(ctx context.Context, b *bootstrapv1.CAPTNodeGroupBootstrap) (owner, error) {
	ref := ownerRef(b)
	if ref == nil || !isMachinePool(ref) {
		return owner{ref: ref}, nil
	}
	mp := &clusterv1.MachinePool{}
	key := client.ObjectKey{Namespace: b.Namespace, Name: ref.Name}
	if err := r.Client.Get(ctx, key, mp); err != nil {
		if !apierrors.IsNotFound(err) {
			return owner{}, fmt.Errorf("reading MachinePool %s: %w", ref.Name, err)
		}
		// The owner reference was set by the MachinePool's controller, so the MachinePool
		// exists: the cache has not seen it yet. Read it once from the API server.
		if err := r.APIReader.Get(ctx, key, mp); err != nil {
			return owner{}, fmt.Errorf("reading MachinePool %s: %w", ref.Name, err)
		}
	}
	ctrl.LoggerFrom(ctx).V(4).Info("Owner MachinePool", "MachinePool", klog.KObj(mp))
	return owner{ref: ref, infrastructure: mp.Spec.Template.Spec.InfrastructureRef}, nil
}

// getCluster reads the config's Cluster from its cluster-name label (Cluster API sets it
// with the owner reference); nil when there is none yet, or it is gone.
func (r *Reconciler) getCluster(ctx context.Context, b *bootstrapv1.CAPTNodeGroupBootstrap) (*clusterv1.Cluster, error) {
	cluster, err := util.GetClusterFromMetadata(ctx, r.Client, b.ObjectMeta)
	switch {
	case err == nil:
		return cluster, nil
	case errors.Is(err, util.ErrNoCluster) || apierrors.IsNotFound(err):
		return nil, nil
	default:
		return nil, fmt.Errorf("getting Cluster of CAPTNodeGroupBootstrap: %w", err)
	}
}
