package childapply

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// readWorkspace reads the Workspace of a WorkspaceTemplateApply from the cache; nil when it
// does not exist.
func readWorkspace(ctx context.Context, c client.Reader, api workspace.API, apply *infrav1.WorkspaceTemplateApply) (*workspace.Workspace, error) {
	u := api.NewObject()
	key := client.ObjectKey{Name: render.WorkspaceName(api, apply.Namespace, apply.Name)}
	if api.Namespaced() {
		key.Namespace = apply.Namespace
	}
	if err := c.Get(ctx, key, u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("getting Workspace %s: %w", key.Name, err)
	}
	return workspace.FromUnstructured(u)
}

// ToControllerOfApply maps a Workspace event to the object of ownerKind that controls
// the Workspace's WorkspaceTemplateApply (found through the owner annotation). When the
// apply is gone (its finalizer removed by hand while its Workspace is destroyed), the
// Workspace's cluster-name label finds the owners instead: an owner being deleted waits
// for the Workspace itself, and its deletion is the event that ends the wait.
func ToControllerOfApply(c client.Reader, ownerKind string, owners func() client.ObjectList) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		ns, name, ok := strings.Cut(o.GetAnnotations()[infrav1.WorkspaceTemplateApplyAnnotation], "/")
		if !ok {
			return nil
		}
		apply := &infrav1.WorkspaceTemplateApply{}
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, apply)
		if apierrors.IsNotFound(err) {
			return byClusterLabel(ctx, c, ns, o.GetLabels()[clusterv1.ClusterNameLabel], owners())
		}
		if err != nil {
			return nil
		}
		if ref := metav1.GetControllerOf(apply); ref != nil && ref.Kind == ownerKind {
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: ref.Name}}}
		}
		return nil
	}
}

// byClusterLabel lists the objects of list's kind in namespace that belong to cluster.
func byClusterLabel(ctx context.Context, c client.Reader, namespace, cluster string, list client.ObjectList) []reconcile.Request {
	if cluster == "" {
		return nil
	}
	if err := c.List(ctx, list, client.InNamespace(namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: cluster}); err != nil {
		return nil
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(items))
	for _, item := range items {
		if obj, ok := item.(client.Object); ok {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
		}
	}
	return out
}
