package workspaceapply

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/capt-dev/capt/internal/workspace"
)

// cacheWithoutWorkspaces plays a manager's cache that has not seen a Workspace created
// moments ago: every Workspace read says NotFound.
type cacheWithoutWorkspaces struct{ client.Client }

func (c cacheWithoutWorkspaces) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if u, ok := obj.(*unstructured.Unstructured); ok && u.GetKind() == workspace.Kind {
		return apierrors.NewNotFound(schema.GroupResource{Resource: "workspaces"}, key.Name)
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

// TestDeletionConfirmsAbsenceLive: an apply being deleted whose cache has not seen its
// Workspace yet asks the API server before it lets go; letting go on the cache's word
// would leak the Workspace.
func TestDeletionConfirmsAbsenceLive(t *testing.T) {
	ctx := context.Background()
	api := workspace.DefaultAPI()
	_, stop, err := env.RunManager(controllers(api))
	if err != nil {
		t.Fatal(err)
	}
	ns := newNamespace(t)
	create(t, newTemplate(ns, "vpc"), newApply(ns, "unseen", "vpc", nil))
	waitWorkspace(t, api, ns, "unseen")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(ctx, getApply(t, ns, "unseen")); err != nil {
		t.Fatal(err)
	}

	r := &Reconciler{Client: cacheWithoutWorkspaces{env.Client}, APIReader: env.Client, API: api}
	if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKey{Namespace: ns, Name: "unseen"}}); err != nil {
		t.Fatal(err)
	}
	if a := getApply(t, ns, "unseen"); !finalizer.Held(a) {
		t.Fatalf("the apply let go of a Workspace its cache had not seen: finalizers %v", a.Finalizers)
	}
}
