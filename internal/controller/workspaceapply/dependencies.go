package workspaceapply

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// unmetDependencies lists the Secrets that do not exist yet and the Workspaces that are
// not Ready yet. Both are watched, so the apply moves on at the event that meets them.
func (r *Reconciler) unmetDependencies(ctx context.Context, apply *infrav1.WorkspaceTemplateApply) ([]string, string, error) {
	var waiting []string
	for _, ref := range apply.Spec.WaitForSecrets {
		key := secretKey(apply, ref)
		secret := &metav1.PartialObjectMetadata{}
		secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		err := r.Client.Get(ctx, key, secret)
		switch {
		case apierrors.IsNotFound(err):
			waiting = append(waiting, "Secret "+key.String())
		case err != nil:
			return nil, "", fmt.Errorf("getting Secret %s: %w", key, err)
		}
	}
	if len(waiting) > 0 {
		return waiting, infrav1.WaitingForSecretsReason, nil
	}
	for _, ref := range apply.Spec.WaitForWorkspaces {
		key := r.waitedWorkspaceKey(apply, ref)
		u := r.API.NewObject()
		err := r.Client.Get(ctx, key, u)
		switch {
		case apierrors.IsNotFound(err):
			waiting = append(waiting, "Workspace "+key.String()+" (not found)")
		case err != nil:
			return nil, "", fmt.Errorf("getting Workspace %s: %w", key, err)
		default:
			w, err := workspace.FromUnstructured(u)
			if err != nil {
				return nil, "", err
			}
			if !w.IsReady() {
				waiting = append(waiting, "Workspace "+key.String()+" (not Ready)")
			}
		}
	}
	return waiting, infrav1.WaitingForWorkspacesReason, nil
}

// secretKey is a waited-for Secret's key, its namespace defaulting to the apply's.
func secretKey(apply *infrav1.WorkspaceTemplateApply, ref infrav1.SecretReference) client.ObjectKey {
	if ref.Namespace == "" {
		return client.ObjectKey{Namespace: apply.Namespace, Name: ref.Name}
	}
	return client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}
}

// waitedWorkspaceKey is a waited-for Workspace's key: cluster-scoped Workspaces have no
// namespace; namespaced ones default to the apply's.
func (r *Reconciler) waitedWorkspaceKey(apply *infrav1.WorkspaceTemplateApply, ref infrav1.WorkspaceReference) client.ObjectKey {
	if !r.API.Namespaced() {
		return client.ObjectKey{Name: ref.Name}
	}
	if ref.Namespace == "" {
		return client.ObjectKey{Namespace: apply.Namespace, Name: ref.Name}
	}
	return client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}
}
