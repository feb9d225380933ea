package workspaceapply

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/controller/patching"
	"github.com/capt-dev/capt/internal/workspace"
)

// reconcileDelete deletes the Workspace and keeps the finalizer until it is gone, or,
// with retainWorkspaceOnDelete, releases it (no owner reference left for the garbage
// collector to follow) and lets go at once. A Workspace that is not ours is never touched.
func (r *Reconciler) reconcileDelete(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, obs *observation) error {
	name := obs.workspaceName
	obs.deletion = &observed.Step{Reason: infrav1.WaitingForWorkspaceDeletionReason, Message: fmt.Sprintf("Waiting for Workspace %s to be destroyed by its provider", name)}
	current, err := r.getWorkspace(ctx, apply, name)
	if err != nil {
		return err
	}
	if current == nil {
		// The cache may not have seen a Workspace created moments ago: letting the apply
		// go then would leak the Workspace (or, retained, leave the owner reference the
		// garbage collector follows). Absence is confirmed with the API server.
		if current, err = r.getWorkspaceLive(ctx, apply, name); err != nil {
			return err
		}
	}
	if current != nil && !ownedBy(current, apply) {
		current = nil
	}

	switch {
	case current == nil:
		finalizer.Remove(apply)
		return nil
	case apply.Spec.RetainWorkspaceOnDelete:
		obs.deletion = &observed.Step{Reason: infrav1.WorkspaceRetainedReason, Message: fmt.Sprintf("Releasing retained Workspace %s", name)}
		if err := r.release(ctx, current, apply); err != nil {
			return err
		}
		ctrl.LoggerFrom(ctx).Info("Retained Workspace", "workspace", name)
		finalizer.Remove(apply)
		return nil
	case current.DeletionTimestamp.IsZero():
		u := r.API.NewObject()
		u.SetName(current.Name)
		u.SetNamespace(current.Namespace)
		u.SetUID(current.UID)
		u.SetResourceVersion(current.ResourceVersion)
		// The preconditions keep a stale cache from deleting a Workspace re-created
		// meanwhile, or deleting it twice.
		deleted, err := patching.DeleteUnchanged(ctx, r.Client, u)
		if err != nil {
			return fmt.Errorf("deleting Workspace %s: %w", name, err)
		}
		if deleted {
			ctrl.LoggerFrom(ctx).Info("Deleting Workspace", "workspace", name)
		}
	}
	// The Workspace's deletion event brings the next pass.
	return nil
}

// release removes the apply's owner reference from a retained Workspace, so that garbage
// collection cannot delete it after the apply is gone. Cluster-scoped Workspaces never
// carry one (a namespaced owner is invalid there), so there is nothing to remove.
func (r *Reconciler) release(ctx context.Context, w *workspace.Workspace, apply *infrav1.WorkspaceTemplateApply) error {
	refs := w.OwnerReferences[:0:0]
	for _, ref := range w.OwnerReferences {
		if ref.UID != apply.UID {
			refs = append(refs, ref)
		}
	}
	if len(refs) == len(w.OwnerReferences) {
		return nil
	}
	u := r.API.NewObject()
	u.SetName(w.Name)
	u.SetNamespace(w.Namespace)
	patch, err := ownerReferencesPatch(refs, w.ResourceVersion)
	if err != nil {
		return err
	}
	if err := r.Client.Patch(ctx, u, client.RawPatch(types.MergePatchType, patch)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("releasing retained Workspace %s: %w", w.Name, err)
	}
	return nil
}

// ownerReferencesPatch sets the owner references, guarded by the resource version.
func ownerReferencesPatch(refs any, resourceVersion string) ([]byte, error) {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": refs, "resourceVersion": resourceVersion,
	}})
	if err != nil {
		return nil, fmt.Errorf("encoding owner references patch: %w", err)
	}
	return patch, nil
}
