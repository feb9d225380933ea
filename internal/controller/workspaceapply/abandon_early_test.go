package workspaceapply

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestAbandonAnnotationOnALiveApply (docs/deletion-stuck.md): the abandon annotation, with
// the Workspace's UID, does nothing on an apply that is not being deleted: the Workspace
// keeps its policy and is not deleted. When the apply is then deleted, its Workspace,
// whose deletion has not begun, gets the orphan policy first and is deleted after it (by
// etcd revision: deleted first, its provider could start the destroy), an event records
// it, and the apply goes once the provider lets the Workspace go.
func TestAbandonAnnotationOnALiveApply(t *testing.T) {
	api := workspace.DefaultAPI()
	startStallControllers(t, api, time.Hour)
	ns := newNamespace(t)
	create(t, newTemplate(ns, "vpc"), newApply(ns, "early", "vpc", nil))
	w := waitWorkspace(t, api, ns, "early")
	setWorkspaceFinalizers(t, api, w.Name, []string{providerFinalizer})
	waitCondition(t, ns, "early", infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.WorkspaceNotReadyReason)

	annotate(t, ns, "early", string(w.UID))
	testenv.Consistently(t, "a live apply ignores the annotation", 2*time.Second, func() error {
		got := getWorkspace(t, api, ns, w.Name)
		switch {
		case got == nil || got.DeletionTimestamp != nil:
			return fmt.Errorf("the Workspace of a live apply is deleted: %+v", got)
		case orphaned(api, got):
			return fmt.Errorf("the Workspace of a live apply got the orphan policy")
		}
		return nil
	})

	workspaces := env.WatchRevisions(t, "", api.NewList())
	defer workspaces.Stop()
	if err := env.Client.Delete(context.Background(), getApply(t, ns, "early")); err != nil {
		t.Fatal(err)
	}
	orphan := testenv.Step{What: "orphan policy", Match: func(c testenv.Change) bool {
		u, ok := c.Object.(*unstructured.Unstructured)
		if !ok || u.GetName() != w.Name {
			return false
		}
		policy, _, _ := unstructured.NestedString(u.Object, "spec", "deletionPolicy")
		return policy == "Orphan"
	}}
	deleting := testenv.Step{What: "Workspace deleting", Match: testenv.Deleting(w.Name)}
	workspaces.Await(t, deleting.What, deleting.Match)
	workspaces.InOrder(t, orphan, deleting)
	waitCondition(t, ns, "early", infrav1.DeletingCondition, metav1.ConditionTrue, infrav1.WorkspaceAbandonedReason)
	testenv.Eventually(t, "WorkspaceAbandoned event", func() error {
		if n := eventCount(t, ns, "early", infrav1.WorkspaceAbandonedReason); n != 1 {
			return fmt.Errorf("%d events", n)
		}
		return nil
	})
	// The provider honours Orphan: it removes its finalizer without a destroy.
	setWorkspaceFinalizers(t, api, w.Name, nil)
	testenv.Eventually(t, "apply gone", func() error {
		return gone(&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "early"}})
	})
}
