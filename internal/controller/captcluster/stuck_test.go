package captcluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/workspaceapply"
	"github.com/capt-dev/capt/internal/requeue"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestStuckDeletionShowsOnTheCAPTCluster (docs/deletion-stuck.md): a VPC whose destroy
// fails shows the provider's error on the CAPTCluster's Deleting condition, with the
// apply's reason and name; after the stall timeout without progress the CAPTCluster's
// DeletionStalled turns True; and the abandon annotation set on the CAPTCluster (the
// object on the Cluster's tree) reaches its apply, whose Workspace gets the orphan
// deletion policy, and the CAPTCluster goes once its provider lets the Workspace go.
func TestStuckDeletionShowsOnTheCAPTCluster(t *testing.T) {
	ctx := context.Background()
	env.StartManager(t, controllersStallingAfter(3*time.Second))
	ns := newNamespace(t)
	_, cc := newCluster(t, ns, "stuck", byTemplate())
	provide(t, cc, "True", "True", "", goodOutputs())
	waitCC(t, cc, "provisioned", vpcReady(metav1.ConditionTrue, infrav1.ReadyReason, infrav1.PhaseProvisioned))

	holdWorkspace(t, cc, []string{testenv.ProviderFinalizer})
	if err := env.Client.Delete(ctx, getCC(t, cc)); err != nil {
		t.Fatal(err)
	}
	env.SetDestroyResult(t, api, client.ObjectKey{Name: workspaceName(cc)}, "delete failed: Error: deleting EC2 VPC: DependencyViolation")
	waitCC(t, cc, "destroy failure shown on the CAPTCluster", func(c *infrav1.CAPTCluster) error {
		d := cond(c, infrav1.DeletingCondition)
		if d.Status != metav1.ConditionTrue || d.Reason != infrav1.WorkspaceDestroyFailedReason {
			return fmt.Errorf("Deleting %s/%s: %s", d.Status, d.Reason, d.Message)
		}
		return testenv.ContainsAll(d.Message, "WorkspaceTemplateApply "+applyName(cc)+":", "DependencyViolation", workspaceName(cc))
	})
	waitCC(t, cc, "stall shown on the CAPTCluster", func(c *infrav1.CAPTCluster) error {
		s := cond(c, infrav1.DeletionStalledCondition)
		if s.Status != metav1.ConditionTrue || s.Reason != infrav1.DeletionStalledReason {
			return fmt.Errorf("DeletionStalled %s/%s: %s", s.Status, s.Reason, s.Message)
		}
		return testenv.ContainsAll(s.Message, "DependencyViolation", infrav1.AbandonWorkspaceAnnotation)
	})

	u := api.NewObject()
	if err := env.Client.Get(ctx, client.ObjectKey{Name: workspaceName(cc)}, u); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "annotate the CAPTCluster", func() error {
		c := getCC(t, cc)
		c.Annotations = map[string]string{infrav1.AbandonWorkspaceAnnotation: string(u.GetUID())}
		return env.Client.Update(ctx, c)
	})
	testenv.Eventually(t, "orphan policy on the VPC Workspace", func() error {
		w := api.NewObject()
		if err := env.Client.Get(ctx, client.ObjectKey{Name: workspaceName(cc)}, w); err != nil {
			return err
		}
		if policy, _, _ := unstructured.NestedString(w.Object, "spec", "deletionPolicy"); policy != "Orphan" {
			return fmt.Errorf("deletionPolicy %q", policy)
		}
		return nil
	})
	// provider-terraform honours Orphan: it lets the Workspace go without a destroy.
	holdWorkspace(t, cc, nil)
	testenv.Eventually(t, "CAPTCluster gone", func() error { return gone(&infrav1.CAPTCluster{ObjectMeta: cc.ObjectMeta}) })
}

// controllersStallingAfter is controllers with the apply's deletion stall timeout set.
func controllersStallingAfter(stall time.Duration) testenv.SetupFunc {
	return func(ctx context.Context, mgr ctrl.Manager, c client.Client) error {
		if err := (&workspaceapply.Reconciler{Client: c, APIReader: mgr.GetAPIReader(), API: api, DeletionStallTimeout: stall}).
			SetupWithManager(ctx, mgr, controller.Options{}); err != nil {
			return err
		}
		return (&Reconciler{Client: c, APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("captcluster-controller"), API: api, Intervals: requeue.Defaults()}).
			SetupWithManager(ctx, mgr, controller.Options{})
	}
}
