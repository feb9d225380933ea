package reliability

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// reconciles returns the reconciles of CAPT's three object controllers so far.
func reconciles() float64 {
	return testenv.ReconcileTotal("captcontrolplane") + testenv.ReconcileTotal("captcluster") +
		testenv.ReconcileTotal("workspacetemplateapply")
}

// quietWindow is how long a stuck wait is watched for a hot loop.
const quietWindow = 10 * time.Second

// TestWorkspaceNeverDestroyed deletes a Cluster whose control plane Workspace never
// finishes destroying: the conditions say what CAPT waits for, CAPT reconciles nothing
// while it waits (no hot loop) and logs no error; released, the deletion finishes.
func TestWorkspaceNeverDestroyed(t *testing.T) {
	ctx := context.Background()
	s, run := provisionedScenario(t, "stuck-destroy", newWriteLog())
	ws := s.holdControlPlaneDestroy()
	cp := &controlplanev1.CAPTControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.name}}
	if err := stack.Client.Delete(ctx, cp); err != nil {
		t.Fatal(err)
	}
	wantMessage := "Waiting for WorkspaceTemplateApply " + s.cpApply() + " and its Workspace " + ws.Name
	testenv.Eventually(t, "the control plane says what it waits for", func() error {
		return hasCondition(cp, infrav1.DeletingCondition, controlplanev1.DeletingWorkspaceTemplateApplyReason, wantMessage)
	})
	apply := &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.cpApply()}}
	testenv.Eventually(t, "the apply says what it waits for", func() error {
		return hasCondition(apply, infrav1.DeletingCondition, infrav1.WaitingForWorkspaceDeletionReason, "Waiting for Workspace "+ws.Name+" to be destroyed")
	})
	time.Sleep(time.Second) // the last status patch of the wait settles
	before, errorsBefore := reconciles(), run.logs.errors.Load()
	time.Sleep(quietWindow)
	stuckReconciles := reconciles() - before
	if stuckReconciles > 0 {
		t.Errorf("%v reconciles in %s of waiting: CAPT polls instead of waiting for the Workspace's deletion event", stuckReconciles, quietWindow)
	}
	if n := run.logs.errors.Load() - errorsBefore; n > 0 {
		t.Errorf("%d error lines while waiting:\n%s", n, strings.Join(run.logs.errorLines(), "\n"))
	}
	if err := provider.HoldDestroy(ctx, ws, false); err != nil {
		t.Fatal(err)
	}
	s.deleteAsClusterAPI()
	s.checkNothingLeft()
	s.checkDeletionOrder()
	report.add(row{
		fault:   "control plane Workspace never finishes destroying (held " + quietWindow.String() + ", then released)",
		tries:   1,
		outcome: fmt.Sprintf("Deleting=%s on the control plane and %s on the apply, naming the Workspace; %v reconciles and 0 error lines while stuck; finished once released", controlplanev1.DeletingWorkspaceTemplateApplyReason, infrav1.WaitingForWorkspaceDeletionReason, stuckReconciles),
		lost:    0,
	})
}

// TestWorkspaceFlipsReady turns the control plane Workspace not Ready and back, again
// and again: the conditions follow each flip, the endpoint and the secrets stay, and
// each flip costs a bounded number of reconciles and no error.
func TestWorkspaceFlipsReady(t *testing.T) {
	ctx := context.Background()
	w := newWriteLog()
	s, run := provisionedScenario(t, "flip", w)
	time.Sleep(time.Second)
	ws := types.NamespacedName{Name: s.workspace(s.cpApply())}
	cp := &controlplanev1.CAPTControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.name}}
	cluster := &clusterv1.Cluster{}
	if err := stack.Client.Get(ctx, s.key(), cluster); err != nil {
		t.Fatal(err)
	}
	endpoint := cluster.Spec.ControlPlaneEndpoint
	flips := rounds(10, 50)
	before, writesBefore := reconciles(), len(w.all())
	for i := range flips {
		if err := provider.HoldApply(ctx, ws, true); err != nil {
			t.Fatal(err)
		}
		setWorkspaceNotReady(t, ws, fmt.Sprintf("apply %d failed: throttled by the cloud", i))
		testenv.Eventually(t, "WorkspaceReady turns false", func() error {
			return hasCondition(cp, controlplanev1.WorkspaceReadyCondition, "", "throttled by the cloud")
		})
		if err := provider.HoldApply(ctx, ws, false); err != nil {
			t.Fatal(err)
		}
		// WorkspaceReady back to True, not only provisioned (the control plane stays
		// Available through a failed apply of its existing Workspace): each flip is seen
		// both ways, and the apply the release started has happened before the next hold.
		testenv.Eventually(t, "WorkspaceReady turns true", func() error {
			if err := stack.Client.Get(ctx, client.ObjectKeyFromObject(cp), cp); err != nil {
				return err
			}
			if !conditions.IsTrue(cp, controlplanev1.WorkspaceReadyCondition) {
				return fmt.Errorf("WorkspaceReady is %+v", conditions.Get(cp, controlplanev1.WorkspaceReadyCondition))
			}
			return nil
		})
		testenv.Eventually(t, "provisioned again", s.provisioned)
	}
	time.Sleep(time.Second)
	perFlip := (reconciles() - before) / float64(flips)
	secretWrites := 0
	for _, wr := range w.all()[writesBefore:] {
		if wr.kind == "Secret" || wr.kind == "Cluster" {
			secretWrites++
		}
	}
	if secretWrites > 0 {
		t.Errorf("%d writes of secrets or the Cluster while only readiness flipped", secretWrites)
	}
	if err := stack.Client.Get(ctx, s.key(), cluster); err != nil {
		t.Fatal(err)
	}
	if cluster.Spec.ControlPlaneEndpoint != endpoint {
		t.Errorf("endpoint changed from %v to %v", endpoint, cluster.Spec.ControlPlaneEndpoint)
	}
	if perFlip > 20 {
		t.Errorf("%.1f reconciles per flip: a loop", perFlip)
	}
	if n := run.logs.errors.Load(); n > 0 {
		t.Errorf("%d error lines:\n%s", n, strings.Join(run.logs.errorLines(), "\n"))
	}
	s.deleteAsClusterAPI()
	s.checkNothingLeft()
	report.add(row{
		fault:   "control plane Workspace flipping Ready → not Ready → Ready",
		tries:   flips,
		outcome: fmt.Sprintf("WorkspaceReady follows each flip with the provider's message; endpoint and secrets untouched; %.1f reconciles per flip, 0 error lines", perFlip),
	})
}

// TestClusterDeletedBeforeControlPlane deletes the Cluster first (no Cluster API
// finalizer holds it), then its CAPTControlPlane and CAPTCluster at once, as the garbage
// collector would: the CAPTCluster must still wait for the control plane before
// deleting the VPC.
func TestClusterDeletedBeforeControlPlane(t *testing.T) {
	ctx := context.Background()
	s, run := provisionedScenario(t, "orphaned", newWriteLog())
	ws := s.holdControlPlaneDestroy()
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.name}}
	if err := stack.Client.Delete(ctx, cluster); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "Cluster gone", func() error { return gone(cluster) })
	cp := &controlplanev1.CAPTControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.name}}
	cc := &infrav1.CAPTCluster{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.name}}
	for _, obj := range []client.Object{cc, cp} {
		if err := stack.Client.Delete(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, "the CAPTCluster waits for the control plane", func() error {
		return hasCondition(cc, infrav1.DeletingCondition, infrav1.WaitingForControlPlaneDeletionReason, "the Cluster is gone")
	})
	if err := provider.HoldDestroy(ctx, ws, false); err != nil {
		t.Fatal(err)
	}
	for _, obj := range []client.Object{cp, cc} {
		testenv.Eventually(t, fmt.Sprintf("%T gone", obj), func() error { return gone(obj) })
	}
	s.checkNothingLeft()
	s.checkDeletionOrder()
	if n := run.logs.errors.Load(); n > 0 {
		t.Errorf("%d error lines:\n%s", n, strings.Join(run.logs.errorLines(), "\n"))
	}
	report.add(row{
		fault:   "Cluster deleted before its control plane; control plane and CAPTCluster deleted at once",
		tries:   1,
		outcome: "CAPTCluster Deleting=" + infrav1.WaitingForControlPlaneDeletionReason + " until the control plane is gone, then the VPC; CAPTEP-0041 order kept, nothing left",
	})
}

// provisionedScenario starts CAPT and a scenario's Cluster and waits until it is
// provisioned; the manager stops when the test ends.
func provisionedScenario(t *testing.T, name string, w *writeLog) (*scenario, *captRun) {
	t.Helper()
	s := newScenario(t, name)
	run := startCAPT(t, w, runOptions{})
	t.Cleanup(func() { run.stop(t) })
	s.createCluster()
	s.waitProvisioned()
	return s, run
}

// holdControlPlaneDestroy makes the control plane Workspace's destroy never finish until
// released, and returns its key.
func (s *scenario) holdControlPlaneDestroy() types.NamespacedName {
	s.t.Helper()
	ws := types.NamespacedName{Name: s.workspace(s.cpApply())}
	if err := provider.HoldDestroy(context.Background(), ws, true); err != nil {
		s.t.Fatal(err)
	}
	return ws
}

// hasCondition returns nil once obj's condition has the reason (any when empty) and a
// message containing message.
func hasCondition(obj interface {
	client.Object
	conditions.Getter
}, conditionType, reason, message string) error {
	if err := stack.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		return err
	}
	c := conditions.Get(obj, conditionType)
	if c == nil || (reason != "" && c.Reason != reason) || !strings.Contains(c.Message, message) {
		return fmt.Errorf("%s is %+v, want reason %q and message with %q", conditionType, c, reason, message)
	}
	return nil
}

// setWorkspaceNotReady reports a failed apply on the Workspace, as provider-terraform does.
func setWorkspaceNotReady(t testing.TB, key types.NamespacedName, message string) {
	t.Helper()
	// The Workspace may change between the read and the write (the simulated provider adds
	// its finalizer, CAPT applies it): read again on a conflict.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u := workspace.DefaultAPI().NewObject()
		if err := stack.Client.Get(context.Background(), key, u); err != nil {
			return err
		}
		now := time.Now().UTC().Format(time.RFC3339)
		_ = unstructured.SetNestedSlice(u.Object, []any{
			map[string]any{"type": "Synced", "status": "False", "reason": "ReconcileError", "message": message, "lastTransitionTime": now},
			map[string]any{"type": "Ready", "status": "False", "reason": "Unavailable", "lastTransitionTime": now},
		}, "status", "conditions")
		return stack.Client.Status().Update(context.Background(), u)
	})
	if err != nil {
		t.Fatal(err)
	}
}
