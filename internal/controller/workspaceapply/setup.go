package workspaceapply

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/predicates"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/lifecycle"
)

// Field indexes on WorkspaceTemplateApplies, so that an event on what an apply depends
// on reaches exactly the applies that depend on it.
const (
	templateIndex        = "spec.templateRef"
	waitedSecretIndex    = "spec.waitForSecrets" //nolint:gosec // an index name, not a credential
	waitedWorkspaceIndex = "spec.waitForWorkspaces"
	controllerName       = "workspacetemplateapply"
)

// SetupWithManager registers the indexes and watches: the apply itself, its Workspace
// (by the owner annotation) and the provider's update events on it (drift.go), the
// Workspaces and Secrets it waits for and its template (by index), its Cluster (for
// pause), ProviderConfigs (for moved applies and their grants) and Namespaces (their
// grants). Nothing is polled.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, options controller.Options) error {
	indexer := mgr.GetFieldIndexer()
	apply := &infrav1.WorkspaceTemplateApply{}
	if err := indexer.IndexField(ctx, apply, templateIndex, func(o client.Object) []string {
		return []string{templateKey(o.(*infrav1.WorkspaceTemplateApply)).String()}
	}); err != nil {
		return fmt.Errorf("indexing WorkspaceTemplateApplies by template: %w", err)
	}
	if err := indexer.IndexField(ctx, apply, waitedSecretIndex, func(o client.Object) []string {
		a := o.(*infrav1.WorkspaceTemplateApply)
		keys := make([]string, 0, len(a.Spec.WaitForSecrets))
		for _, ref := range a.Spec.WaitForSecrets {
			keys = append(keys, secretKey(a, ref).String())
		}
		return keys
	}); err != nil {
		return fmt.Errorf("indexing WorkspaceTemplateApplies by waited Secret: %w", err)
	}
	if err := indexer.IndexField(ctx, apply, waitedWorkspaceIndex, func(o client.Object) []string {
		a := o.(*infrav1.WorkspaceTemplateApply)
		keys := make([]string, 0, len(a.Spec.WaitForWorkspaces))
		for _, ref := range a.Spec.WaitForWorkspaces {
			keys = append(keys, r.waitedWorkspaceKey(a, ref).String())
		}
		return keys
	}); err != nil {
		return fmt.Errorf("indexing WorkspaceTemplateApplies by waited Workspace: %w", err)
	}

	if err := indexer.IndexField(ctx, apply, adoptedWorkspaceIndex, adoptedWorkspace); err != nil {
		return fmt.Errorf("indexing WorkspaceTemplateApplies by adopted Terraform workspace: %w", err)
	}

	if r.ManagementClusterID == "" {
		id, err := ManagementClusterID(ctx, mgr.GetAPIReader())
		if err != nil {
			return err
		}
		r.ManagementClusterID = id
	}

	log := mgr.GetLogger().WithName(controllerName)
	drift, err := r.driftEvents(ctx, mgr)
	if err != nil {
		return err
	}
	secret := &metav1.PartialObjectMetadata{}
	secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	err = ctrl.NewControllerManagedBy(mgr).
		Named(controllerName).
		For(apply, builder.WithPredicates(predicates.ResourceHasFilterLabel(mgr.GetScheme(), log, r.WatchFilterValue), lifecycle.ChangedBeyondStatus())).
		WithOptions(options).
		Watches(r.API.NewObject(), handler.EnqueueRequestsFromMapFunc(r.workspaceToApplies)).
		// The provider's update events on the applies' Workspaces: drift reverted.
		WatchesRawSource(drift).
		// A template's status wakes only the applies whose rollout slot it granted.
		Watches(&infrav1.WorkspaceTemplate{}, r.templateEvents()).
		// A Cluster's pause and unpause reach the applies labelled with its name.
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(r.clusterToApplies)).
		// Only a Secret's existence matters: its metadata is enough, and updates are ignored.
		Watches(secret, handler.EnqueueRequestsFromMapFunc(r.byIndex(waitedSecretIndex)),
			builder.OnlyMetadata, builder.WithPredicates(lifecycle.Existence())).
		// The kubernetes backend's state Secrets, for the applies that wait to adopt one
		// (written after it was created: tofu workspace new, then apply).
		Watches(secret, handler.EnqueueRequestsFromMapFunc(r.stateSecretToApplies),
			builder.OnlyMetadata, builder.WithPredicates(stateSecrets())).
		// A moved apply waits for its ProviderConfig to declare the Terraform state shared;
		// its grant (tenancy.go) wakes the applies of the templates it granted or grants.
		Watches(r.providerConfig(), r.providerConfigEvents(),
			builder.OnlyMetadata, builder.WithPredicates(predicate.AnnotationChangedPredicate{})).
		// A Namespace's grant wakes the applies in the namespaces it granted or grants.
		Watches(namespaceMetadata(), grantEvents(r.appliesIn), builder.OnlyMetadata).
		Complete(r)
	if err != nil {
		return fmt.Errorf("creating %s controller: %w", controllerName, err)
	}
	return nil
}

// WatchedKinds are the kinds SetupWithManager watches that CRDs serve. The manager sets
// the controller up once the API server serves all of them (internal/crdgate): a watch
// of a kind that is not served would stop the manager after CacheSyncTimeout.
// The ProviderConfig is one of them: provider-terraform serves it with the Workspace.
func (r *Reconciler) WatchedKinds() []schema.GroupVersionKind {
	return []schema.GroupVersionKind{
		infrav1.GroupVersion.WithKind("WorkspaceTemplateApply"),
		r.API.GroupVersionKind(),
		infrav1.GroupVersion.WithKind("WorkspaceTemplate"),
		clusterv1.GroupVersion.WithKind("Cluster"),
		r.providerConfig().GroupVersionKind(),
	}
}

// workspaceToApplies maps a Workspace event to its owner and to the applies waiting for it.
func (r *Reconciler) workspaceToApplies(ctx context.Context, o client.Object) []reconcile.Request {
	requests := r.byIndex(waitedWorkspaceIndex)(ctx, o)
	if owner, ok := o.GetAnnotations()[infrav1.WorkspaceTemplateApplyAnnotation]; ok {
		if ns, name, found := strings.Cut(owner, "/"); found {
			requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
		}
	}
	return requests
}

// clusterToApplies maps a Cluster to the applies labelled with its name.
func (r *Reconciler) clusterToApplies(ctx context.Context, o client.Object) []reconcile.Request {
	list := &infrav1.WorkspaceTemplateApplyList{}
	if err := r.Client.List(ctx, list, client.InNamespace(o.GetNamespace()), client.MatchingLabels{clusterv1.ClusterNameLabel: o.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing WorkspaceTemplateApplies of a Cluster")
		return nil
	}
	requests := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return requests
}

// byIndex maps an object to the applies whose index holds its key.
func (r *Reconciler) byIndex(index string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		list := &infrav1.WorkspaceTemplateApplyList{}
		key := client.ObjectKeyFromObject(o).String()
		if err := r.Client.List(ctx, list, client.MatchingFields{index: key}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Listing WorkspaceTemplateApplies by index", "index", index)
			return nil
		}
		requests := make([]reconcile.Request, 0, len(list.Items))
		for _, a := range list.Items {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&a)})
		}
		return requests
	}
}
