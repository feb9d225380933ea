package controlplane

import (
	"context"
	"fmt"

	"github.com/capt-dev/capt/internal/controller/observed"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/childapply"
	"github.com/capt-dev/capt/internal/kubeconfig"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// reconcileDelete runs CAPTEP-0041's order: clear the endpoint, delete the
// WorkspaceTemplateApplies, wait until their Workspaces are gone, then delete the
// secrets and remove the finalizer. Each step records itself in s before it acts, so
// the Deleting condition names the step, and its failure, whatever happens. Each step is
// idempotent, so a restart resumes where it stopped; each wait ends with a watch event,
// so waiting logs no error and backs off nowhere; a failed step returns its error and is
// retried with backoff.
func (r *Reconciler) reconcileDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	cp := s.cp

	// 0. The workers go first: a node group needs its control plane to drain and leave.
	// Cluster API deletes MachinePools before the control plane, but a control plane
	// deleted on its own (or by a Cluster API that does not wait) must wait too.
	s.Deleting(controlplanev1.WaitingForNodeGroupsDeletionReason, "Looking for node groups of the Cluster")
	if pools, err := r.nodeGroupApplies(ctx, cp, s.cluster); err != nil || len(pools) > 0 {
		if len(pools) > 0 {
			s.Deleting(controlplanev1.WaitingForNodeGroupsDeletionReason, fmt.Sprintf(
				"Waiting for the node groups of the Cluster to be destroyed first: WorkspaceTemplateApply %s (%d left)", pools[0].Name, len(pools)))
		}
		return ctrl.Result{}, err
	}

	// 1. The endpoint, on the Cluster (skipped when the Cluster is gone) and here.
	s.Deleting(controlplanev1.ClearingEndpointReason, "Clearing the control plane endpoint")
	cleared, err := r.clearClusterEndpoint(ctx, s.cluster)
	if err != nil {
		return ctrl.Result{}, err
	}
	if cleared || !cp.Spec.ControlPlaneEndpoint.IsZero() {
		log.Info("Cleared the control plane endpoint")
	}
	if !cp.Spec.ControlPlaneEndpoint.IsZero() {
		// Nothing else is deleted before the endpoint is gone from the API server: it is
		// written now, and the pass goes on.
		cp.Spec.ControlPlaneEndpoint = infrav1.APIEndpoint{}
		if err := s.writer.Persist(ctx, cp); err != nil {
			return ctrl.Result{}, fmt.Errorf("clearing spec.controlPlaneEndpoint: %w", err)
		}
	}

	// 2. The WorkspaceTemplateApplies; each keeps its finalizer until its Workspace is gone.
	s.Deleting(controlplanev1.DeletingWorkspaceTemplateApplyReason, "Deleting the WorkspaceTemplateApplies")
	applies, err := r.ownedApplies(ctx, cp)
	if err != nil {
		return ctrl.Result{}, err
	}
	// Backwards, so that the step the pass ends at names the first.
	for i := len(applies) - 1; i >= 0; i-- {
		a := &applies[i]
		if _, err := childapply.Delete(ctx, r.Client, cp, childapply.Deletion{Name: a.Name, Wait: observed.Step{
			Reason: controlplanev1.DeletingWorkspaceTemplateApplyReason,
			Message: fmt.Sprintf("Waiting for WorkspaceTemplateApply %s and its Workspace %s to be deleted (%d left)",
				a.Name, render.WorkspaceName(r.API, a.Namespace, a.Name), len(applies)),
		}}, &s.Pass); err != nil {
			return ctrl.Result{}, err
		}
	}
	if len(applies) > 0 {
		return ctrl.Result{}, nil
	}

	// 3. The Workspace itself: really gone, not only its WorkspaceTemplateApply (whose
	// finalizer someone may have removed).
	wsName := render.WorkspaceName(r.API, cp.Namespace, applyName(cp))
	s.Deleting(infrav1.WaitingForWorkspaceDeletionReason, fmt.Sprintf("Waiting for Workspace %s to be destroyed", wsName))
	if exists, err := r.workspaceExists(ctx, cp.Namespace, wsName); err != nil || exists {
		return ctrl.Result{}, err
	}

	// 4. The secrets, then the finalizer, once: a pass from a cache that has not seen the
	// previous pass remove the finalizer (its secret deletions wake us) finds nothing
	// left to do.
	s.Finished, err = finalizer.Release(ctx, r.APIReader, cp, func() error {
		s.Deleting(infrav1.DeletingReason, "Deleting the kubeconfig and CA secrets")
		return r.deleteSecrets(ctx, s)
	})
	switch {
	case err == nil && s.Finished:
		log.V(4).Info("Deletion already finished")
	case err == nil:
		// 5. Done.
		log.Info("Control plane deleted", "workspace", wsName)
	}
	return ctrl.Result{}, err
}

// deleteSecrets deletes the control plane's secrets: ours, and the Workspace's
// connection secret, which no garbage collector may be there to remove.
func (r *Reconciler) deleteSecrets(ctx context.Context, s *scope) error {
	cp := s.cp
	clusterName := cp.Labels[clusterv1.ClusterNameLabel]
	if s.cluster != nil {
		clusterName = s.cluster.Name
	}
	if clusterName != "" {
		for _, name := range []string{kubeconfig.SecretName(clusterName), kubeconfig.CASecretName(clusterName), kubeconfig.UserSecretName(clusterName)} {
			if err := r.deleteSecret(ctx, cp.Namespace, name, func(s *corev1.Secret) bool { return metav1.IsControlledBy(s, cp) }); err != nil {
				return err
			}
		}
	}
	return r.deleteSecret(ctx, cp.Namespace, outputsSecretName(cp), ownedByWorkspace)
}

// nodeGroupApplies lists the Cluster's node group WorkspaceTemplateApplies (those a
// CAPTMachinePool controls), found by the cluster-name label every apply carries.
func (r *Reconciler) nodeGroupApplies(ctx context.Context, cp *controlplanev1.CAPTControlPlane, cluster *clusterv1.Cluster) ([]infrav1.WorkspaceTemplateApply, error) {
	name := cp.Labels[clusterv1.ClusterNameLabel]
	if cluster != nil {
		name = cluster.Name
	}
	if name == "" {
		return nil, nil
	}
	list := &infrav1.WorkspaceTemplateApplyList{}
	if err := r.Client.List(ctx, list, client.InNamespace(cp.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: name}); err != nil {
		return nil, fmt.Errorf("listing the node groups of Cluster %s: %w", name, err)
	}
	var out []infrav1.WorkspaceTemplateApply
	for _, a := range list.Items {
		if ref := metav1.GetControllerOf(&a); ref != nil && ref.Kind == "CAPTMachinePool" {
			out = append(out, a)
		}
	}
	return out, nil
}

// ownedApplies lists the WorkspaceTemplateApplies this control plane controls.
func (r *Reconciler) ownedApplies(ctx context.Context, cp *controlplanev1.CAPTControlPlane) ([]infrav1.WorkspaceTemplateApply, error) {
	list := &infrav1.WorkspaceTemplateApplyList{}
	if err := r.Client.List(ctx, list, client.InNamespace(cp.Namespace), client.MatchingFields{applyOwnerIndex: cp.Name}); err != nil {
		return nil, fmt.Errorf("listing WorkspaceTemplateApplies: %w", err)
	}
	return list.Items, nil
}

func (r *Reconciler) workspaceExists(ctx context.Context, namespace, name string) (bool, error) {
	u := r.API.NewObject()
	key := client.ObjectKey{Name: name}
	if r.API.Namespaced() {
		key.Namespace = namespace
	}
	err := r.Client.Get(ctx, key, u)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("getting Workspace %s: %w", name, err)
	}
	return true, nil
}

// deleteSecret deletes a secret when owned says it may.
func (r *Reconciler) deleteSecret(ctx context.Context, namespace, name string, owned func(*corev1.Secret) bool) error {
	s := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, s); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !owned(s) {
		return nil
	}
	if err := r.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting Secret %s: %w", name, err)
	}
	return nil
}

// ownedByWorkspace says a connection secret was written by a Workspace.
func ownedByWorkspace(s *corev1.Secret) bool {
	for _, ref := range s.OwnerReferences {
		if ref.Kind == workspace.Kind {
			return true
		}
	}
	return false
}
