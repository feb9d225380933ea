package workspaceapply

import (
	"context"
	"fmt"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestLegacyFinalizer upgrades from the finalizer name without a path (issue #18): an
// apply still carrying it is given the new name in its place, and one being deleted with
// only the old name destroys its Workspace and goes, nothing stuck.
func TestLegacyFinalizer(t *testing.T) {
	ctx := context.Background()
	api := workspace.DefaultAPI()
	_, stop, err := env.RunManager(controllers(api))
	if err != nil {
		t.Fatal(err)
	}
	ns := newNamespace(t)
	create(t, newTemplate(ns, "vpc"), newApply(ns, "live", "vpc", nil), newApply(ns, "deleting", "vpc", nil))
	waitWorkspace(t, api, ns, "live")
	ws := waitWorkspace(t, api, ns, "deleting")
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// What an older CAPT left: the legacy name only. One of them is deleted meanwhile.
	for _, name := range []string{"live", "deleting"} {
		testenv.Eventually(t, "set the legacy finalizer on "+name, func() error {
			a := getApply(t, ns, name)
			a.Finalizers = []string{infrav1.LegacyWorkspaceTemplateApplyFinalizer}
			return env.Client.Update(ctx, a)
		})
	}
	if err := env.Client.Delete(ctx, getApply(t, ns, "deleting")); err != nil {
		t.Fatal(err)
	}

	startControllers(t, api)
	testenv.Eventually(t, "the live apply carries the new name alone", func() error {
		if got := getApply(t, ns, "live").Finalizers; !slices.Equal(got, []string{infrav1.WorkspaceTemplateApplyFinalizer}) {
			return fmt.Errorf("finalizers %v", got)
		}
		return nil
	})
	testenv.Eventually(t, "the deleted apply's Workspace destroyed", func() error {
		u := api.NewObject()
		u.SetName(ws.Name)
		u.SetNamespace(ws.Namespace)
		return gone(u)
	})
	testenv.Eventually(t, "the deleted apply gone", func() error {
		return gone(&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deleting"}})
	})
}

// TestFinalizerNames pins the finalizer's name and the name objects written by CAPT up
// to v0.1 carry, which it must keep honouring (TestLegacyFinalizer in workspaceapply
// checks on the API server that a legacy name is replaced, and deletes cleanly).
func TestFinalizerNames(t *testing.T) {
	if finalizer.Name != "infrastructure.cluster.x-k8s.io/workspacetemplateapply" || !slices.Equal(finalizer.Legacy, []string{"workspacetemplateapply.infrastructure.cluster.x-k8s.io"}) {
		t.Errorf("finalizer %+v", finalizer)
	}
}
