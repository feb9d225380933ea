// Package machinepool reconciles CAPTMachinePools: Cluster API's InfraMachinePool
// contract for EKS managed node groups. A pool renders one WorkspaceTemplateApply from its
// node group template, sized by its MachinePool (or left to an autoscaler), once the
// Cluster's control plane is initialized; it reports the node group's Nodes, read from
// the workload cluster through Cluster API's ClusterCache, as spec.providerIDList and
// status.replicas; and it is deleted only after its Workspace is destroyed.
package machinepool

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/controllers/clustercache"
	"sigs.k8s.io/cluster-api/util"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/lifecycle"
	"github.com/capt-dev/capt/internal/workspace"
)

// Reconciler reconciles CAPTMachinePools.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// APIReader confirms a deletion's last step is due.
	APIReader client.Reader
	// Recorder emits one event per failure transition.
	Recorder events.EventRecorder
	// ClusterCache reaches the workload clusters (Cluster API's, through
	// <cluster>-kubeconfig): their Nodes, cached and watched.
	ClusterCache clustercache.ClusterCache
	// API is the Workspace API group.
	API workspace.API
	// WatchFilterValue limits reconciles to objects with this watch-filter label value.
	WatchFilterValue string

	// controller is the controller, for the workload clusters' Node watches and the
	// control planes' (controlPlaneVersion); cache and clusterToPools serve the latter.
	controller     controller.Controller
	cache          cache.Cache
	clusterToPools handler.MapFunc
	controlPlanes  controlPlaneWatch
	// writes lets a pass read the controller's own last write of its pool.
	writes lifecycle.LastWrites
}

var ownedConditions = []string{
	infrav1.ReadyCondition, infrav1.WorkspaceReadyCondition, infrav1.NodesReadyCondition,
	infrav1.MachinePoolRollingOutCondition, infrav1.DeletingCondition, infrav1.DeletionStalledCondition, infrav1.PausedCondition,
}

// finalizer holds a CAPTMachinePool until its node group Workspace is destroyed.
var finalizer = lifecycle.Finalizer{Name: infrav1.CAPTMachinePoolFinalizer}

// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=captmachinepools,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=captmachinepools/status,verbs=patch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=captmachinepools/finalizers,verbs=update
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=workspacetemplateapplies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=captclusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=tf.upbound.io;tf.m.upbound.io;opentofu.upbound.io;opentofu.m.upbound.io,resources=workspaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=clusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=controlplane.cluster.x-k8s.io,resources=captcontrolplanes,verbs=get;list;watch
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=machinepools,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile runs the preamble (get, own last write, owner MachinePool and Cluster, pause,
// finalizer, one deferred status and write), then the normal or the delete path. The
// status is computed in the deferred function from the pass's scope.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	mp := &infrav1.CAPTMachinePool{}
	writer, err := r.writes.Start(ctx, r.Client, r.APIReader, req.NamespacedName, mp, r.WatchFilterValue)
	if writer == nil {
		return ctrl.Result{}, err
	}

	owner, err := util.GetOwnerMachinePool(ctx, r.Client, mp.ObjectMeta)
	if client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("getting owner MachinePool: %w", err)
	}
	if owner == nil && mp.DeletionTimestamp.IsZero() {
		// Cluster API's MachinePool controller sets the owner reference; its update event
		// brings the next pass.
		ctrl.LoggerFrom(ctx).V(4).Info("Waiting for Cluster API to set the owner MachinePool")
		return ctrl.Result{}, nil
	}
	cluster, err := r.getCluster(ctx, mp, owner)
	if err != nil {
		return ctrl.Result{}, err
	}
	if cluster == nil && mp.DeletionTimestamp.IsZero() {
		// A MachinePool names its Cluster; the Cluster's creation brings the next pass.
		ctrl.LoggerFrom(ctx).V(4).Info("Waiting for the Cluster")
		return ctrl.Result{}, nil
	}
	if cluster != nil {
		ctx = ctrl.LoggerInto(ctx, ctrl.LoggerFrom(ctx).WithValues("Cluster", klog.KObj(cluster)))
	}
	if stop, err := writer.Hold(ctx, cluster, mp, finalizer); stop {
		return ctrl.Result{}, err
	}
	before := mp.DeepCopy()
	s := &scope{mp: mp, owner: owner, cluster: cluster}
	defer func() {
		s.Err = retErr
		setStatus(s)
		r.emitTransitions(before, mp)
		retErr = writer.Finish(ctx, mp, ownedConditions, retErr)
	}()
	if !mp.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, s)
	}
	return r.reconcileNormal(ctx, s)
}

// getCluster reads the pool's Cluster: the owner MachinePool's spec.clusterName, or the
// cluster-name label when the MachinePool is gone (a pool being deleted). nil when
// there is none.
func (r *Reconciler) getCluster(ctx context.Context, mp *infrav1.CAPTMachinePool, owner *clusterv1.MachinePool) (*clusterv1.Cluster, error) {
	name := mp.Labels[clusterv1.ClusterNameLabel]
	if owner != nil {
		name = owner.Spec.ClusterName
	}
	if name == "" {
		return nil, nil
	}
	cluster := &clusterv1.Cluster{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: mp.Namespace, Name: name}, cluster); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("getting Cluster %s: %w", name, err)
	}
	return cluster, nil
}
