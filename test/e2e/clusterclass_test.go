package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/dev"
)

// TestClusterClassPool creates the example ClusterClass and Cluster of
// templates/clusterclass on the stack, with the class's templates pointed at the local
// modules: Cluster API's real topology controller stamps out the Cluster's pool
// (MachinePool, CAPTMachinePool, CAPTNodeGroupBootstrap), its MachinePool controller takes
// the bootstrap config's empty data secret, and the MachinePool is Running with its 2
// Nodes Ready (provider-terraform, OpenTofu, KWOK).
func TestClusterClassPool(t *testing.T) {
	t.Parallel()
	const name = "topo"
	ctx := context.Background()
	local := map[string][]string{
		"CAPTClusterTemplate":      {"local-vpc", "spec", "template", "spec", "vpcTemplateRef", "name"},
		"CAPTControlPlaneTemplate": {"local-controlplane", "spec", "template", "spec", "workspaceTemplateRef", "name"},
		"CAPTMachinePoolTemplate":  {"local-nodegroup", "spec", "template", "spec", "workspaceTemplateRef", "name"},
	}
	for _, file := range []string{"clusterclass.yaml", "cluster.yaml"} {
		objs, err := dev.ReadObjects(filepath.Join(root, "templates", "clusterclass", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range objs {
			obj.SetNamespace(dev.Namespace)
			if ref, ok := local[obj.GetKind()]; ok {
				if err := unstructured.SetNestedField(obj.Object, ref[0], ref[1:]...); err != nil {
					t.Fatal(err)
				}
			}
			if obj.GetKind() == "CAPTControlPlaneTemplate" {
				// The local control plane module has no endpoint access variables.
				unstructured.RemoveNestedField(obj.Object, "spec", "template", "spec", "controlPlaneConfig")
			}
			if obj.GetKind() == "Cluster" {
				obj.SetName(name)
				// The stack's own version and its made-up region.
				if err := unstructured.SetNestedField(obj.Object, "v1.36.3", "spec", "topology", "version"); err != nil {
					t.Fatal(err)
				}
				if err := unstructured.SetNestedSlice(obj.Object, []any{map[string]any{"name": "region", "value": "zz-local-1"}}, "spec", "topology", "variables"); err != nil {
					t.Fatal(err)
				}
			}
			if err := stack.Client.Create(ctx, obj); err != nil {
				t.Fatalf("create %s %s: %v", obj.GetKind(), obj.GetName(), err)
			}
		}
	}
	w := watcher(t, name)
	var pool string
	if _, err := w.Until(within(t, 5*time.Minute), func(dev.Snapshot) (bool, error) {
		pools := &clusterv1.MachinePoolList{}
		if err := stack.Client.List(ctx, pools, client.InNamespace(dev.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: name}); err != nil {
			return false, err
		}
		if len(pools.Items) != 1 {
			return false, nil
		}
		pool = pools.Items[0].Name
		return dev.MachinePoolRunning(ctx, stack.Client, dev.Namespace, pool)
	}); err != nil {
		if pool != "" {
			logPool(t, client.ObjectKey{Namespace: dev.Namespace, Name: pool})
		}
		t.Fatalf("the topology's MachinePool %q not Running: %v", pool, err)
	}
	mp := &clusterv1.MachinePool{}
	get(t, client.ObjectKey{Namespace: dev.Namespace, Name: pool}, mp)
	if ref := mp.Spec.Template.Spec.Bootstrap.ConfigRef; ref.Kind != "CAPTNodeGroupBootstrap" || mp.Spec.Template.Spec.Bootstrap.DataSecretName == nil {
		t.Errorf("MachinePool bootstrap %+v: want a CAPTNodeGroupBootstrap and its empty data secret", mp.Spec.Template.Spec.Bootstrap)
	}
	cmp := &infrav1.CAPTMachinePool{}
	get(t, client.ObjectKey{Namespace: dev.Namespace, Name: mp.Spec.Template.Spec.InfrastructureRef.Name}, cmp)
	if len(cmp.Spec.ProviderIDList) != 2 || cmp.Status.ReadyReplicas != 2 || cmp.Status.Version != "v1.36.3" {
		t.Errorf("CAPTMachinePool %s: providerIDList %v, ready %d, version %q", cmp.Name, cmp.Spec.ProviderIDList, cmp.Status.ReadyReplicas, cmp.Status.Version)
	}
	t.Logf("the topology's MachinePool %s Running with 2 Nodes (CAPTMachinePool %s)", pool, cmp.Name)
}
