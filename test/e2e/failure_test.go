package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/dev"
)

// failureMessage is what the failing template's provisioner prints.
const failureMessage = "control plane quota exhausted"

// TestFailedApplyRecovers creates a Cluster whose control plane template fails to apply
// (templates/local/failing): the failure shows as a condition on the CAPTControlPlane
// and, through Cluster API, on the Cluster. Pointing the control plane at the working
// template recovers it without deleting or re-creating anything.
func TestFailedApplyRecovers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const name = "broken"
	w := createCluster(t, name, map[string]string{"CAPTControlPlane": "local-controlplane-failing"})
	key := client.ObjectKey{Namespace: dev.Namespace, Name: name}
	// Two OpenTofu runs (the VPC's apply, then the control plane's failing one): as long
	// as the other whole-stack waits, a deadline against a hang (one minute was missed
	// once with three race-built packages beside the stack).
	if _, err := w.Until(within(t, 5*time.Minute), func(dev.Snapshot) (bool, error) {
		cp := &controlplanev1.CAPTControlPlane{}
		cluster := &clusterv1.Cluster{}
		if err := stack.Client.Get(ctx, key, cp); err != nil {
			return false, err
		}
		if err := stack.Client.Get(ctx, key, cluster); err != nil {
			return false, err
		}
		return mentions(cp.Status.Conditions, controlplanev1.WorkspaceReadyCondition, failureMessage) &&
			mentions(cluster.Status.Conditions, clusterv1.ClusterControlPlaneAvailableCondition, failureMessage), nil
	}); err != nil {
		logConditions(t, key)
		t.Fatalf("the failed apply never showed on the CAPTControlPlane and the Cluster: %v", err)
	}
	cp := &controlplanev1.CAPTControlPlane{}
	get(t, key, cp)
	if cp.Status.Initialized || cp.Spec.ControlPlaneEndpoint.Host != "" {
		t.Errorf("a failed control plane is initialized (%v) or has an endpoint (%+v)", cp.Status.Initialized, cp.Spec.ControlPlaneEndpoint)
	}
	before := uids(t, w)

	// The fix: a new template version.
	patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"workspaceTemplateRef":{"name":"local-controlplane"}}}`))
	if err := stack.Client.Patch(ctx, cp, patch); err != nil {
		t.Fatal(err)
	}
	waitRecovered(t, w, before)
	get(t, key, cp)
	for _, c := range cp.Status.Conditions {
		if c.Status != metav1.ConditionTrue && c.Type != infrav1.PausedCondition && c.Type != infrav1.DeletingCondition && c.Type != controlplanev1.RollingOutCondition {
			t.Errorf("condition %s still %s after the fix: %s", c.Type, c.Status, c.Message)
		}
	}
	checkProvisioned(t, dev.Namespace, name)
	checkDeletion(t, w, name)
}

// vpcFailureMessage is what the failing VPC module's provisioner prints.
const vpcFailureMessage = "NAT gateway quota exhausted"

// TestFailedVPCRecovers creates a Cluster whose VPC module fails at apply, after it has
// created the VPC itself, as a real one does when a NAT gateway is over quota. The
// failure shows on the CAPTCluster's Ready (VPCFailed) and Cluster API's core manager
// mirrors that condition into the Cluster's InfrastructureReady, reason and message
// alike. Fixing the module in its WorkspaceTemplate recovers the Cluster without
// deleting or re-creating anything.
func TestFailedVPCRecovers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Not "broken-…": the view of the Cluster "broken" (TestFailedApplyRecovers, running
	// beside this one) takes the Secrets whose names start with "broken-" for its own.
	const name = "failing-vpc"
	key := client.ObjectKey{Namespace: dev.Namespace, Name: name}

	// The sample's VPC template with one resource more, that fails.
	working := &infrav1.WorkspaceTemplate{}
	get(t, client.ObjectKey{Namespace: dev.Namespace, Name: "local-vpc"}, working)
	template := &infrav1.WorkspaceTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: dev.Namespace, Name: name},
		Spec:       *working.Spec.DeepCopy(),
	}
	template.Spec.Template.Spec.ForProvider.Module += `
resource "terraform_data" "nat_gateway" {
  input = terraform_data.vpc.id
  provisioner "local-exec" {
    command = "echo '` + vpcFailureMessage + ` (this module fails on purpose)' >&2; exit 1"
  }
}
`
	if err := stack.Client.Create(ctx, template); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stack.Client.Delete(context.Background(), template) })
	w := createCluster(t, name, map[string]string{"CAPTCluster": name})

	// The CAPTCluster reports the failure. Each look reads into new objects: decoding
	// into an old one would keep the fields the new version omits.
	var cc *infrav1.CAPTCluster
	if _, err := w.Until(within(t, 2*time.Minute), func(dev.Snapshot) (bool, error) {
		cc = &infrav1.CAPTCluster{}
		if err := stack.Client.Get(ctx, key, cc); err != nil {
			return false, err
		}
		ready := meta.FindStatusCondition(cc.Status.Conditions, infrav1.ReadyCondition)
		return ready != nil && ready.Status == metav1.ConditionFalse && ready.Reason == infrav1.VPCFailedReason &&
			strings.Contains(ready.Message, vpcFailureMessage), nil
	}); err != nil {
		logConditions(t, key)
		t.Fatalf("the failed VPC apply never showed on the CAPTCluster's Ready: %v", err)
	}
	if cc.Status.Phase != infrav1.PhaseFailed || ptr.Deref(cc.Status.Initialization.Provisioned, false) || cc.Status.Ready {
		t.Errorf("failed CAPTCluster: phase %q, provisioned %v, ready %v; want Failed, not provisioned",
			cc.Status.Phase, ptr.Deref(cc.Status.Initialization.Provisioned, false), cc.Status.Ready)
	}
	if vpc := meta.FindStatusCondition(cc.Status.Conditions, infrav1.VPCReadyCondition); vpc == nil || vpc.Reason != infrav1.VPCFailedReason {
		t.Errorf("CAPTCluster VPCReady %+v, want reason %s", vpc, infrav1.VPCFailedReason)
	}

	// Cluster API mirrors the CAPTCluster's Ready into the Cluster's InfrastructureReady:
	// status, reason and message as they are (conditions.NewMirrorConditionFromUnstructured).
	var cluster *clusterv1.Cluster
	var infra *metav1.Condition
	if _, err := w.Until(within(t, time.Minute), func(dev.Snapshot) (bool, error) {
		cc, cluster = &infrav1.CAPTCluster{}, &clusterv1.Cluster{}
		if err := stack.Client.Get(ctx, key, cc); err != nil {
			return false, err
		}
		if err := stack.Client.Get(ctx, key, cluster); err != nil {
			return false, err
		}
		ready := meta.FindStatusCondition(cc.Status.Conditions, infrav1.ReadyCondition)
		infra = meta.FindStatusCondition(cluster.Status.Conditions, clusterv1.ClusterInfrastructureReadyCondition)
		return ready != nil && infra != nil && ready.Reason == infrav1.VPCFailedReason &&
			infra.Status == metav1.ConditionFalse && infra.Reason == ready.Reason && infra.Message == ready.Message, nil
	}); err != nil {
		logConditions(t, key)
		t.Fatalf("Cluster API never mirrored the CAPTCluster's VPCFailed into the Cluster's %s: %v", clusterv1.ClusterInfrastructureReadyCondition, err)
	}
	t.Logf("Cluster %s=%s %s: %s", infra.Type, infra.Status, infra.Reason, infra.Message)
	if !strings.Contains(infra.Message, vpcFailureMessage) {
		t.Errorf("Cluster %s message %q does not name the failure %q", infra.Type, infra.Message, vpcFailureMessage)
	}
	if ptr.Deref(cluster.Status.Initialization.InfrastructureProvisioned, false) {
		t.Error("Cluster API reports the infrastructure of a failed VPC provisioned")
	}
	before := uids(t, w)

	// The fix: the module without the failing resource.
	fixed := template.DeepCopy()
	fixed.Spec.Template.Spec.ForProvider.Module = working.Spec.Template.Spec.ForProvider.Module
	if err := stack.Client.Patch(ctx, fixed, client.MergeFrom(template)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Until(within(t, 5*time.Minute), func(dev.Snapshot) (bool, error) {
		cluster = &clusterv1.Cluster{}
		if err := stack.Client.Get(ctx, key, cluster); err != nil {
			return false, err
		}
		infra = meta.FindStatusCondition(cluster.Status.Conditions, clusterv1.ClusterInfrastructureReadyCondition)
		return infra != nil && infra.Status == metav1.ConditionTrue &&
			ptr.Deref(cluster.Status.Initialization.InfrastructureProvisioned, false), nil
	}); err != nil {
		logConditions(t, key)
		t.Fatalf("the Cluster's %s never became True after the fix: %v", clusterv1.ClusterInfrastructureReadyCondition, err)
	}
	t.Logf("Cluster %s=%s %s: %s", infra.Type, infra.Status, infra.Reason, infra.Message)
	if infra.Reason != infrav1.ReadyReason {
		t.Errorf("Cluster %s reason %q after the fix, want the CAPTCluster's %q", infra.Type, infra.Reason, infrav1.ReadyReason)
	}
	waitRecovered(t, w, before)
	cc = &infrav1.CAPTCluster{}
	get(t, key, cc)
	for _, c := range cc.Status.Conditions {
		if c.Status != metav1.ConditionTrue && c.Type != infrav1.PausedCondition && c.Type != infrav1.DeletingCondition {
			t.Errorf("CAPTCluster condition %s still %s after the fix: %s", c.Type, c.Status, c.Message)
		}
	}
	if cc.Status.Phase != infrav1.PhaseProvisioned {
		t.Errorf("CAPTCluster phase %q after the fix, want %s", cc.Status.Phase, infrav1.PhaseProvisioned)
	}
	checkProvisioned(t, dev.Namespace, name)
	checkDeletion(t, w, name)
}

// templateRefs are where the sample's kinds name their WorkspaceTemplate.
var templateRefs = map[string][]string{
	"CAPTCluster":      {"spec", "vpcTemplateRef", "name"},
	"CAPTControlPlane": {"spec", "workspaceTemplateRef", "name"},
}

// createCluster creates the sample Cluster of templates/local as name, each kind in
// templates (CAPTCluster, CAPTControlPlane) using the WorkspaceTemplate named there
// instead of the sample's, each object changed by edits, and returns a watcher of its
// objects.
func createCluster(t *testing.T, name string, templates map[string]string, edits ...func(*unstructured.Unstructured) error) *dev.Watcher {
	t.Helper()
	objs, err := dev.ReadObjects(dev.ClusterFile(root))
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objs {
		rename(t, obj, name)
		if template, ok := templates[obj.GetKind()]; ok {
			if err := unstructured.SetNestedField(obj.Object, template, templateRefs[obj.GetKind()]...); err != nil {
				t.Fatal(err)
			}
		}
		for _, edit := range edits {
			if err := edit(obj); err != nil {
				t.Fatal(err)
			}
		}
		if err := stack.Client.Create(context.Background(), obj); err != nil {
			t.Fatal(err)
		}
	}
	return watcher(t, name)
}

// waitRecovered waits until the Cluster is provisioned after a fix, and checks that no
// object of before (uids) was deleted or re-created on the way.
func waitRecovered(t *testing.T, w *dev.Watcher, before map[string]types.UID) {
	t.Helper()
	ctx := within(t, 5*time.Minute)
	if _, err := w.Until(ctx, func(dev.Snapshot) (bool, error) {
		return dev.Provisioned(ctx, stack.Client, w.Namespace, w.Cluster)
	}); err != nil {
		logConditions(t, client.ObjectKey{Namespace: w.Namespace, Name: w.Cluster})
		t.Fatalf("Cluster not provisioned after the fix: %v", err)
	}
	after := uids(t, w)
	for key, uid := range before {
		if after[key] != uid {
			t.Errorf("%s was deleted or re-created during the recovery", key)
		}
	}
}

// rename makes the sample's objects those of cluster name.
func rename(t *testing.T, obj *unstructured.Unstructured, name string) {
	t.Helper()
	obj.SetName(name)
	if obj.GetKind() != "Cluster" {
		return
	}
	for _, ref := range []string{"infrastructureRef", "controlPlaneRef"} {
		if err := unstructured.SetNestedField(obj.Object, name, "spec", ref, "name"); err != nil {
			t.Fatal(err)
		}
	}
}

// mentions says whether condition t is not True and its message contains text.
func mentions(conds []metav1.Condition, t, text string) bool {
	for _, c := range conds {
		if c.Type == t && c.Status != metav1.ConditionTrue && strings.Contains(c.Message, text) {
			return true
		}
	}
	return false
}

// uids maps each object of the view to its UID.
func uids(t *testing.T, w *dev.Watcher) map[string]types.UID {
	t.Helper()
	out := map[string]types.UID{}
	snap, err := dev.Observe(context.Background(), stack.Client, w.Namespace, w.Cluster)
	if err != nil {
		t.Fatal(err)
	}
	for key, o := range snap {
		if o.Kind != "Secret" {
			out[key] = o.UID
		}
	}
	return out
}

// logConditions logs the conditions of the CAPTCluster, the control plane and the
// Cluster, in full; one already deleted is said to be gone (it runs before the test's
// own failure message, which it must not replace).
func logConditions(t *testing.T, key client.ObjectKey) {
	for _, obj := range []interface {
		client.Object
		GetConditions() []metav1.Condition
	}{&infrav1.CAPTCluster{}, &controlplanev1.CAPTControlPlane{}, &clusterv1.Cluster{}} {
		kind := strings.TrimPrefix(fmt.Sprintf("%T", obj), "*v1beta1.")
		kind = strings.TrimPrefix(kind, "*v1beta2.")
		if err := stack.Client.Get(context.Background(), key, obj); err != nil {
			t.Logf("%s: %v", kind, err)
			continue
		}
		for _, c := range obj.GetConditions() {
			t.Logf("%s %s=%s %s: %s", kind, c.Type, c.Status, c.Reason, c.Message)
		}
	}
}
