package workspaceapply

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestForeignWorkspaceIsLeftAlone: a Workspace of the expected name already exists and
// its annotation names another apply. The apply says WorkspaceOwnedByOther, never writes
// the Workspace, and does not delete it when it is deleted itself.
func TestForeignWorkspaceIsLeftAlone(t *testing.T) {
	ctx := context.Background()
	api := workspace.DefaultAPI()
	startControllers(t, api)
	ns := newNamespace(t)
	foreign := api.NewObject()
	foreign.SetName(render.WorkspaceName(api, ns, "taken"))
	foreign.SetAnnotations(map[string]string{infrav1.WorkspaceTemplateApplyAnnotation: "elsewhere/someone-else"})
	_ = unstructured.SetNestedMap(foreign.Object, map[string]any{"source": "Inline", "module": `variable "x" {}`}, "spec", "forProvider")
	create(t, foreign)
	create(t, newTemplate(ns, "vpc"), newApply(ns, "taken", "vpc", nil))
	waitCondition(t, ns, "taken", infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.WorkspaceOwnedByOtherReason)

	if err := env.Client.Delete(ctx, getApply(t, ns, "taken")); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "apply gone", func() error {
		return gone(&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taken"}})
	})
	after := api.NewObject()
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(foreign), after); err != nil {
		t.Fatalf("the foreign Workspace was deleted with the apply: %v", err)
	}
	if after.GetResourceVersion() != foreign.GetResourceVersion() || after.GetDeletionTimestamp() != nil {
		t.Errorf("the foreign Workspace was written: resourceVersion %s → %s, deleting %v",
			foreign.GetResourceVersion(), after.GetResourceVersion(), after.GetDeletionTimestamp())
	}
}
