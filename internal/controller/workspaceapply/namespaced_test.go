package workspaceapply

import (
	"context"
	"testing"

	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestNamespacedWorkspaces drives Crossplane v2's namespaced group: the Workspace lives
// beside its apply, is owned by it (controller reference), writes its connection secret
// beside itself, and a retained one is released from that owner reference.
func TestNamespacedWorkspaces(t *testing.T) {
	ctx := context.Background()
	if err := env.InstallNamespacedWorkspaceCRD(ctx, workspace.GroupTerraformNamespaced); err != nil {
		t.Fatal(err)
	}
	api, err := workspace.NewAPI(workspace.GroupTerraformNamespaced)
	if err != nil {
		t.Fatal(err)
	}
	startControllers(t, api)
	ns := newNamespace(t)
	apply := newApply(ns, "ns-demo", "vpc", nil)
	apply.Spec.RetainWorkspaceOnDelete = true
	create(t, newTemplate(ns, "vpc"), apply)

	w := waitWorkspace(t, api, ns, "ns-demo")
	if w.Namespace != ns || w.Name != "ns-demo" {
		t.Errorf("Workspace %s/%s, want %s/ns-demo", w.Namespace, w.Name, ns)
	}
	a := getApply(t, ns, "ns-demo")
	if len(w.OwnerReferences) != 1 || w.OwnerReferences[0].UID != a.UID || w.OwnerReferences[0].Controller == nil || !*w.OwnerReferences[0].Controller {
		t.Errorf("owner references = %+v, want the apply as controller", w.OwnerReferences)
	}
	if ref := w.Spec.WriteConnectionSecretToRef; ref == nil || ref.Name != "ns-demo-outputs" || ref.Namespace != "" {
		t.Errorf("connection secret = %+v, want a name only", ref)
	}

	if err := env.Client.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "apply gone", func() error { return gone(a) })
	got := getWorkspace(t, api, ns, "ns-demo")
	if got == nil || got.DeletionTimestamp != nil || len(got.OwnerReferences) != 0 {
		t.Fatalf("retained Workspace = %+v, want it alive with no owner reference for the garbage collector", got)
	}
}
