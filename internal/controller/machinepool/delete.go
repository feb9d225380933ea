package machinepool

import (
	"context"
	"fmt"

	"github.com/capt-dev/capt/internal/controller/observed"

	ctrl "sigs.k8s.io/controller-runtime"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/childapply"
)

// reconcileDelete deletes the node group's WorkspaceTemplateApply and waits until it,
// and so its Workspace, is gone, then removes the finalizer. Cluster API deletes a
// Cluster's MachinePools before its control plane, and waits for them: the node group is
// destroyed while the cluster it runs in still exists. The step is recorded in s before
// it acts, so the Deleting condition names it, and its failure.
func (r *Reconciler) reconcileDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	mp := s.mp
	gone, err := childapply.Delete(ctx, r.Client, mp, childapply.Deletion{Name: applyName(mp), Wait: observed.Step{
		Reason: infrav1.WaitingForWorkspaceDeletionReason, Message: fmt.Sprintf("Waiting for WorkspaceTemplateApply %s and its Workspace to be destroyed", applyName(mp)),
	}}, &s.Pass)
	if err != nil || !gone {
		return ctrl.Result{}, err
	}
	s.Finished, err = finalizer.Release(ctx, r.APIReader, mp, nil)
	return ctrl.Result{}, err
}
