package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/dev"
	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// destroyFailureMessage is what the stuck-destroy template's destroy provisioner prints.
const destroyFailureMessage = "DependencyViolation: the VPC has dependencies"

// stateNamespace and stateSuffix are where the local stack's ProviderConfig keeps
// Terraform state: the kubernetes backend's Secret tfstate-<workspace>-<suffix> and its
// lock Lease, labelled with the workspace (internal/localstack).
const (
	stateNamespace = "crossplane-system"
	stateSuffix    = "providerconfig-default"
)

// TestStuckDeletionAbandoned deletes a Cluster whose VPC cannot be destroyed
// (templates/local/stuck-destroy): provider-terraform's error shows on the
// WorkspaceTemplateApply's Deleting condition and, with the apply's name, on the
// CAPTCluster's, which Cluster API mirrors into the Cluster (what clusterctl describe
// shows). The abandon annotation with a wrong UID is ignored and says so; with the
// Workspace's UID the deletion completes without a destroy, an event records it, and the
// Workspace's Terraform state is left as it was, holding the resources the destroy did
// not remove. The test then deletes that state itself.
func TestStuckDeletionAbandoned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const name = "stuck"
	key := client.ObjectKey{Namespace: dev.Namespace, Name: name}
	applyKey := client.ObjectKey{Namespace: dev.Namespace, Name: name + "-vpc"}
	w := createCluster(t, name, map[string]string{"CAPTCluster": "local-vpc-stuck-destroy"})
	if _, err := w.Until(within(t, 5*time.Minute), func(dev.Snapshot) (bool, error) {
		return dev.Provisioned(ctx, stack.Client, dev.Namespace, name)
	}); err != nil {
		logConditions(t, key)
		logApply(t, applyKey)
		t.Fatalf("Cluster not provisioned: %v", err)
	}
	api := workspace.DefaultAPI()
	wsKey := client.ObjectKey{Name: render.WorkspaceName(api, dev.Namespace, applyKey.Name)}
	ws := api.NewObject()
	get(t, wsKey, ws)
	uid := ws.GetUID()
	stateWorkspace := terraformWorkspace(t, ws)
	// Whatever happens below, the test leaves no Terraform state behind.
	t.Cleanup(func() { deleteState(t, stateWorkspace) })
	if _, ok := readState(t, stateWorkspace); !ok {
		t.Fatalf("no Terraform state for Workspace %s (workspace %s) in %s once applied", ws.GetName(), stateWorkspace, stateNamespace)
	}
	// The control plane's Workspace is destroyed as usual, and its state goes with it:
	// what the abandoned one's is compared with.
	cpWorkspace := api.NewObject()
	get(t, client.ObjectKey{Name: render.WorkspaceName(api, dev.Namespace, name+"-controlplane")}, cpWorkspace)
	cpState := terraformWorkspace(t, cpWorkspace)
	if _, ok := readState(t, cpState); !ok {
		t.Fatalf("no Terraform state for Workspace %s once applied", cpWorkspace.GetName())
	}

	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: dev.Namespace, Name: name}}
	if err := stack.Client.Delete(ctx, cluster); err != nil {
		t.Fatal(err)
	}

	// The control plane goes; the VPC's destroy fails, and says so on the apply, on the
	// CAPTCluster with the apply's name, and through Cluster API on the Cluster.
	prefix := "WorkspaceTemplateApply " + applyKey.Name + ": "
	var failed, applyFailed *metav1.Condition
	if _, err := w.Until(within(t, 5*time.Minute), func(dev.Snapshot) (bool, error) {
		var err error
		if failed, applyFailed, err = deletingConditions(ctx, key, applyKey); err != nil {
			return false, err
		}
		return isDeleting(failed, infrav1.WorkspaceDestroyFailedReason, destroyFailureMessage) &&
			isDeleting(applyFailed, infrav1.WorkspaceDestroyFailedReason, destroyFailureMessage), nil
	}); err != nil {
		logConditions(t, key)
		logApply(t, applyKey)
		t.Fatalf("the failed destroy never showed on the CAPTCluster's and the apply's %s: %v", infrav1.DeletingCondition, err)
	}
	t.Logf("CAPTCluster %s=%s %s: %s", failed.Type, failed.Status, failed.Reason, failed.Message)
	if !strings.HasPrefix(failed.Message, prefix) || failed.Message != prefix+applyFailed.Message {
		t.Errorf("CAPTCluster's %s message %q, want the apply's prefixed with %q: %q", failed.Type, failed.Message, prefix, applyFailed.Message)
	}
	if _, err := w.Until(within(t, 2*time.Minute), func(dev.Snapshot) (bool, error) {
		cluster = &clusterv1.Cluster{}
		if err := stack.Client.Get(ctx, key, cluster); err != nil {
			return false, err
		}
		infra := meta.FindStatusCondition(cluster.Status.Conditions, clusterv1.ClusterInfrastructureReadyCondition)
		return infra != nil && infra.Status == metav1.ConditionFalse && strings.Contains(infra.Message, destroyFailureMessage), nil
	}); err != nil {
		logConditions(t, key)
		logApply(t, applyKey)
		t.Fatalf("Cluster API never showed the failed destroy on the Cluster's %s: %v", clusterv1.ClusterInfrastructureReadyCondition, err)
	}
	checkStuck(t, wsKey, uid)

	// A UID that is not the Workspace's is ignored, and the conditions say so.
	wrong := "0c9e7a52-not-the-uid"
	annotateAbandon(t, applyKey, wrong)
	if _, err := w.Until(within(t, 2*time.Minute), func(dev.Snapshot) (bool, error) {
		var err error
		if failed, applyFailed, err = deletingConditions(ctx, key, applyKey); err != nil {
			return false, err
		}
		return isDeleting(failed, infrav1.AbandonIgnoredReason, wrong) && isDeleting(applyFailed, infrav1.AbandonIgnoredReason, wrong), nil
	}); err != nil {
		logConditions(t, key)
		logApply(t, applyKey)
		t.Fatalf("the wrong UID never showed as %s: %v", infrav1.AbandonIgnoredReason, err)
	}
	t.Logf("CAPTCluster %s=%s %s: %s", failed.Type, failed.Status, failed.Reason, failed.Message)
	if !strings.Contains(applyFailed.Message, destroyFailureMessage) {
		t.Errorf("with the annotation ignored, the apply's %s no longer names the failure: %q", applyFailed.Type, applyFailed.Message)
	}
	checkStuck(t, wsKey, uid)
	if n := eventCount(t, applyKey, infrav1.WorkspaceAbandonedReason); n != 0 {
		t.Errorf("%d %s events for a wrong UID", n, infrav1.WorkspaceAbandonedReason)
	}

	// The Workspace's own UID: it goes without a destroy, and so does everything else.
	annotateAbandon(t, applyKey, string(uid))
	if _, err := w.Until(within(t, 5*time.Minute), func(s dev.Snapshot) (bool, error) {
		return len(s) == 0, nil
	}); err != nil {
		logConditions(t, key)
		logApply(t, applyKey)
		t.Fatalf("the deletion did not complete after the Workspace was abandoned: %v", err)
	}
	if err := stack.Client.Get(ctx, wsKey, api.NewObject()); !apierrors.IsNotFound(err) {
		t.Errorf("Workspace %s after the deletion: %v", wsKey.Name, err)
	}
	// Events are written asynchronously; one is expected, a second would be a bug.
	if _, err := w.Until(within(t, time.Minute), func(dev.Snapshot) (bool, error) {
		return eventCount(t, applyKey, infrav1.WorkspaceAbandonedReason) > 0, nil
	}); err != nil {
		t.Fatalf("no %s event: %v", infrav1.WorkspaceAbandonedReason, err)
	}
	if n := eventCount(t, applyKey, infrav1.WorkspaceAbandonedReason); n != 1 {
		t.Errorf("%d %s events, want 1", n, infrav1.WorkspaceAbandonedReason)
	}

	if _, ok := readState(t, cpState); ok {
		t.Errorf("the Terraform state of the control plane's Workspace %s outlived its destroy", cpWorkspace.GetName())
	}
	// No destroy ran: the state still holds both resources, the one whose destroy failed
	// and the VPC it kept from being destroyed.
	state, ok := readState(t, stateWorkspace)
	if !ok {
		t.Fatalf("the Terraform state of abandoned Workspace %s is gone", wsKey.Name)
	}
	for _, want := range []string{"terraform_data.vpc", "terraform_data.vpc_dependencies"} {
		if !state[want] {
			t.Errorf("the state of abandoned Workspace %s lost %s: %v", wsKey.Name, want, state)
		}
	}
}

// terraformWorkspace is the Terraform workspace provider-terraform keeps ws's state in:
// its external name.
func terraformWorkspace(t *testing.T, ws *unstructured.Unstructured) string {
	t.Helper()
	name := ws.GetAnnotations()["crossplane.io/external-name"]
	if name == "" {
		t.Fatalf("Workspace %s has no external name: which Terraform workspace holds its state is unknown", ws.GetName())
	}
	return name
}

// logApply logs the apply's conditions, in full.
func logApply(t *testing.T, key client.ObjectKey) {
	apply := &infrav1.WorkspaceTemplateApply{}
	if err := stack.Client.Get(context.Background(), key, apply); err != nil {
		t.Logf("WorkspaceTemplateApply %s: %v", key.Name, err)
		return
	}
	for _, c := range apply.Status.Conditions {
		t.Logf("WorkspaceTemplateApply %s %s=%s %s: %s", key.Name, c.Type, c.Status, c.Reason, c.Message)
	}
}

// deletingConditions reads the Deleting condition of the CAPTCluster and of its apply.
func deletingConditions(ctx context.Context, key, applyKey client.ObjectKey) (cc, apply *metav1.Condition, err error) {
	captCluster, wta := &infrav1.CAPTCluster{}, &infrav1.WorkspaceTemplateApply{}
	if err := stack.Client.Get(ctx, key, captCluster); err != nil {
		return nil, nil, err
	}
	if err := stack.Client.Get(ctx, applyKey, wta); err != nil {
		return nil, nil, err
	}
	return meta.FindStatusCondition(captCluster.Status.Conditions, infrav1.DeletingCondition),
		meta.FindStatusCondition(wta.Status.Conditions, infrav1.DeletingCondition), nil
}

// isDeleting says c is a Deleting condition that is True with reason, mentioning text.
func isDeleting(c *metav1.Condition, reason, text string) bool {
	return c != nil && c.Status == metav1.ConditionTrue && c.Reason == reason && strings.Contains(c.Message, text)
}

// checkStuck: the Workspace is still there, being deleted, without the orphan policy
// that would let it go without a destroy.
func checkStuck(t *testing.T, key client.ObjectKey, uid types.UID) {
	t.Helper()
	ws := workspace.DefaultAPI().NewObject()
	get(t, key, ws)
	policy, _, _ := unstructured.NestedString(ws.Object, "spec", "deletionPolicy")
	if ws.GetUID() != uid || ws.GetDeletionTimestamp() == nil || policy == "Orphan" {
		t.Errorf("Workspace %s: uid %s (want %s), deleting %v, deletionPolicy %q: want the same Workspace, being destroyed",
			key.Name, ws.GetUID(), uid, ws.GetDeletionTimestamp() != nil, policy)
	}
}

// annotateAbandon sets the abandon annotation of the apply to uid.
func annotateAbandon(t *testing.T, key client.ObjectKey, uid string) {
	t.Helper()
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{infrav1.AbandonWorkspaceAnnotation: uid},
	}})
	if err != nil {
		t.Fatal(err)
	}
	apply := &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	if err := stack.Client.Patch(context.Background(), apply, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
}

// eventCount counts the events about the object key with reason; an event recorded
// again becomes a series of the first, so series count.
func eventCount(t *testing.T, key client.ObjectKey, reason string) int {
	t.Helper()
	list := &eventsv1.EventList{}
	if err := stack.Client.List(context.Background(), list, client.InNamespace(key.Namespace)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range list.Items {
		switch {
		case e.Regarding.Name != key.Name || e.Reason != reason:
		case e.Series != nil:
			n += int(e.Series.Count)
		default:
			n++
		}
	}
	return n
}

// stateSelector selects the state Secret and lock Lease of Terraform workspace name.
func stateSelector(name string) client.MatchingLabels {
	return client.MatchingLabels{"tfstate": "true", "tfstateWorkspace": name, "tfstateSecretSuffix": stateSuffix}
}

// readState reads the Terraform state of workspace name, the kubernetes backend's
// gzipped JSON, and returns the addresses of its resources; false when there is none.
func readState(t *testing.T, name string) (map[string]bool, bool) {
	t.Helper()
	return readStateOf(t, name, stateSuffix)
}

// readStateOf is readState for the ProviderConfig whose backend has secret suffix suffix.
func readStateOf(t *testing.T, name, suffix string) (map[string]bool, bool) {
	t.Helper()
	secret := &corev1.Secret{}
	err := stack.Client.Get(context.Background(), client.ObjectKey{Namespace: stateNamespace, Name: "tfstate-" + name + "-" + suffix}, secret)
	if apierrors.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	resources, err := localstack.StateResources(secret)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, r := range resources {
		out[r] = true
	}
	return out, true
}

// deleteState deletes what an abandoned Workspace leaves of Terraform workspace name:
// its state Secret and its lock Lease, as a person would once the resources are dealt
// with.
func deleteState(t *testing.T, name string) {
	ctx := context.Background()
	secrets, leases := &corev1.SecretList{}, &coordinationv1.LeaseList{}
	for _, list := range []client.ObjectList{secrets, leases} {
		if err := stack.Client.List(ctx, list, client.InNamespace(stateNamespace), stateSelector(name)); err != nil {
			t.Errorf("listing the Terraform state of %s: %v", name, err)
			return
		}
	}
	var objs []client.Object
	for i := range secrets.Items {
		objs = append(objs, &secrets.Items[i])
	}
	for i := range leases.Items {
		objs = append(objs, &leases.Items[i])
	}
	for _, obj := range objs {
		if err := stack.Client.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
			t.Errorf("deleting the Terraform state of %s: %v", name, err)
			continue
		}
		t.Logf("deleted %T %s/%s, the Terraform state of %s", obj, obj.GetNamespace(), obj.GetName(), name)
	}
}
