package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
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
	ctx := context.Background()
	const name = "broken"
	objs, err := dev.ReadObjects(dev.ClusterFile(root))
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objs {
		rename(t, obj, name)
		if obj.GetKind() == "CAPTControlPlane" {
			if err := unstructured.SetNestedField(obj.Object, "local-controlplane-failing", "spec", "workspaceTemplateRef", "name"); err != nil {
				t.Fatal(err)
			}
		}
		if err := stack.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	w := watcher(t, name)
	key := client.ObjectKey{Namespace: dev.Namespace, Name: name}
	if _, err := w.Until(within(t, time.Minute), func(dev.Snapshot) (bool, error) {
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
	if _, err := w.Until(within(t, 5*time.Minute), func(dev.Snapshot) (bool, error) {
		return dev.Provisioned(ctx, stack.Client, dev.Namespace, name)
	}); err != nil {
		t.Fatalf("Cluster not provisioned after the fix: %v", err)
	}
	after := uids(t, w)
	for key, uid := range before {
		if after[key] != uid {
			t.Errorf("%s was deleted or re-created during the recovery", key)
		}
	}
	get(t, key, cp)
	for _, c := range cp.Status.Conditions {
		if c.Status != metav1.ConditionTrue && c.Type != infrav1.PausedCondition && c.Type != infrav1.DeletingCondition {
			t.Errorf("condition %s still %s after the fix: %s", c.Type, c.Status, c.Message)
		}
	}
	checkProvisioned(t, name)
	checkDeletion(t, w, name)
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

// logConditions logs the conditions of the control plane and the Cluster, in full.
func logConditions(t *testing.T, key client.ObjectKey) {
	cp := &controlplanev1.CAPTControlPlane{}
	cluster := &clusterv1.Cluster{}
	get(t, key, cp)
	get(t, key, cluster)
	for _, c := range cp.Status.Conditions {
		t.Logf("CAPTControlPlane %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
	}
	for _, c := range cluster.Status.Conditions {
		t.Logf("Cluster %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
	}
}
