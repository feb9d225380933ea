package machinepool

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util"
	"sigs.k8s.io/cluster-api/util/predicates"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/childapply"
	"github.com/capt-dev/capt/internal/controller/clusterinfra"
	"github.com/capt-dev/capt/internal/controller/lifecycle"
)

const controllerName = "captmachinepool"

// SetupWithManager watches the CAPTMachinePool, its node group WorkspaceTemplateApply
// (owned), the apply's Workspace (through its owner annotation), the owner MachinePool
// (replicas, annotations), the Cluster (pause, control plane initialized), the CAPTCluster
// (subnets, region, tags), ClusterCache's connections to workload clusters, and, once
// connected, each workload cluster's Nodes (readNodes); CAPTControlPlanes are watched
// once a pool reads one (controlPlaneVersion).
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, options controller.Options) error {
	log := mgr.GetLogger().WithName(controllerName)
	// Cluster API's mapper enqueues every pool labelled with the Cluster's name, whatever
	// its watch-filter label: Reconcile drops a pool of another CAPT instance, as For's
	// predicate drops that pool's own events.
	clusterToPools, err := util.ClusterToTypedObjectsMapper(r.Client, &infrav1.CAPTMachinePoolList{}, mgr.GetScheme())
	if err != nil {
		return fmt.Errorf("mapping Clusters to CAPTMachinePools: %w", err)
	}
	c, err := ctrl.NewControllerManagedBy(mgr).
		Named(controllerName).
		// A pool another controller manages (cluster.x-k8s.io/managed-by) is not CAPT's.
		For(&infrav1.CAPTMachinePool{}, builder.WithPredicates(predicates.All(mgr.GetScheme(), log,
			predicates.ResourceHasFilterLabel(mgr.GetScheme(), log, r.WatchFilterValue),
			predicates.ResourceIsNotExternallyManaged(mgr.GetScheme(), log)), lifecycle.ChangedBeyondStatus())).
		WithOptions(options).
		Owns(&infrav1.WorkspaceTemplateApply{}).
		Watches(r.API.NewObject(), handler.EnqueueRequestsFromMapFunc(childapply.ToControllerOfApply(r.Client, "CAPTMachinePool", func() client.ObjectList { return &infrav1.CAPTMachinePoolList{} }))).
		// The MachinePool's spec (replicas, version) and annotations (the autoscaler's
		// replicas-managed-by), not the status Cluster API keeps writing.
		Watches(&clusterv1.MachinePool{}, handler.EnqueueRequestsFromMapFunc(
			util.MachinePoolToInfrastructureMapFunc(ctx, infrav1.GroupVersion.WithKind("CAPTMachinePool"))),
			builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(clusterToPools),
			builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, controlPlaneInitializedChanged()))).
		Watches(&infrav1.CAPTCluster{}, handler.EnqueueRequestsFromMapFunc(labelledToCluster(clusterToPools)),
			builder.WithPredicates(clusterinfra.Changed())).
		// Connect and disconnect of a workload cluster: a pool waiting to read its Nodes goes on.
		WatchesRawSource(r.ClusterCache.GetClusterSource(controllerName, clusterToPools)).
		Build(r)
	if err != nil {
		return fmt.Errorf("creating %s controller: %w", controllerName, err)
	}
	r.controller, r.cache, r.clusterToPools = c, mgr.GetCache(), clusterToPools
	return nil
}

// WatchedKinds are the kinds SetupWithManager watches that CRDs serve. The manager sets
// the controller up once the API server serves all of them (internal/crdgate): a watch
// of a kind that is not served would stop the manager after CacheSyncTimeout.
// ClusterCache, which the manager sets up with it, watches Clusters too.
func (r *Reconciler) WatchedKinds() []schema.GroupVersionKind {
	return []schema.GroupVersionKind{
		infrav1.GroupVersion.WithKind("CAPTMachinePool"),
		infrav1.GroupVersion.WithKind("WorkspaceTemplateApply"),
		r.API.GroupVersionKind(),
		clusterv1.GroupVersion.WithKind("MachinePool"),
		clusterv1.GroupVersion.WithKind("Cluster"),
		infrav1.GroupVersion.WithKind("CAPTCluster"),
	}
}

// labelledToCluster maps an object labelled with its Cluster's name (the CAPTCluster)
// through clusterToPools, Cluster API's mapper of a Cluster to the objects labelled with
// its name, as if that Cluster had changed.
func labelledToCluster(clusterToPools handler.MapFunc) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		name := o.GetLabels()[clusterv1.ClusterNameLabel]
		if name == "" {
			return nil
		}
		return clusterToPools(ctx, &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: o.GetNamespace(), Name: name}})
	}
}

// controlPlaneInitializedChanged passes the Cluster updates that initialize its control
// plane: a pool's node group waits for it.
func controlPlaneInitializedChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return true },
		UpdateFunc: func(e event.UpdateEvent) bool {
			old, okOld := e.ObjectOld.(*clusterv1.Cluster)
			changed, okNew := e.ObjectNew.(*clusterv1.Cluster)
			if !okOld || !okNew {
				return true
			}
			return ptr.Deref(old.Status.Initialization.ControlPlaneInitialized, false) != ptr.Deref(changed.Status.Initialization.ControlPlaneInitialized, false)
		},
	}
}
