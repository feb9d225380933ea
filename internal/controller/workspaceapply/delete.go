package workspaceapply

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/lifecycle"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/redact"
	"github.com/capt-dev/capt/internal/workspace"
)

// reconcileDelete deletes the Workspace and keeps the finalizer until it is gone, or,
// with retainWorkspaceOnDelete, releases it (no owner reference left for the garbage
// collector to follow) and lets go at once. A Workspace that is not ours is never touched.
// While the Workspace is being destroyed the status says what its provider reports and
// since when; after the stall timeout without progress, DeletionStalled. The
// AbandonWorkspaceAnnotation with the Workspace's UID lets it go without a destroy.
func (r *Reconciler) reconcileDelete(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, obs *observation) (ctrl.Result, error) {
	name := obs.workspaceName
	obs.deletion = &observed.Step{Reason: infrav1.WaitingForWorkspaceDeletionReason, Message: fmt.Sprintf("Waiting for Workspace %s to be destroyed by its provider", name)}
	current, err := r.getWorkspace(ctx, apply, name)
	if err != nil {
		return ctrl.Result{}, err
	}
	if current == nil {
		// The cache may not have seen a Workspace created moments ago: letting the apply
		// go then would leak the Workspace (or, retained, leave the owner reference the
		// garbage collector follows). Absence is confirmed with the API server.
		if current, err = r.getWorkspaceLive(ctx, apply, name); err != nil {
			return ctrl.Result{}, err
		}
	}
	if current != nil && !ownedBy(current, apply) {
		current = nil
	}
	obs.workspace, obs.workspaceRead = current, true
	if current != nil {
		// What a destroy error can quote, for the mirrored conditions and Deleting alike.
		obs.redactor = r.deletionRedactor(ctx, apply, current)
		if err := r.liftProtectionPause(ctx, current); err != nil {
			return ctrl.Result{}, err
		}
	}

	switch {
	case current == nil:
		finalizer.Remove(apply)
		return ctrl.Result{}, nil
	case apply.Spec.RetainWorkspaceOnDelete:
		obs.deletion = &observed.Step{Reason: infrav1.WorkspaceRetainedReason, Message: fmt.Sprintf("Releasing retained Workspace %s", name)}
		if err := r.release(ctx, current, apply); err != nil {
			return ctrl.Result{}, err
		}
		ctrl.LoggerFrom(ctx).Info("Retained Workspace", "workspace", name)
		finalizer.Remove(apply)
		return ctrl.Result{}, nil
	case apply.Spec.Adopt.Retains():
		obs.deletion = &observed.Step{Reason: infrav1.AdoptedWorkspaceReleasedReason, Message: fmt.Sprintf(
			"Releasing adopted Workspace %s without a destroy (spec.adopt.deletionPolicy Retain): its resources and the state of Terraform workspace %s stay",
			name, apply.Spec.Adopt.TerraformWorkspace)}
		// The Workspace's deletion event brings the pass that lets the apply go.
		return ctrl.Result{}, r.releaseAdopted(ctx, apply, current)
	case abandonRequested(apply, current):
		obs.deletion = &observed.Step{Reason: infrav1.WorkspaceAbandonedReason, Message: fmt.Sprintf(
			"Abandoning Workspace %s as annotation %s asked: it goes without a destroy, its cloud resources and Terraform state stay", name, infrav1.AbandonWorkspaceAnnotation)}
		// The Workspace's deletion event brings the pass that lets the apply go.
		return ctrl.Result{}, r.abandon(ctx, apply, current)
	case current.DeletionTimestamp.IsZero():
		if err := r.deleteWorkspace(ctx, current); err != nil {
			return ctrl.Result{}, err
		}
	}
	// The Workspace's events (its deletion, its provider's reports) bring the next pass.
	// No event marks the absence of progress: the one timer of the deletion wakes the
	// pass that finds it stalled.
	step, untilStalled := destroyWait(apply, current, obs.now.Time, r.stallTimeout(), obs.redactor)
	obs.deletion = &step
	return ctrl.Result{RequeueAfter: untilStalled}, nil
}

// deleteWorkspace deletes w as the pass read it: the UID and resourceVersion
// preconditions keep a stale cache from deleting a Workspace re-created meanwhile, or
// deleting it twice.
func (r *Reconciler) deleteWorkspace(ctx context.Context, w *workspace.Workspace) error {
	u := r.API.NewObject()
	u.SetName(w.Name)
	u.SetNamespace(w.Namespace)
	u.SetUID(w.UID)
	u.SetResourceVersion(w.ResourceVersion)
	deleted, err := lifecycle.DeleteUnchanged(ctx, r.Client, u)
	if err != nil {
		return fmt.Errorf("deleting Workspace %s: %w", w.Name, err)
	}
	if deleted {
		ctrl.LoggerFrom(ctx).Info("Deleting Workspace", "workspace", w.Name)
	}
	return nil
}

// stallTimeout is DeletionStallTimeout, or its default.
func (r *Reconciler) stallTimeout() time.Duration {
	if r.DeletionStallTimeout > 0 {
		return r.DeletionStallTimeout
	}
	return DefaultDeletionStallTimeout
}

// deletionRedactor masks what a destroy error can quote: the values the template and the
// apply mark sensitive, and every environment value, as the Workspace carries them. When
// the template cannot be read (deleted before its applies), which variables it marks is
// unknown: every variable value is masked then, the apply's and those the template put
// in the Workspace's vars and varmap.
func (r *Reconciler) deletionRedactor(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, w *workspace.Workspace) *redact.Redactor {
	tmpl := &infrav1.WorkspaceTemplate{}
	if err := r.Client.Get(ctx, templateKey(apply), tmpl); err != nil {
		all := apply.DeepCopy()
		all.Spec.SensitiveVariables = variableNames(apply, w)
		return redactorFor(r.API, all, nil, w)
	}
	return redactorFor(r.API, apply, tmpl, w)
}

// variableNames is every variable the apply sets or the Workspace passes.
func variableNames(apply *infrav1.WorkspaceTemplateApply, w *workspace.Workspace) []string {
	names := slices.Collect(maps.Keys(apply.Spec.Variables))
	p := w.Spec.ForProvider
	for _, v := range p.Vars {
		names = append(names, v.Key)
	}
	if p.VarMap != nil {
		var varmap map[string]any
		if json.Unmarshal(p.VarMap.Raw, &varmap) == nil {
			names = slices.AppendSeq(names, maps.Keys(varmap))
		}
	}
	return names
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
