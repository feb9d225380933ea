package e2e

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/capt-dev/capt/internal/dev"
	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestLocalNodeGroupNodes applies templates/local's local-nodegroup module through
// provider-terraform, without CAPT: its provisioners run `capt dev-node` (bin/capt, linked
// on provider-terraform's PATH), which registers one fake Node per desired node, and the
// stack's KWOK makes them Ready (kube-controller-manager then lifts the not-ready
// taint). Scaling 2 → 3 → 1 adds and removes the Nodes of the highest indexes; a label
// change reaches the Nodes; deleting the Workspace removes every Node.
func TestLocalNodeGroupNodes(t *testing.T) {
	t.Parallel()
	ctx := within(t, 4*time.Minute)
	tmpl := &unstructured.Unstructured{}
	tmpl.SetGroupVersionKind(schema.GroupVersionKind{Group: "infrastructure.cluster.x-k8s.io", Version: "v1beta1", Kind: "WorkspaceTemplate"})
	get(t, client.ObjectKey{Namespace: dev.Namespace, Name: "local-nodegroup"}, tmpl)
	module, _, err := unstructured.NestedString(tmpl.Object, "spec", "template", "spec", "forProvider", "module")
	if err != nil || module == "" {
		t.Fatalf("local-nodegroup has no inline module: %v", err)
	}

	const group = "ng-e2e-workers"
	vars := map[string]string{
		"cluster_name": "ng-e2e", "cluster_namespace": dev.Namespace, "node_group_name": "workers",
		"region": "zz-local-1", "kubernetes_version": "", "subnet_ids": `["subnet-a","subnet-b"]`,
		"instance_types": `["m5.large","m5.xlarge"]`, "capacity_type": "SPOT", "ami_type": "", "disk_size": "",
		"min_size": "1", "max_size": "5", "desired_size": "2", "max_unavailable": "1",
		"labels": `{"team":"a"}`, "taints": `[{"key":"dedicated","value":"gpu","effect":"NO_SCHEDULE"}]`, "tags": `{}`,
	}
	api := workspace.DefaultAPI()
	ws := api.NewObject()
	ws.SetName("ng-e2e-workers")
	setSpec := func() {
		t.Helper()
		list := make([]any, 0, len(vars))
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			list = append(list, map[string]any{"key": k, "value": vars[k]})
		}
		for path, v := range map[string]any{"source": "Inline", "module": module, "vars": list} {
			if err := unstructured.SetNestedField(ws.Object, v, "spec", "forProvider", path); err != nil {
				t.Fatal(err)
			}
		}
		if err := unstructured.SetNestedField(ws.Object, localstack.ProviderConfigName, "spec", "providerConfigRef", "name"); err != nil {
			t.Fatal(err)
		}
	}
	setSpec()
	start := time.Now()
	if err := stack.Client.Create(ctx, ws); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stack.Client.Delete(context.Background(), ws) })

	// want is the group's Nodes for size n, by the module's deterministic names and IDs.
	waitNodes := func(n int, team string) {
		t.Helper()
		want := map[string]string{}
		for i := range n {
			name := fmt.Sprintf("%s-%d", group, i)
			sum := sha1.Sum([]byte(name)) // as the module derives the provider ID
			want[name] = "aws:///zz-local-1a/i-" + hex.EncodeToString(sum[:])[:17]
		}
		var last string
		for {
			nodes := &corev1.NodeList{}
			if err := stack.Client.List(ctx, nodes, client.MatchingLabels{"eks.amazonaws.com/nodegroup": group}); err != nil {
				t.Fatal(err)
			}
			last = describeNodes(nodes.Items)
			if nodesAre(nodes.Items, want, team) && workspaceSize(ctx, t, ws.GetName()) == n {
				t.Logf("%d Nodes Ready, labelled team=%s, %s after the change: %s", n, team, time.Since(start).Round(100*time.Millisecond), last)
				return
			}
			select {
			case <-ctx.Done():
				logWorkspace(t, ws.GetName())
				t.Fatalf("want Nodes %v Ready with team=%s; have %s", want, team, last)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	waitNodes(2, "a")

	change := func(kv ...string) {
		t.Helper()
		get(t, client.ObjectKeyFromObject(ws), ws)
		for i := 0; i+1 < len(kv); i += 2 {
			vars[kv[i]] = kv[i+1]
		}
		setSpec()
		start = time.Now()
		if err := stack.Client.Update(ctx, ws); err != nil {
			t.Fatal(err)
		}
	}
	change("desired_size", "3")
	waitNodes(3, "a")
	change("desired_size", "1")
	waitNodes(1, "a")
	change("labels", `{"team":"b"}`)
	waitNodes(1, "b")
	// An autoscaler owns the size (desired_size ""): the group has min_size Nodes.
	change("desired_size", "", "min_size", "2")
	waitNodes(2, "b")

	start = time.Now()
	if err := stack.Client.Delete(ctx, ws); err != nil {
		t.Fatal(err)
	}
	for {
		nodes := &corev1.NodeList{}
		if err := stack.Client.List(ctx, nodes, client.MatchingLabels{"eks.amazonaws.com/nodegroup": group}); err != nil {
			t.Fatal(err)
		}
		err := stack.Client.Get(ctx, client.ObjectKeyFromObject(ws), api.NewObject())
		if len(nodes.Items) == 0 && apierrors.IsNotFound(err) {
			t.Logf("Workspace and Nodes gone %s after the deletion", time.Since(start).Round(100*time.Millisecond))
			return
		}
		select {
		case <-ctx.Done():
			logWorkspace(t, ws.GetName())
			t.Fatalf("after the Workspace's deletion: Nodes %s, Workspace %v", describeNodes(nodes.Items), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// nodesAre says whether nodes are exactly want (name → providerID), each Ready, without
// the not-ready taint, with the module's labels and taint.
func nodesAre(nodes []corev1.Node, want map[string]string, team string) bool {
	if len(nodes) != len(want) {
		return false
	}
	for _, n := range nodes {
		l := n.Labels
		if want[n.Name] == "" || n.Spec.ProviderID != want[n.Name] || !nodeReady(n) ||
			n.Annotations[localstack.KWOKNodeAnnotation] != localstack.KWOKNodeAnnotationValue ||
			l["team"] != team || l["eks.amazonaws.com/capacityType"] != "SPOT" || l["node.kubernetes.io/instance-type"] != "m5.large" ||
			len(n.Spec.Taints) != 1 || n.Spec.Taints[0] != (corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}) {
			return false
		}
	}
	return true
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func describeNodes(nodes []corev1.Node) string {
	s := fmt.Sprintf("%d:", len(nodes))
	for _, n := range nodes {
		s += fmt.Sprintf(" %s(%s ready=%v team=%s taints=%v)", n.Name, n.Spec.ProviderID, nodeReady(n), n.Labels["team"], n.Spec.Taints)
	}
	return s
}

// workspaceSize is the Workspace's desired_size output once it is Ready for its current
// spec, else -1.
func workspaceSize(ctx context.Context, t *testing.T, name string) int {
	t.Helper()
	u := workspace.DefaultAPI().NewObject()
	if err := stack.Client.Get(ctx, client.ObjectKey{Name: name}, u); err != nil {
		t.Fatal(err)
	}
	w, err := workspace.FromUnstructured(u)
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := w.Output("desired_size")
	if !w.IsReady() || !w.ObservedCurrentSpec() || !ok {
		return -1
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil {
		return -1
	}
	return n
}

func logWorkspace(t *testing.T, name string) {
	t.Helper()
	u := workspace.DefaultAPI().NewObject()
	if err := stack.Client.Get(context.Background(), client.ObjectKey{Name: name}, u); err == nil {
		status, _, _ := unstructured.NestedFieldNoCopy(u.Object, "status")
		t.Logf("Workspace %s status: %v", name, status)
	}
}
