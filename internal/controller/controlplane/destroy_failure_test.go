package controlplane

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestDestroyFailureReachesTheControlPlane: while the control plane's Workspace fails to
// destroy, the control plane's Deleting condition carries the provider's error, as its
// WorkspaceTemplateApply reports it (so that clusterctl describe shows it on the
// Cluster's tree); a successful retry takes it away and the deletion completes.
func TestDestroyFailureReachesTheControlPlane(t *testing.T) {
	startControllers(t)
	ns := newNamespace(t)
	_, cp := readyCluster(t, ns, "undying")
	if err := env.Client.Delete(context.Background(), getCP(t, cp)); err != nil {
		t.Fatal(err)
	}
	waitCP(t, cp, "waiting for the Workspace", condIs(infrav1.DeletingCondition, metav1.ConditionTrue, controlplanev1.DeletingWorkspaceTemplateApplyReason))

	env.SetDestroyResult(t, api, client.ObjectKey{Name: workspaceName(cp)}, "delete failed: Error: deleting EKS Cluster: ResourceInUseException")
	waitCP(t, cp, "destroy failure shown", func(c *controlplanev1.CAPTControlPlane) error {
		if err := condIs(infrav1.DeletingCondition, metav1.ConditionTrue, infrav1.WorkspaceDestroyFailedReason)(c); err != nil {
			return err
		}
		msg := cond(c, infrav1.DeletingCondition).Message
		for _, want := range []string{"ResourceInUseException", applyName(cp), workspaceName(cp)} {
			if err := contains(msg, want); err != nil {
				return err
			}
		}
		return nil
	})

	env.SetDestroyResult(t, api, client.ObjectKey{Name: workspaceName(cp)}, "")
	waitCP(t, cp, "failure cleared", condIs(infrav1.DeletingCondition, metav1.ConditionTrue, controlplanev1.DeletingWorkspaceTemplateApplyReason))
	setWorkspaceFinalizers(t, cp, nil)
	testenv.Eventually(t, "control plane gone", func() error { return gone(&controlplanev1.CAPTControlPlane{ObjectMeta: cp.ObjectMeta}) })
}

// TestAbandonThroughTheControlPlane: the abandon annotation set on the control plane (the
// object a person reads on the Cluster's tree) reaches its WorkspaceTemplateApply, whose
// Workspace then gets the orphan deletion policy; the deletion completes when the
// provider lets the Workspace go.
func TestAbandonThroughTheControlPlane(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	_, cp := readyCluster(t, ns, "abandoned")
	if err := env.Client.Delete(ctx, getCP(t, cp)); err != nil {
		t.Fatal(err)
	}
	env.SetDestroyResult(t, api, client.ObjectKey{Name: workspaceName(cp)}, "delete failed: Error: ResourceInUseException")
	waitCP(t, cp, "destroy failure shown", condIs(infrav1.DeletingCondition, metav1.ConditionTrue, infrav1.WorkspaceDestroyFailedReason))

	ws := waitWorkspace(t, cp)
	testenv.Eventually(t, "annotate the control plane", func() error {
		c := getCP(t, cp)
		c.Annotations = map[string]string{infrav1.AbandonWorkspaceAnnotation: string(ws.GetUID())}
		return env.Client.Update(ctx, c)
	})
	testenv.Eventually(t, "orphan policy on the Workspace", func() error {
		u := api.NewObject()
		if err := env.Client.Get(ctx, client.ObjectKey{Name: workspaceName(cp)}, u); err != nil {
			return err
		}
		if policy, _, _ := unstructured.NestedString(u.Object, "spec", "deletionPolicy"); policy != "Orphan" {
			return fmt.Errorf("deletionPolicy %q", policy)
		}
		return nil
	})
	setWorkspaceFinalizers(t, cp, nil)
	testenv.Eventually(t, "control plane gone", func() error { return gone(&controlplanev1.CAPTControlPlane{ObjectMeta: cp.ObjectMeta}) })
}
