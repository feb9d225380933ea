package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/dev"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestUpgradeStepsThreeMinors creates a Cluster whose control plane runs v1.29, raises
// spec.version to v1.32 and checks, with provider-terraform applying each step with
// OpenTofu, that the control plane's Workspace is asked for 1.30, 1.31 and 1.32 in that
// order, each only once it has applied the one before; that status.version names each
// minor reached; that the CAPTControlPlane says RollingOut and Cluster API mirrors it into
// the Cluster's RollingOut, while the control plane stays Available throughout. Every
// write is recorded by a watch and checked by its etcd revision, not by when a poll
// happened to see it.
func TestUpgradeStepsThreeMinors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const (
		name   = "upgrade"
		from   = "v1.29"
		target = "v1.32"
	)
	key := client.ObjectKey{Namespace: dev.Namespace, Name: name}
	gates := gatedControlPlane(t, name)
	gates.open(t, "1.29")
	w := createCluster(t, name, map[string]string{"CAPTControlPlane": name}, func(obj *unstructured.Unstructured) error {
		if obj.GetKind() != "CAPTControlPlane" {
			return nil
		}
		// Set at creation: a version raised before initialization is not stepped.
		return unstructured.SetNestedField(obj.Object, from, "spec", "version")
	})
	if _, err := w.Until(within(t, 5*time.Minute), func(dev.Snapshot) (bool, error) {
		return dev.Provisioned(ctx, stack.Client, dev.Namespace, name)
	}); err != nil {
		logConditions(t, key)
		t.Fatalf("Cluster not provisioned: %v", err)
	}
	cp := &controlplanev1.CAPTControlPlane{}
	get(t, key, cp)
	if cp.Status.Version != from {
		t.Fatalf("CAPTControlPlane status.version %q once provisioned, want %s", cp.Status.Version, from)
	}
	wsKey := client.ObjectKey{Name: render.WorkspaceName(workspace.DefaultAPI(), dev.Namespace, name+"-controlplane")}
	wsName := wsKey.Name
	ws := workspace.DefaultAPI().NewObject()
	get(t, wsKey, ws)
	if got := appliedVersion(ws); got != "1.29" {
		t.Fatalf("Workspace %s reports kubernetes_version %q applied, want 1.29", wsName, got)
	}

	// The watches start before the change, so they see every write it brings, beginning
	// with each object as it is now.
	wsList := workspace.DefaultAPI().NewList()
	cpList, clusterList := &controlplanev1.CAPTControlPlaneList{}, &clusterv1.ClusterList{}
	env := &testenv.Env{Config: stack.Config, Scheme: stack.Client.Scheme()}
	log := env.WatchRevisions(t, "", wsList, cpList, clusterList)

	patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"version":"`+target+`"}}`))
	if err := stack.Client.Patch(ctx, cp, patch); err != nil {
		t.Fatal(err)
	}
	patched := revision(t, cp)
	t.Logf("spec.version %s -> %s at revision %d", from, target, patched)

	// The first step is held at its gate: the Workspace is asked for 1.30 and, not having
	// applied it, for nothing further, however long it takes; meanwhile Cluster API
	// mirrors RollingOut into the Cluster (it reconciles a second or so after a change: a
	// step that went faster could pass unseen).
	if _, err := w.Until(within(t, 5*time.Minute), func(dev.Snapshot) (bool, error) {
		ws, cluster := workspace.DefaultAPI().NewObject(), &clusterv1.Cluster{}
		if err := stack.Client.Get(ctx, wsKey, ws); err != nil {
			return false, err
		}
		if v := kubernetesVersion(ws); v != "1.29" && v != "1.30" {
			return false, fmt.Errorf("Workspace %s asked for %q while 1.30, held at its gate, is not applied (it reports %q applied)", wsName, v, appliedVersion(ws))
		}
		if err := stack.Client.Get(ctx, key, cluster); err != nil {
			return false, err
		}
		return meta.IsStatusConditionTrue(cluster.Status.Conditions, clusterv1.ClusterRollingOutCondition), nil
	}); err != nil {
		logConditions(t, key)
		t.Fatalf("while the step to 1.30 was held: %v", err)
	}
	gates.open(t, "1.30", "1.31", "1.32")

	// Done: the control plane runs the target and says so, Ready on its current
	// generation, and Cluster API has seen the rollout end.
	if _, err := w.Until(within(t, 10*time.Minute), func(dev.Snapshot) (bool, error) {
		cp, cluster := &controlplanev1.CAPTControlPlane{}, &clusterv1.Cluster{}
		if err := stack.Client.Get(ctx, key, cp); err != nil {
			return false, err
		}
		if err := stack.Client.Get(ctx, key, cluster); err != nil {
			return false, err
		}
		provisioned, err := dev.Provisioned(ctx, stack.Client, dev.Namespace, name)
		return provisioned && cp.Status.Version == target &&
			meta.IsStatusConditionFalse(cp.Status.Conditions, controlplanev1.RollingOutCondition) &&
			meta.IsStatusConditionFalse(cluster.Status.Conditions, clusterv1.ClusterRollingOutCondition), err
	}); err != nil {
		logConditions(t, key)
		t.Fatalf("the upgrade to %s never completed: %v", target, err)
	}
	// The last writes reach the watches a moment after a read sees them.
	cp = &controlplanev1.CAPTControlPlane{}
	get(t, key, cp)
	ws = workspace.DefaultAPI().NewObject()
	get(t, wsKey, ws)
	cluster := &clusterv1.Cluster{}
	get(t, key, cluster)
	waitRecorded(t, log, wsList, ws)
	waitRecorded(t, log, cpList, cp)
	waitRecorded(t, log, clusterList, cluster)

	t.Run("one minor at a time", func(t *testing.T) {
		checkVersionSteps(t, log.Changes(wsList), wsName, []string{"1.29", "1.30", "1.31", "1.32"})
	})
	t.Run("status follows the Workspace", func(t *testing.T) {
		checkStatusVersions(t, log.Changes(cpList), log.Changes(wsList), name, wsName, patched,
			[]string{"v1.29", "v1.30", "v1.31", "v1.32"})
	})
	t.Run("RollingOut and Available", func(t *testing.T) {
		checkRollingOut(t, log.Changes(cpList), log.Changes(clusterList), name, patched, target,
			"Upgrading to v1.32 one minor version at a time: running v1.29, applying v1.30")
	})
	log.Stop()
	checkDeletion(t, w, name)
}

// gates hold each version's apply of a gated control plane until the test opens them.
type gates string

// gatedControlPlane creates the WorkspaceTemplate name: the sample's control plane
// module, plus a resource replaced with each kubernetes_version whose apply waits for
// that version's gate, and the kubernetes_version output that says what was applied.
// provider-terraform runs OpenTofu on this machine, so a gate is a file. Every gate opens
// when the test ends: no apply stays blocked.
func gatedControlPlane(t *testing.T, name string) gates {
	t.Helper()
	g := gates(t.TempDir())
	t.Cleanup(func() { g.open(t, "1.29", "1.30", "1.31", "1.32") })
	working := &infrav1.WorkspaceTemplate{}
	get(t, client.ObjectKey{Namespace: dev.Namespace, Name: "local-controlplane"}, working)
	template := &infrav1.WorkspaceTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: dev.Namespace, Name: name},
		Spec:       *working.Spec.DeepCopy(),
	}
	template.Spec.Template.Spec.ForProvider.Module += `
# The upgrade test's gate: each version's apply waits until the test opens it.
resource "terraform_data" "upgrade_gate" {
  input            = var.kubernetes_version
  triggers_replace = var.kubernetes_version
  provisioner "local-exec" {
    command = "until [ -e '` + string(g) + `/${self.input}' ]; do sleep 0.2; done"
  }
}

# What the cluster runs once an apply is done: provider-terraform writes outputs to the
# Workspace's status only after OpenTofu has applied.
output "kubernetes_version" { value = terraform_data.upgrade_gate.output }
`
	if err := stack.Client.Create(context.Background(), template); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stack.Client.Delete(context.Background(), template) })
	return g
}

// open lets the applies of versions finish.
func (g gates) open(t *testing.T, versions ...string) {
	for _, v := range versions {
		if err := os.WriteFile(filepath.Join(string(g), v), nil, 0o600); err != nil {
			t.Error(err)
		}
	}
}

// kubernetesVersion is the version a Workspace is asked to apply: the variable the
// WorkspaceTemplateApply renders into its varmap.
func kubernetesVersion(obj client.Object) string {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return ""
	}
	v, _, _ := unstructured.NestedString(u.Object, "spec", "forProvider", "varmap", "kubernetes_version")
	return v
}

// appliedVersion is the version the Workspace's last apply ran with: the gated module's
// kubernetes_version output, which provider-terraform writes to the status only after
// OpenTofu has applied. provider-terraform v0.21.2 reports no observedGeneration, and
// its Ready stays True from the apply before a spec change, so Ready alone cannot say
// which version was applied.
func appliedVersion(obj client.Object) string {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return ""
	}
	v, _, _ := unstructured.NestedString(u.Object, "status", "atProvider", "outputs", "kubernetes_version")
	return v
}

// providerConditions are the Workspace's Ready and Synced, as provider-terraform set them.
func providerConditions(obj client.Object) string {
	typed, err := workspace.FromUnstructured(obj.(*unstructured.Unstructured))
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, c := range typed.Status.Conditions {
		out = append(out, fmt.Sprintf("%s=%s(%s, since %s, observedGeneration %d)", c.Type, c.Status, c.Reason, c.LastTransitionTime.UTC().Format(time.TimeOnly), c.ObservedGeneration))
	}
	return fmt.Sprintf("status.observedGeneration %d, %s", typed.Status.ObservedGeneration, strings.Join(out, " "))
}

// applied maps each version to the first revision at which the Workspace reported it
// applied.
func applied(changes []testenv.Change, wsName string) map[string]int64 {
	out := map[string]int64{}
	for _, c := range changes {
		if c.Object.GetName() != wsName || c.Type == watch.Deleted {
			continue
		}
		if v := appliedVersion(c.Object); v != "" {
			if _, ok := out[v]; !ok {
				out[v] = c.Revision
			}
		}
	}
	return out
}

// checkVersionSteps: the Workspace was asked for exactly the versions want, in that
// order, each only after it had applied the one before: the step EKS refuses to skip.
func checkVersionSteps(t *testing.T, changes []testenv.Change, wsName string, want []string) {
	done := applied(changes, wsName)
	var seen []string
	for _, c := range changes {
		if c.Object.GetName() != wsName || c.Type == watch.Deleted {
			continue
		}
		v := kubernetesVersion(c.Object)
		// Every revision, for a person reading a failure: what provider-terraform said when.
		t.Logf("revision %-6d Workspace generation %d, asked for %q, applied %q, %s", c.Revision, c.Object.GetGeneration(), v, appliedVersion(c.Object), providerConditions(c.Object))
		if len(seen) > 0 && seen[len(seen)-1] == v {
			continue
		}
		if len(seen) > 0 {
			prev := seen[len(seen)-1]
			if rev, ok := done[prev]; !ok || rev > c.Revision {
				t.Errorf("Workspace asked for %q at revision %d before it applied %q (applied at revision %d, 0: never)", v, c.Revision, prev, rev)
			}
		}
		seen = append(seen, v)
	}
	for _, v := range want {
		if rev, ok := done[v]; ok {
			t.Logf("revision %-6d Workspace %s applied %q", rev, wsName, v)
		}
	}
	if !slices.Equal(seen, want) {
		t.Errorf("Workspace %s kubernetes_version went %q, want %q", wsName, seen, want)
	}
	if _, ok := done[want[len(want)-1]]; !ok {
		t.Errorf("Workspace %s never applied %q", wsName, want[len(want)-1])
	}
}

// checkStatusVersions: from the patch on, the CAPTControlPlane's status.version took
// exactly want, each only once its Workspace had applied that version (the version
// reached, not the one asked for).
func checkStatusVersions(t *testing.T, cpChanges, wsChanges []testenv.Change, name, wsName string, from int64, want []string) {
	done := applied(wsChanges, wsName)
	var seen []string
	for _, c := range cpChanges {
		cp, ok := c.Object.(*controlplanev1.CAPTControlPlane)
		if !ok || cp.Name != name || c.Type == watch.Deleted || c.Revision < from {
			continue
		}
		v := cp.Status.Version
		if len(seen) > 0 && seen[len(seen)-1] == v {
			continue
		}
		seen = append(seen, v)
		t.Logf("revision %-6d CAPTControlPlane status.version %q", c.Revision, v)
		if len(seen) == 1 {
			continue // what it ran before the patch
		}
		switch rev, ok := done[strings.TrimPrefix(v, "v")]; {
		case !ok:
			t.Errorf("status.version %q at revision %d: the Workspace never applied it", v, c.Revision)
		case rev > c.Revision:
			t.Errorf("status.version %q at revision %d, before the Workspace applied it at revision %d", v, c.Revision, rev)
		}
	}
	if !slices.Equal(seen, want) {
		t.Errorf("CAPTControlPlane status.version went %q, want %q", seen, want)
	}
}

// checkRollingOut: at every revision of the CAPTControlPlane from the patch on, it is
// Available; RollingOut turns True (first with message) and stays True until
// status.version reaches target, where it turns False; and Cluster API's Cluster
// controller mirrors it into the Cluster's RollingOut at least once.
func checkRollingOut(t *testing.T, cpChanges, clusterChanges []testenv.Change, name string, from int64, target, message string) {
	var first, last *metav1.Condition
	revisions := 0
	for _, c := range cpChanges {
		cp, ok := c.Object.(*controlplanev1.CAPTControlPlane)
		if !ok || cp.Name != name || c.Type == watch.Deleted || c.Revision < from {
			continue
		}
		revisions++
		if a := meta.FindStatusCondition(cp.Status.Conditions, controlplanev1.AvailableCondition); a == nil || a.Status != metav1.ConditionTrue {
			t.Errorf("revision %d: CAPTControlPlane not Available during the upgrade: %+v", c.Revision, a)
		}
		r := meta.FindStatusCondition(cp.Status.Conditions, controlplanev1.RollingOutCondition)
		if r == nil {
			t.Errorf("revision %d: CAPTControlPlane has no RollingOut condition", c.Revision)
			continue
		}
		switch {
		case first == nil && r.Status == metav1.ConditionTrue:
			first = r
			t.Logf("revision %-6d CAPTControlPlane RollingOut=True %s: %s", c.Revision, r.Reason, r.Message)
		case first != nil && cp.Status.Version != target && r.Status != metav1.ConditionTrue:
			t.Errorf("revision %d: RollingOut %s (%s) while running %s, short of %s", c.Revision, r.Status, r.Reason, cp.Status.Version, target)
		}
		last = r
	}
	t.Logf("%d revisions of the CAPTControlPlane during the upgrade", revisions)
	switch {
	case first == nil:
		t.Error("the CAPTControlPlane never said RollingOut=True")
	case first.Reason != controlplanev1.RollingOutReason || first.Message != message:
		t.Errorf("first RollingOut %s: %q, want %s: %q", first.Reason, first.Message, controlplanev1.RollingOutReason, message)
	}
	if last == nil || last.Status != metav1.ConditionFalse {
		t.Errorf("RollingOut at the end of the upgrade: %+v, want False", last)
	}

	var mirrored *metav1.Condition
	for _, c := range clusterChanges {
		cluster, ok := c.Object.(*clusterv1.Cluster)
		if !ok || cluster.Name != name || c.Revision < from {
			continue
		}
		if r := meta.FindStatusCondition(cluster.Status.Conditions, clusterv1.ClusterRollingOutCondition); r != nil && r.Status == metav1.ConditionTrue {
			mirrored = r
			t.Logf("revision %-6d Cluster RollingOut=True %s: %s", c.Revision, r.Reason, r.Message)
			break
		}
	}
	if mirrored == nil {
		t.Error("Cluster API never mirrored RollingOut=True into the Cluster")
	} else if !strings.Contains(mirrored.Message, "Upgrading to "+target) {
		t.Errorf("the Cluster's RollingOut message %q does not name the upgrade to %s", mirrored.Message, target)
	}
}

// revision is obj's resourceVersion as the etcd revision of its last write.
func revision(t *testing.T, obj client.Object) int64 {
	t.Helper()
	var rev int64
	if _, err := fmt.Sscan(obj.GetResourceVersion(), &rev); err != nil {
		t.Fatalf("%s has resourceVersion %q", obj.GetName(), obj.GetResourceVersion())
	}
	return rev
}

// waitRecorded waits until the watch of list has delivered obj's current version.
func waitRecorded(t *testing.T, log *testenv.RevisionLog, list client.ObjectList, obj client.Object) {
	t.Helper()
	want := revision(t, obj)
	ctx := within(t, time.Minute)
	for {
		for _, c := range log.Changes(list) {
			if c.Object.GetName() == obj.GetName() && c.Revision >= want {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the watch never delivered %s at revision %d", obj.GetName(), want)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
