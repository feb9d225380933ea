package machinepool

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/childapply"
	"github.com/capt-dev/capt/internal/controller/patching"
)

// reconcileDelete deletes the node group's WorkspaceTemplateApply and waits until it,
// and so its Workspace, is gone, then removes the finalizer. Cluster API deletes a
// Cluster's MachinePools before its control plane, and waits for them: the node group is
// destroyed while the cluster it runs in still exists. The step is recorded in s before
// it acts, so the Deleting condition names it, and its failure.
func (r *Reconciler) reconcileDelete(ctx context.Context, s *scope) error {
	mp := s.mp
	message := fmt.Sprintf("Waiting for WorkspaceTemplateApply %s and its Workspace to be destroyed", applyName(mp))
	s.Deleting(infrav1.WaitingForWorkspaceDeletionReason, message)
	apply := &infrav1.WorkspaceTemplateApply{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: mp.Namespace, Name: applyName(mp)}, apply)
	switch {
	case apierrors.IsNotFound(err):
		// The last step runs once: a pass from a cache that has not seen the previous pass
		// remove the finalizer finds nothing left to do.
		held, err := finalizer.HeldLive(ctx, r.APIReader, mp)
		if err != nil || !held {
			s.Finished = err == nil
			return err
		}
		finalizer.Remove(mp)
		return nil
	case err != nil:
		return fmt.Errorf("getting WorkspaceTemplateApply %s: %w", applyName(mp), err)
	case !metav1.IsControlledBy(apply, mp):
		finalizer.Remove(mp)
		return nil
	}
	step := childapply.DeletionStep(apply, infrav1.WaitingForWorkspaceDeletionReason, message)
	s.Deletion = &step
	if !apply.DeletionTimestamp.IsZero() {
		return childapply.PassAbandon(ctx, r.Client, mp, apply)
	}
	deleted, err := patching.DeleteUnchanged(ctx, r.Client, apply)
	if err != nil {
		return fmt.Errorf("deleting WorkspaceTemplateApply %s: %w", apply.Name, err)
	}
	if deleted {
		// No event: Deleting names the step and the apply.
		ctrl.LoggerFrom(ctx).Info("Deleting WorkspaceTemplateApply", "WorkspaceTemplateApply", klog.KObj(apply))
	}
	return nil
}
