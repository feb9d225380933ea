package workspaceapply

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/workspacetemplate"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// providerFinalizer is provider-terraform's: it holds a Workspace until destroy succeeds.
const providerFinalizer = "finalizer.managedresource.crossplane.io"

// startStallControllers runs the controllers with a recorder and a short stall timeout.
func startStallControllers(t *testing.T, api workspace.API, stall time.Duration) {
	env.StartManager(t, func(ctx context.Context, mgr ctrl.Manager, c client.Client) error {
		if err := (&workspacetemplate.Reconciler{Client: c, APIReader: mgr.GetAPIReader(), API: api}).SetupWithManager(mgr, controller.Options{}); err != nil {
			return err
		}
		return (&Reconciler{Client: c, APIReader: mgr.GetAPIReader(), API: api, Recorder: mgr.GetEventRecorder("workspacetemplateapply-controller"),
			DeletionStallTimeout: stall}).SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: 4})
	})
}

// deleteHeld creates an apply whose Workspace the provider holds, deletes the apply, and
// returns the Workspace being deleted.
func deleteHeld(t *testing.T, api workspace.API, ns, name string, vars map[string]string) *workspace.Workspace {
	t.Helper()
	apply := newApply(ns, name, "vpc", vars)
	apply.Spec.SensitiveVariables = []string{"db_password"}
	create(t, newTemplate(ns, "vpc"), apply)
	w := waitWorkspace(t, api, ns, name)
	setWorkspaceFinalizers(t, api, w.Name, []string{providerFinalizer})
	if err := env.Client.Delete(context.Background(), getApply(t, ns, name)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "Workspace being deleted", func() error {
		if w = getWorkspace(t, api, ns, w.Name); w == nil || w.DeletionTimestamp == nil {
			return fmt.Errorf("not being deleted: %+v", w)
		}
		return nil
	})
	return w
}

// playDestroy sets the Workspace's Synced condition as Crossplane does after a destroy
// attempt: False with the error when it failed, True when it succeeded.
func playDestroy(t *testing.T, api workspace.API, name string, failure string) {
	t.Helper()
	testenv.Eventually(t, "set Workspace destroy status", func() error {
		u := api.NewObject()
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: name}, u); err != nil {
			return err
		}
		now := metav1.Now().UTC().Format(time.RFC3339)
		synced := map[string]any{"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": now}
		if failure != "" {
			synced = map[string]any{"type": "Synced", "status": "False", "reason": "ReconcileError", "message": failure, "lastTransitionTime": now}
		}
		conds := []any{synced, map[string]any{"type": "Ready", "status": "False", "reason": "Deleting", "lastTransitionTime": now}}
		if err := unstructured.SetNestedSlice(u.Object, conds, "status", "conditions"); err != nil {
			return err
		}
		return env.Client.Status().Update(context.Background(), u)
	})
}

// TestDestroyFailureIsReported: the provider's destroy error reaches the apply's Deleting
// condition as soon as it is reported, redacted, with the deletion's start; it clears
// when the provider's next try succeeds, and the apply goes with the Workspace.
func TestDestroyFailureIsReported(t *testing.T) {
	api := workspace.DefaultAPI()
	startControllers(t, api)
	ns := newNamespace(t)
	w := deleteHeld(t, api, ns, "failing", map[string]string{"db_password": "hunter2-canary"})

	waitCondition(t, ns, "failing", infrav1.DeletingCondition, metav1.ConditionTrue, infrav1.WaitingForWorkspaceDeletionReason)
	playDestroy(t, api, w.Name, "delete failed: cannot run terraform destroy: Error: deleting VPC (password hunter2-canary): DependencyViolation")
	a := waitCondition(t, ns, "failing", infrav1.DeletingCondition, metav1.ConditionTrue, infrav1.WorkspaceDestroyFailedReason)
	msg := condition(a, infrav1.DeletingCondition).Message
	if err := testenv.ContainsAll(msg, w.Name, "DependencyViolation", "deleting since "+a.DeletionTimestamp.UTC().Format(time.RFC3339)); err != nil {
		t.Error(err)
	}
	for _, c := range a.Status.Conditions {
		if strings.Contains(c.Message, "hunter2-canary") {
			t.Errorf("condition %s carries a sensitive value: %s", c.Type, c.Message)
		}
	}
	if c := condition(a, infrav1.WorkspaceSyncedCondition); c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "DependencyViolation") {
		t.Errorf("WorkspaceSynced = %+v, want the Workspace's destroy error mirrored", c)
	}
	if c := condition(a, infrav1.DeletionStalledCondition); c.Status != metav1.ConditionFalse {
		t.Errorf("DeletionStalled = %+v before the stall timeout", c)
	}

	playDestroy(t, api, w.Name, "")
	waitCondition(t, ns, "failing", infrav1.DeletingCondition, metav1.ConditionTrue, infrav1.WaitingForWorkspaceDeletionReason)
	setWorkspaceFinalizers(t, api, w.Name, nil)
	testenv.Eventually(t, "apply gone after its Workspace", func() error {
		return gone(&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "failing"}})
	})
}

// TestStalledDeletion: with no progress for the stall timeout, DeletionStalled turns true
// with what to do, one Warning event records it, and nothing is abandoned.
func TestStalledDeletion(t *testing.T) {
	api := workspace.DefaultAPI()
	startStallControllers(t, api, 3*time.Second)
	ns := newNamespace(t)
	w := deleteHeld(t, api, ns, "stuck", nil)
	playDestroy(t, api, w.Name, "delete failed: Error: DependencyViolation")

	a := waitCondition(t, ns, "stuck", infrav1.DeletionStalledCondition, metav1.ConditionTrue, infrav1.DeletionStalledReason)
	if err := testenv.ContainsAll(condition(a, infrav1.DeletionStalledCondition).Message, w.Name, "DependencyViolation", infrav1.AbandonWorkspaceAnnotation); err != nil {
		t.Error(err)
	}
	testenv.Eventually(t, "one DeletionStalled event", func() error {
		if n := eventCount(t, ns, "stuck", infrav1.DeletionStalledReason); n != 1 {
			return fmt.Errorf("%d events", n)
		}
		return nil
	})
	// A pass that finds it still stalled (brought here by a touch of the apply) records
	// nothing new.
	testenv.Eventually(t, "touch the apply", func() error {
		a := getApply(t, ns, "stuck")
		a.Annotations = map[string]string{"touched": time.Now().String()}
		return env.Client.Update(context.Background(), a)
	})
	testenv.Consistently(t, "no second event, Workspace kept", 3*time.Second, func() error {
		if n := eventCount(t, ns, "stuck", infrav1.DeletionStalledReason); n != 1 {
			return fmt.Errorf("%d DeletionStalled events", n)
		}
		if got := getWorkspace(t, api, ns, w.Name); got == nil || got.Spec.DeletionPolicy == "Orphan" {
			return fmt.Errorf("Workspace abandoned without a request: %+v", got)
		}
		return nil
	})
	setWorkspaceFinalizers(t, api, w.Name, nil)
	testenv.Eventually(t, "apply gone", func() error {
		return gone(&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "stuck"}})
	})
}

// TestAbandonWorkspace: the abandon annotation with another value than the Workspace's
// UID is ignored, with a condition saying so; with the UID, the Workspace gets the
// orphan deletion policy (its provider then lets it go without a destroy), an event names
// it, and the deletion completes.
func TestAbandonWorkspace(t *testing.T) {
	api := workspace.DefaultAPI()
	startStallControllers(t, api, time.Hour)
	ns := newNamespace(t)
	w := deleteHeld(t, api, ns, "abandoned", nil)
	playDestroy(t, api, w.Name, "delete failed: Error: DependencyViolation")
	waitCondition(t, ns, "abandoned", infrav1.DeletingCondition, metav1.ConditionTrue, infrav1.WorkspaceDestroyFailedReason)

	annotate(t, ns, "abandoned", "0c9e7a52-not-the-uid")
	a := waitCondition(t, ns, "abandoned", infrav1.DeletingCondition, metav1.ConditionTrue, infrav1.AbandonIgnoredReason)
	if err := testenv.ContainsAll(condition(a, infrav1.DeletingCondition).Message, "0c9e7a52-not-the-uid", "not the UID", "DependencyViolation"); err != nil {
		t.Error(err)
	}
	testenv.Consistently(t, "wrong UID: Workspace kept", 2*time.Second, func() error {
		if got := getWorkspace(t, api, ns, w.Name); got == nil || got.Spec.DeletionPolicy == "Orphan" {
			return fmt.Errorf("Workspace abandoned on a wrong UID: %+v", got)
		}
		return nil
	})

	annotate(t, ns, "abandoned", string(w.UID))
	testenv.Eventually(t, "orphan policy on the Workspace", func() error {
		if got := getWorkspace(t, api, ns, w.Name); got == nil || got.Spec.DeletionPolicy != "Orphan" {
			return fmt.Errorf("Workspace %+v", got)
		}
		return nil
	})
	waitCondition(t, ns, "abandoned", infrav1.DeletingCondition, metav1.ConditionTrue, infrav1.WorkspaceAbandonedReason)
	testenv.Eventually(t, "WorkspaceAbandoned event", func() error {
		if n := eventCount(t, ns, "abandoned", infrav1.WorkspaceAbandonedReason); n != 1 {
			return fmt.Errorf("%d events", n)
		}
		return nil
	})
	// The provider honours Orphan: it removes its finalizer without a destroy.
	setWorkspaceFinalizers(t, api, w.Name, nil)
	testenv.Eventually(t, "apply gone", func() error {
		return gone(&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "abandoned"}})
	})
}

func annotate(t *testing.T, ns, name, uid string) {
	t.Helper()
	testenv.Eventually(t, "annotate "+name, func() error {
		a := getApply(t, ns, name)
		if a.Annotations == nil {
			a.Annotations = map[string]string{}
		}
		a.Annotations[infrav1.AbandonWorkspaceAnnotation] = uid
		return env.Client.Update(context.Background(), a)
	})
}

// eventCount counts the events about an object with a reason; an event recorded again
// becomes a series of the first (client-go's broadcaster writes the second at once), so
// series count.
func eventCount(t *testing.T, ns, name, reason string) int {
	t.Helper()
	list := &eventsv1.EventList{}
	if err := env.Client.List(context.Background(), list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range list.Items {
		switch {
		case e.Regarding.Name != name || e.Reason != reason:
		case e.Series != nil:
			n += int(e.Series.Count)
		default:
			n++
		}
	}
	return n
}
