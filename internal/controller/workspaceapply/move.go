package workspaceapply

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/cluster-api/util/annotations"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// clusterctl move (docs/install.md, "Moving a management cluster") pauses the Cluster,
// copies its objects to the target without their status, deletes them from the source
// and unpauses the copies. Workspaces are the provider's cluster-scoped objects and do
// not move: the target creates them again from the moved applies, which is safe only
// when Terraform finds there the state the source applied. So:
//   - while the Cluster is paused, the Workspace is paused too (Crossplane's annotation):
//     neither side's provider applies or destroys it mid-move, and the source's copy
//     outlives the apply clusterctl deletes without a destroy;
//   - the apply keeps clusterctl's block-move annotation until its Workspace is paused,
//     so that clusterctl copies nothing before that;
//   - the paused apply records which management cluster holds its Workspace; on another
//     one, its Workspace is created again only once the ProviderConfig says its state is
//     shared.

// ManagementClusterID is the UID of the kube-system namespace: it tells one management
// cluster from another, and stays the same for a cluster's life.
func ManagementClusterID(ctx context.Context, reader client.Reader) (string, error) {
	ns := &corev1.Namespace{}
	if err := reader.Get(ctx, client.ObjectKey{Name: metav1.NamespaceSystem}, ns); err != nil {
		return "", fmt.Errorf("reading namespace %s to identify the management cluster: %w", metav1.NamespaceSystem, err)
	}
	return string(ns.UID), nil
}

// pauseWorkspace pauses the apply's Workspace for its paused Cluster, records on the
// apply where the Workspace is, and lets clusterctl move go on (block-move removed, in
// memory: the pass's patch writes it). A Workspace someone else paused is left as it is.
func (r *Reconciler) pauseWorkspace(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, name string) error {
	w, err := r.getWorkspace(ctx, apply, name)
	if err != nil {
		return err
	}
	if w != nil && ownedBy(w, apply) {
		if w.Annotations[infrav1.CrossplanePausedAnnotation] != "true" {
			if err := r.annotateWorkspace(ctx, w, map[string]any{
				infrav1.CrossplanePausedAnnotation:  "true",
				infrav1.PausedWithClusterAnnotation: "true",
			}); err != nil {
				return fmt.Errorf("pausing Workspace %s: %w", name, err)
			}
			ctrl.LoggerFrom(ctx).V(2).Info("Paused Workspace with its Cluster", "workspace", name)
		}
		if r.ManagementClusterID != "" {
			annotations.AddAnnotations(apply, map[string]string{infrav1.WorkspaceManagementClusterAnnotation: r.ManagementClusterID})
		}
	}
	delete(apply.Annotations, clusterctlv1.BlockMoveAnnotation)
	return nil
}

// resumeWorkspace lifts the pause pauseWorkspace set, once the Cluster is unpaused, and
// puts block-move back on a live apply: a later move waits for the next pause again.
func (r *Reconciler) resumeWorkspace(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, name string) error {
	if apply.DeletionTimestamp.IsZero() {
		annotations.AddAnnotations(apply, map[string]string{clusterctlv1.BlockMoveAnnotation: ""})
	}
	w, err := r.getWorkspace(ctx, apply, name)
	if err != nil || w == nil || !ownedBy(w, apply) || w.Annotations[infrav1.PausedWithClusterAnnotation] != "true" {
		return err
	}
	if err := r.annotateWorkspace(ctx, w, map[string]any{
		infrav1.CrossplanePausedAnnotation:  nil,
		infrav1.PausedWithClusterAnnotation: nil,
	}); err != nil {
		return fmt.Errorf("lifting the pause of Workspace %s: %w", name, err)
	}
	ctrl.LoggerFrom(ctx).V(2).Info("Lifted the pause of Workspace with its Cluster", "workspace", name)
	return nil
}

// annotateWorkspace sets (nil: removes) annotations of w by a merge patch, which never
// creates a Workspace that was deleted meanwhile.
func (r *Reconciler) annotateWorkspace(ctx context.Context, w *workspace.Workspace, values map[string]any) error {
	data, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": values}})
	if err != nil {
		return err
	}
	u := r.API.NewObject()
	u.SetName(w.Name)
	u.SetNamespace(w.Namespace)
	return client.IgnoreNotFound(r.Client.Patch(ctx, u, client.RawPatch(types.MergePatchType, data)))
}

// sharedStateWait says what a moved apply waits for before its Workspace is created
// again here, or "" when nothing: the apply was not moved (its Workspace was never paused
// on another management cluster), or the ProviderConfig declares its state shared.
func (r *Reconciler) sharedStateWait(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, desired *workspace.Workspace) (string, error) {
	from := apply.Annotations[infrav1.WorkspaceManagementClusterAnnotation]
	if from == "" || r.ManagementClusterID == "" || from == r.ManagementClusterID {
		return "", nil
	}
	key := r.providerConfigKey(apply, desired)
	pc := r.providerConfig()
	err := r.Client.Get(ctx, key, pc)
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Sprintf("ProviderConfig %s (not found) to declare its Terraform state shared", key.Name), nil
	case err != nil:
		return "", fmt.Errorf("getting ProviderConfig %s: %w", key.Name, err)
	case pc.Annotations[infrav1.SharedTerraformStateAnnotation] == "true":
		return "", nil
	}
	return fmt.Sprintf("ProviderConfig %s to declare its Terraform state shared (annotation %s: \"true\"): "+
		"Workspace %s was created by another management cluster and is not here, "+
		"and Terraform would create again what it applied if the state stayed there",
		key.Name, infrav1.SharedTerraformStateAnnotation, desired.Name), nil
}

// providerConfig returns an empty ProviderConfig of the Workspace API's group, metadata
// only: CAPT reads nothing else of it.
func (r *Reconciler) providerConfig() *metav1.PartialObjectMetadata {
	pc := &metav1.PartialObjectMetadata{}
	pc.SetGroupVersionKind(r.API.GroupVersionKind().GroupVersion().WithKind("ProviderConfig"))
	return pc
}

// providerConfigKey is the key of the ProviderConfig a Workspace names: "default" when it
// names none, in the apply's namespace for the namespaced groups.
func (r *Reconciler) providerConfigKey(apply *infrav1.WorkspaceTemplateApply, desired *workspace.Workspace) client.ObjectKey {
	key := client.ObjectKey{Name: "default"}
	if ref := desired.Spec.ProviderConfigRef; ref != nil && ref.Name != "" {
		key.Name = ref.Name
	}
	if r.API.Namespaced() {
		key.Namespace = apply.Namespace
	}
	return key
}

// providerConfigToApplies maps a ProviderConfig event to the applies waiting for it to
// declare its state shared: only moved applies wait, and a ProviderConfig rarely changes.
func (r *Reconciler) providerConfigToApplies(ctx context.Context, _ client.Object) []reconcile.Request {
	list := &infrav1.WorkspaceTemplateApplyList{}
	if err := r.Client.List(ctx, list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing WorkspaceTemplateApplies for a ProviderConfig")
		return nil
	}
	var requests []reconcile.Request
	for i := range list.Items {
		if from := list.Items[i].Annotations[infrav1.WorkspaceManagementClusterAnnotation]; from != "" && from != r.ManagementClusterID {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return requests
}

// forgetManagementCluster drops the record of a pause once the apply's Workspace exists
// where the apply is: it matters only to find a Workspace left on another cluster.
func forgetManagementCluster(apply *infrav1.WorkspaceTemplateApply) {
	delete(apply.Annotations, infrav1.WorkspaceManagementClusterAnnotation)
}
