package captcluster

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util"
	"sigs.k8s.io/cluster-api/util/predicates"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/childapply"
	"github.com/capt-dev/capt/internal/controller/lifecycle"
)

const controllerName = "captcluster"

// SetupWithManager watches the CAPTCluster, its VPC WorkspaceTemplateApply (owned), the
// apply's Workspace (through its owner annotation), the Cluster and the
// CAPTControlPlane whose deletion the CAPTCluster's deletion waits for.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, options controller.Options) error {
	log := mgr.GetLogger().WithName(controllerName)
	err := ctrl.NewControllerManagedBy(mgr).
		Named(controllerName).
		// A CAPTCluster another controller manages (cluster.x-k8s.io/managed-by) is not
		// CAPT's to reconcile, as the InfraCluster contract asks.
		For(&infrav1.CAPTCluster{}, builder.WithPredicates(predicates.All(mgr.GetScheme(), log,
			predicates.ResourceHasFilterLabel(mgr.GetScheme(), log, r.WatchFilterValue),
			predicates.ResourceIsNotExternallyManaged(mgr.GetScheme(), log)), lifecycle.ChangedBeyondStatus())).
		WithOptions(options).
		Owns(&infrav1.WorkspaceTemplateApply{}).
		Watches(r.API.NewObject(), handler.EnqueueRequestsFromMapFunc(childapply.ToControllerOfApply(r.Client, "CAPTCluster", func() client.ObjectList { return &infrav1.CAPTClusterList{} }))).
		// The Cluster's spec (references, paused) and annotations (paused) matter, not the
		// status Cluster API keeps writing.
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(
			util.ClusterToInfrastructureMapFunc(ctx, infrav1.GroupVersion.WithKind("CAPTCluster"), mgr.GetClient(), &infrav1.CAPTCluster{})),
			builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		// Deletion waits for the control plane to be gone: only its disappearance matters,
		// not each of its status patches (at 1,000 clusters those were most reconciles).
		Watches(&controlplanev1.CAPTControlPlane{}, handler.EnqueueRequestsFromMapFunc(r.controlPlaneToCAPTCluster),
			builder.WithPredicates(lifecycle.Deleted())).
		Complete(r)
	if err != nil {
		return fmt.Errorf("creating %s controller: %w", controllerName, err)
	}
	return nil
}

// WatchedKinds are the kinds SetupWithManager watches that CRDs serve. The manager sets
// the controller up once the API server serves all of them (internal/crdgate): a watch
// of a kind that is not served would stop the manager after CacheSyncTimeout.
func (r *Reconciler) WatchedKinds() []schema.GroupVersionKind {
	return []schema.GroupVersionKind{
		infrav1.GroupVersion.WithKind("CAPTCluster"),
		infrav1.GroupVersion.WithKind("WorkspaceTemplateApply"),
		r.API.GroupVersionKind(),
		clusterv1.GroupVersion.WithKind("Cluster"),
		controlplanev1.GroupVersion.WithKind("CAPTControlPlane"),
	}
}

func (r *Reconciler) controlPlaneToCAPTCluster(ctx context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[clusterv1.ClusterNameLabel]
	if name == "" {
		return nil
	}
	cluster := &clusterv1.Cluster{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: o.GetNamespace(), Name: name}, cluster)
	if err == nil {
		ref := cluster.Spec.InfrastructureRef
		if ref.Kind != "CAPTCluster" || ref.APIGroup != infrav1.GroupVersion.Group {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: cluster.Namespace, Name: ref.Name}}}
	}
	// The Cluster is gone: the CAPTClusters of the same Cluster, by label, may be waiting.
	list := &infrav1.CAPTClusterList{}
	if err := r.Client.List(ctx, list, client.InNamespace(o.GetNamespace()), client.MatchingLabels{clusterv1.ClusterNameLabel: name}); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}
