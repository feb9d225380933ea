package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/cmd/clusterctl/client/tree"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/dev"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestMachinePoolScalesAndGoesFirst creates the sample Cluster with its worker pool
// (templates/local/machinepool.yaml) and checks, with Cluster API's own MachinePool
// controller, provider-terraform and OpenTofu: the MachinePool is Running with 2 ready
// replicas, Nodes Cluster API matched by the providerIDs CAPT reports; scaled 2 → 3 → 1,
// status.readyReplicas follows, and so do the Nodes; deleted with its Cluster, the node
// group's Workspace is gone before the control plane's apply starts its deletion (by
// etcd revision), and nothing is left, Nodes included.
func TestMachinePoolScalesAndGoesFirst(t *testing.T) {
	t.Parallel()
	const name = "workers"
	pool := name + "-pool-0"
	ctx := context.Background()
	w := createCluster(t, name, nil)
	objs, err := dev.ReadObjects(dev.MachinePoolFile(root))
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objs {
		renamePool(t, obj, name, pool)
		if err := stack.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	key := client.ObjectKey{Namespace: dev.Namespace, Name: pool}
	for _, replicas := range []int32{2, 3, 1} {
		if replicas != 2 {
			mp := &clusterv1.MachinePool{}
			get(t, key, mp)
			base := mp.DeepCopy()
			mp.Spec.Replicas = ptr.To(replicas)
			if err := stack.Client.Patch(ctx, mp, client.MergeFrom(base)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Until(within(t, 5*time.Minute), func(dev.Snapshot) (bool, error) {
			return dev.MachinePoolRunning(ctx, stack.Client, dev.Namespace, pool)
		}); err != nil {
			logPool(t, key)
			t.Fatalf("MachinePool not Running with %d replicas: %v", replicas, err)
		}
		checkPoolNodes(t, key, replicas)
		if replicas == 2 {
			checkDescribed(t, name, pool)
		}
	}
	// The node group Workspace goes before the control plane's apply starts its deletion.
	api := workspace.DefaultAPI()
	ngWorkspace := "Workspace/" + render.WorkspaceName(api, dev.Namespace, pool+"-nodegroup")
	checkDeletion(t, w, name,
		[2]string{"MachinePool/" + pool + " deleting", ngWorkspace + " deleting"},
		[2]string{ngWorkspace + " gone", "WorkspaceTemplateApply/" + name + "-controlplane deleting"},
		[2]string{"CAPTMachinePool/" + pool + " gone", "CAPTControlPlane/" + name + " gone"},
	)
	nodes := &corev1.NodeList{}
	if err := stack.Client.List(ctx, nodes, client.MatchingLabels{"eks.amazonaws.com/nodegroup": name + "-" + pool}); err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 0 {
		t.Errorf("%d Nodes of the node group left after the deletion", len(nodes.Items))
	}
}

// renamePool makes the sample pool's objects pool's, in Cluster cluster.
func renamePool(t *testing.T, obj *unstructured.Unstructured, cluster, pool string) {
	t.Helper()
	obj.SetName(pool)
	obj.SetLabels(map[string]string{clusterv1.ClusterNameLabel: cluster})
	if obj.GetKind() != "MachinePool" {
		return
	}
	for path, v := range map[*[]string]string{
		{"spec", "clusterName"}: cluster, {"spec", "template", "spec", "clusterName"}: cluster,
		{"spec", "template", "spec", "infrastructureRef", "name"}: pool,
	} {
		if err := unstructured.SetNestedField(obj.Object, v, *path...); err != nil {
			t.Fatal(err)
		}
	}
}

// checkPoolNodes: the CAPTMachinePool reports replicas Nodes, their providerIDs those of
// the node group's Nodes, and Cluster API references each of them from the MachinePool.
func checkPoolNodes(t *testing.T, key client.ObjectKey, replicas int32) {
	t.Helper()
	ctx := context.Background()
	cmp := &infrav1.CAPTMachinePool{}
	get(t, key, cmp)
	nodes := &corev1.NodeList{}
	if err := stack.Client.List(ctx, nodes, client.MatchingLabels{"eks.amazonaws.com/nodegroup": cmp.Status.NodeGroupName}); err != nil {
		t.Fatal(err)
	}
	ids, names := make([]string, 0, len(nodes.Items)), make([]string, 0, len(nodes.Items))
	for _, n := range nodes.Items {
		ids, names = append(ids, n.Spec.ProviderID), append(names, n.Name)
	}
	slices.Sort(ids)
	if !slices.Equal(cmp.Spec.ProviderIDList, ids) || cmp.Status.Replicas != replicas || cmp.Status.ReadyReplicas != replicas || !cmp.Status.Ready {
		t.Fatalf("CAPTMachinePool: providerIDList %v (Nodes %v), replicas %d, ready %d, status.ready %v; want %d",
			cmp.Spec.ProviderIDList, ids, cmp.Status.Replicas, cmp.Status.ReadyReplicas, cmp.Status.Ready, replicas)
	}
	mp := &clusterv1.MachinePool{}
	get(t, key, mp)
	refs := make([]string, 0, len(mp.Status.NodeRefs))
	for _, r := range mp.Status.NodeRefs {
		refs = append(refs, r.Name)
	}
	slices.Sort(refs)
	slices.Sort(names)
	if !slices.Equal(refs, names) {
		t.Fatalf("MachinePool nodeRefs %v, want the node group's Nodes %v", refs, names)
	}
	t.Logf("MachinePool Running, %d of %d ready (Cluster API), Nodes %v", ptr.Deref(mp.Status.ReadyReplicas, 0), replicas, names)
}

func logPool(t *testing.T, key client.ObjectKey) {
	cmp, mp := &infrav1.CAPTMachinePool{}, &clusterv1.MachinePool{}
	if err := stack.Client.Get(context.Background(), key, cmp); err == nil {
		for _, c := range cmp.Status.Conditions {
			t.Logf("CAPTMachinePool %s=%s (%s) %s", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	if err := stack.Client.Get(context.Background(), key, mp); err == nil {
		t.Logf("MachinePool phase %s, readyReplicas %d, nodeRefs %d", mp.Status.Phase, ptr.Deref(mp.Status.ReadyReplicas, 0), len(mp.Status.NodeRefs))
		for _, c := range mp.Status.Conditions {
			t.Logf("MachinePool %s=%s (%s) %s", c.Type, c.Status, c.Reason, fmt.Sprint(c.Message))
		}
	}
}

// checkDescribed: clusterctl describe cluster (its own discovery, the tree it prints)
// shows the pool under the Cluster's workers, with the CAPTMachinePool as its
// infrastructure.
func checkDescribed(t *testing.T, cluster, pool string) {
	t.Helper()
	objs, err := tree.Discovery(context.Background(), stack.Client, dev.Namespace, cluster, tree.DiscoverOptions{Echo: true})
	if err != nil {
		t.Fatal(err)
	}
	var shown []string
	var walk func(parent client.Object, depth int)
	walk = func(parent client.Object, depth int) {
		for _, child := range objs.GetObjectsByParent(parent.GetUID()) {
			shown = append(shown, fmt.Sprintf("%s%s/%s", strings.Repeat("  ", depth), child.GetObjectKind().GroupVersionKind().Kind, child.GetName()))
			walk(child, depth+1)
		}
	}
	walk(objs.GetRoot(), 0)
	t.Logf("clusterctl describe cluster %s:\n%s", cluster, strings.Join(shown, "\n"))
	var mp client.Object
	for _, o := range objs.GetObjectsByParent(objs.GetRoot().GetUID()) {
		for _, w := range objs.GetObjectsByParent(o.GetUID()) {
			if w.GetObjectKind().GroupVersionKind().Kind == "MachinePool" && w.GetName() == pool {
				mp = w
			}
		}
	}
	if mp == nil {
		t.Fatalf("clusterctl describe shows no MachinePool %s under the Cluster's workers", pool)
	}
	infra := objs.GetObjectsByParent(mp.GetUID())
	if len(infra) != 1 || infra[0].GetObjectKind().GroupVersionKind().Kind != "CAPTMachinePool" {
		t.Fatalf("clusterctl describe shows %v under MachinePool %s, want its CAPTMachinePool", shown, pool)
	}
}
