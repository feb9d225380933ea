package controlplane

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/cluster-api/util/predicates"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/childapply"
	"github.com/capt-dev/capt/internal/controller/clusterinfra"
	"github.com/capt-dev/capt/internal/controller/lifecycle"
	"github.com/capt-dev/capt/internal/kubeconfig"
)

const (
	controllerName = "captcontrolplane"
	// applyOwnerIndex indexes WorkspaceTemplateApplies by their controlling CAPTControlPlane.
	applyOwnerIndex = "captcontrolplane.owner"
	// secretIndex indexes CAPTControlPlanes by the Secrets they read or write: the
	// Workspace's connection secret and the contract's secrets, whoever owns them.
	secretIndex = "captcontrolplane.secrets"
)

// SetupWithManager registers the indexes and watches: the control plane, its
// WorkspaceTemplateApply (owned), its Workspace (through the apply), the Secrets it reads
// or writes (by index, as metadata), its Cluster and the Cluster's CAPTCluster.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, options controller.Options) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &infrav1.WorkspaceTemplateApply{}, applyOwnerIndex, func(o client.Object) []string {
		if ref := metav1.GetControllerOf(o); ref != nil && ref.Kind == "CAPTControlPlane" {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("indexing WorkspaceTemplateApplies by control plane: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &controlplanev1.CAPTControlPlane{}, secretIndex, func(o client.Object) []string {
		cp := o.(*controlplanev1.CAPTControlPlane)
		keys := []string{cp.Namespace + "/" + outputsSecretName(cp)}
		if cluster := cp.Labels[clusterv1.ClusterNameLabel]; cluster != "" {
			keys = append(keys, cp.Namespace+"/"+kubeconfig.SecretName(cluster), cp.Namespace+"/"+kubeconfig.CASecretName(cluster))
		}
		return keys
	}); err != nil {
		return fmt.Errorf("indexing CAPTControlPlanes by connection secret: %w", err)
	}

	log := mgr.GetLogger().WithName(controllerName)
	secret := &metav1.PartialObjectMetadata{}
	secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	err := ctrl.NewControllerManagedBy(mgr).
		Named(controllerName).
		For(&controlplanev1.CAPTControlPlane{}, builder.WithPredicates(predicates.ResourceHasFilterLabel(mgr.GetScheme(), log, r.WatchFilterValue),
			lifecycle.ChangedBeyondStatus())).
		WithOptions(options).
		Owns(&infrav1.WorkspaceTemplateApply{}).
		Watches(secret, handler.EnqueueRequestsFromMapFunc(r.secretToControlPlane), builder.OnlyMetadata).
		// A deleting control plane waits for the Cluster's node group applies to be gone:
		// their deletion ends the wait. Add-ons that need Nodes wait for a node group
		// apply to become Ready: that transition, not the apply's other updates, ends it.
		Watches(&infrav1.WorkspaceTemplateApply{}, handler.EnqueueRequestsFromMapFunc(r.clusterLabelToControlPlanes),
			builder.WithPredicates(deletedOrNodeGroupReadyChanged())).
		Watches(r.API.NewObject(), handler.EnqueueRequestsFromMapFunc(childapply.ToControllerOfApply(r.Client, "CAPTControlPlane", func() client.ObjectList { return &controlplanev1.CAPTControlPlaneList{} }))).
		// The Cluster's spec (references, endpoint, paused) and annotations (paused)
		// matter, not the status Cluster API keeps writing.
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(clusterToControlPlane),
			builder.WithPredicates(predicates.ResourceHasFilterLabel(mgr.GetScheme(), log, r.WatchFilterValue),
				predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		// What the control plane reads of its CAPTCluster: the spec, provisioned, the VPC;
		// not its conditions.
		Watches(&infrav1.CAPTCluster{}, handler.EnqueueRequestsFromMapFunc(r.captClusterToControlPlane), builder.WithPredicates(clusterinfra.Changed())).
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
		controlplanev1.GroupVersion.WithKind("CAPTControlPlane"),
		infrav1.GroupVersion.WithKind("WorkspaceTemplateApply"),
		r.API.GroupVersionKind(),
		clusterv1.GroupVersion.WithKind("Cluster"),
		infrav1.GroupVersion.WithKind("CAPTCluster"),
	}
}

// secretToControlPlane maps a Secret to the control planes that read or write it: a
// changed connection secret, a contract secret edited or deleted, a foreign one removed.
func (r *Reconciler) secretToControlPlane(ctx context.Context, o client.Object) []reconcile.Request {
	list := &controlplanev1.CAPTControlPlaneList{}
	if err := r.Client.List(ctx, list, client.MatchingFields{secretIndex: o.GetNamespace() + "/" + o.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing CAPTControlPlanes by Secret")
		return nil
	}
	return requests(list.Items)
}

// clusterToControlPlane maps a Cluster to its control plane, when that is a CAPTControlPlane.
func clusterToControlPlane(_ context.Context, o client.Object) []reconcile.Request {
	cluster, ok := o.(*clusterv1.Cluster)
	if !ok {
		return nil
	}
	ref := cluster.Spec.ControlPlaneRef
	if ref.Kind != "CAPTControlPlane" || ref.APIGroup != controlplanev1.GroupVersion.Group {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: cluster.Namespace, Name: ref.Name}}}
}

// captClusterToControlPlane maps a CAPTCluster to the control plane of its Cluster.
func (r *Reconciler) captClusterToControlPlane(ctx context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[clusterv1.ClusterNameLabel]
	if name == "" {
		return nil
	}
	cluster := &clusterv1.Cluster{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: o.GetNamespace(), Name: name}, cluster); err != nil {
		return nil
	}
	return clusterToControlPlane(ctx, cluster)
}

// deletedOrNodeGroupReadyChanged passes the deletions of applies and the updates
// nodeGroupReadyChanged passes.
func deletedOrNodeGroupReadyChanged() predicate.Funcs {
	p := lifecycle.Deleted()
	p.UpdateFunc = nodeGroupReadyChanged
	return p
}

// nodeGroupReadyChanged passes the updates of a node group's apply (one a CAPTMachinePool
// controls) whose Ready status changed.
func nodeGroupReadyChanged(e event.UpdateEvent) bool {
	if ref := metav1.GetControllerOf(e.ObjectNew); ref == nil || ref.Kind != "CAPTMachinePool" {
		return false
	}
	status := func(o client.Object) metav1.ConditionStatus {
		if c := conditions.Get(o.(conditions.Getter), infrav1.ReadyCondition); c != nil {
			return c.Status
		}
		return ""
	}
	return status(e.ObjectOld) != status(e.ObjectNew)
}

// clusterLabelToControlPlanes maps a node group's apply, labelled with its Cluster's name,
// to the control planes of that Cluster that wait for it: those being deleted, and those
// with add-ons that need Nodes (addonsToRender).
func (r *Reconciler) clusterLabelToControlPlanes(ctx context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[clusterv1.ClusterNameLabel]
	if name == "" {
		return nil
	}
	list := &controlplanev1.CAPTControlPlaneList{}
	if err := r.Client.List(ctx, list, client.InNamespace(o.GetNamespace()), client.MatchingLabels{clusterv1.ClusterNameLabel: name}); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if !list.Items[i].DeletionTimestamp.IsZero() || needsNodes(&list.Items[i]) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}

func requests(items []controlplanev1.CAPTControlPlane) []reconcile.Request {
	out := make([]reconcile.Request, 0, len(items))
	for i := range items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&items[i])})
	}
	return out
}
