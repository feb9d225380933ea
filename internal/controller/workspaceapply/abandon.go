package workspaceapply

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// abandonRequested says the apply's AbandonWorkspaceAnnotation names w by its UID: a
// person read that UID off this very Workspace, so the request cannot reach another
// one (a re-created Workspace of the same name has another UID).
func abandonRequested(apply *infrav1.WorkspaceTemplateApply, w *workspace.Workspace) bool {
	uid, ok := apply.Annotations[infrav1.AbandonWorkspaceAnnotation]
	return ok && uid != "" && uid == string(w.UID)
}

// orphanPolicy is the spec change that makes the provider let a Workspace go without a
// destroy: deletionPolicy Orphan on the cluster-scoped groups; on the namespaced groups
// (Crossplane v2, no deletionPolicy) management policies without Delete. Crossplane's
// managed reconciler honours either on a resource already being deleted.
func orphanPolicy(api workspace.API) map[string]any {
	if api.Namespaced() {
		return map[string]any{"managementPolicies": []string{"Observe", "Create", "Update", "LateInitialize"}}
	}
	return map[string]any{"deletionPolicy": "Orphan"}
}

// orphaned says w already carries orphanPolicy.
func orphaned(api workspace.API, w *workspace.Workspace) bool {
	if api.Namespaced() {
		return len(w.Spec.ManagementPolicies) > 0 && !slices.ContainsFunc(w.Spec.ManagementPolicies,
			func(p infrav1.ManagementAction) bool { return p == "Delete" || p == "*" })
	}
	return w.Spec.DeletionPolicy == "Orphan"
}

// abandon lets the apply's Workspace go without a destroy: the orphan policy first (the
// resourceVersion guards against a Workspace changed meanwhile), then its deletion if it
// has not begun. Its provider then removes its finalizer; the Workspace's deletion event
// brings the pass that lets the apply go. The event and the log line are the audit
// record: they name the Workspace, its UID and what stays behind.
func (r *Reconciler) abandon(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, w *workspace.Workspace) error {
	return r.deleteWithoutDestroy(ctx, w, func() {
		ctrl.LoggerFrom(ctx).Info("Abandoning Workspace: its provider lets it go without a destroy", "workspace", w.Name, "uid", w.UID,
			"annotation", infrav1.AbandonWorkspaceAnnotation)
		if r.Recorder != nil {
			r.Recorder.Eventf(apply, nil, "Warning", infrav1.WorkspaceAbandonedReason, "Delete",
				"Abandoned Workspace %s (uid %s) as annotation %s asked: it is deleted without a destroy; its cloud resources and its Terraform state are left in place",
				w.Name, w.UID, infrav1.AbandonWorkspaceAnnotation)
		}
	})
}

// deleteWithoutDestroy sets the orphan policy on w (the resourceVersion guards against a
// Workspace changed meanwhile), calling onOrphaned once it did, then deletes w if its
// deletion has not begun: its provider removes its finalizer without a destroy.
func (r *Reconciler) deleteWithoutDestroy(ctx context.Context, w *workspace.Workspace, onOrphaned func()) error {
	if !orphaned(r.API, w) {
		patch, err := json.Marshal(map[string]any{
			"metadata": map[string]any{"resourceVersion": w.ResourceVersion},
			"spec":     orphanPolicy(r.API),
		})
		if err != nil {
			return fmt.Errorf("encoding the orphan policy of Workspace %s: %w", w.Name, err)
		}
		u := r.API.NewObject()
		u.SetName(w.Name)
		u.SetNamespace(w.Namespace)
		if err := r.Client.Patch(ctx, u, client.RawPatch(types.MergePatchType, patch)); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("setting the orphan policy of Workspace %s: %w", w.Name, err)
		}
		w.SetResourceVersion(u.GetResourceVersion())
		onOrphaned()
	}
	if !w.DeletionTimestamp.IsZero() {
		return nil
	}
	return r.deleteWorkspace(ctx, w)
}
