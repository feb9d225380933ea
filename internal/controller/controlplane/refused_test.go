package controlplane

import (
	"context"
	"fmt"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestRefusedDeletionStepsAreShownAndRetried has an admission policy refuse a step of
// CAPTEP-0041 deletion: clearing the Cluster's endpoint (step 1), then deleting the
// WorkspaceTemplateApply (step 2). The Deleting condition names the step and the
// policy's message, nothing after the refused step happens, and once the policy is lifted
// the deletion goes on by itself (retried with backoff) and leaves nothing behind.
func TestRefusedDeletionStepsAreShownAndRetried(t *testing.T) {
	ctx := context.Background()
	startControllers(t)

	t.Run("endpoint clear refused", func(t *testing.T) {
		ns := newNamespace(t)
		cluster, cp := readyCluster(t, ns, "keep-endpoint")
		binding := refusal{
			name: "keep-endpoint-" + ns, operation: admissionregistrationv1.Update, group: "cluster.x-k8s.io", resource: "clusters",
			allow:   "object.metadata.namespace != '" + ns + "' || (has(object.spec.controlPlaneEndpoint) && has(object.spec.controlPlaneEndpoint.host))",
			message: "the endpoint stays while the audit runs",
		}.enforce(t, func() error {
			c := getCluster(t, cluster)
			c.Spec.ControlPlaneEndpoint = clusterv1.APIEndpoint{}
			return env.Client.Update(ctx, c, client.DryRunAll)
		})
		if err := env.Client.Delete(ctx, getCP(t, cp)); err != nil {
			t.Fatal(err)
		}
		waitCP(t, cp, "the refusal on Deleting", deletingSays(controlplanev1.ClearingEndpointReason, "the endpoint stays while the audit runs"))
		if a := getApply(t, cp); a.DeletionTimestamp != nil {
			t.Fatal("the WorkspaceTemplateApply was deleted while the Cluster kept its endpoint")
		}
		if getCluster(t, cluster).Spec.ControlPlaneEndpoint.IsZero() {
			t.Fatal("set-up: the policy did not keep the endpoint")
		}
		lift(t, binding)
		waitCP(t, cp, "past the endpoint", deletingSays(controlplanev1.DeletingWorkspaceTemplateApplyReason, applyName(cp)))
		setWorkspaceFinalizers(t, cp, nil)
		testenv.Eventually(t, "control plane gone", func() error { return gone(&controlplanev1.CAPTControlPlane{ObjectMeta: cp.ObjectMeta}) })
		assertNothingLeft(t, ns, "keep-endpoint")
	})

	t.Run("apply delete refused", func(t *testing.T) {
		ns := newNamespace(t)
		_, cp := readyCluster(t, ns, "keep-apply")
		binding := refusal{
			name: "keep-apply-" + ns, operation: admissionregistrationv1.Delete, group: infrav1.GroupVersion.Group, resource: "workspacetemplateapplies",
			allow:   "oldObject.metadata.namespace != '" + ns + "'",
			message: "applies are kept until the backup is done",
		}.enforce(t, func() error {
			return env.Client.Delete(ctx, getApply(t, cp), client.DryRunAll)
		})
		if err := env.Client.Delete(ctx, getCP(t, cp)); err != nil {
			t.Fatal(err)
		}
		waitCP(t, cp, "the refusal on Deleting", deletingSays(controlplanev1.DeletingWorkspaceTemplateApplyReason, "applies are kept until the backup is done"))
		if a := getApply(t, cp); a.DeletionTimestamp != nil {
			t.Fatal("set-up: the policy did not keep the WorkspaceTemplateApply")
		}
		lift(t, binding)
		testenv.Eventually(t, "apply deleting once lifted", func() error {
			if a := getApply(t, cp); a.DeletionTimestamp == nil {
				return fmt.Errorf("WorkspaceTemplateApply %s not deleted yet", a.Name)
			}
			return nil
		})
		setWorkspaceFinalizers(t, cp, nil)
		testenv.Eventually(t, "control plane gone", func() error { return gone(&controlplanev1.CAPTControlPlane{ObjectMeta: cp.ObjectMeta}) })
		assertNothingLeft(t, ns, "keep-apply")
	})
}

// deletingSays checks the Deleting condition's reason and that its message names text.
func deletingSays(reason, text string) func(*controlplanev1.CAPTControlPlane) error {
	return func(c *controlplanev1.CAPTControlPlane) error {
		if err := condIs(infrav1.DeletingCondition, metav1.ConditionTrue, reason)(c); err != nil {
			return err
		}
		return contains(cond(c, infrav1.DeletingCondition).Message, text)
	}
}

func getApply(t *testing.T, cp *controlplanev1.CAPTControlPlane) *infrav1.WorkspaceTemplateApply {
	t.Helper()
	a := &infrav1.WorkspaceTemplateApply{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: cp.Namespace, Name: applyName(cp)}, a); err != nil {
		t.Fatalf("get WorkspaceTemplateApply: %v", err)
	}
	return a
}
