package install

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// bootstrapCRDs are the pools' bootstrap kinds (docs/machinepool.md): shipped by the
// infrastructure provider.
var bootstrapCRDs = []string{
	"captnodegroupbootstraps.bootstrap.cluster.x-k8s.io",
	"captnodegroupbootstraptemplates.bootstrap.cluster.x-k8s.io",
}

// checkBootstrapKinds checks an install path's objects for the bootstrap kinds: both
// CRDs with the labels Cluster API reads the contract from (v1beta1 and v1beta2, both
// implemented by v1beta1) and clusterctl move's label, and an aggregated ClusterRole that
// gives Cluster API's core manager both kinds (the topology controller creates them, the
// MachinePool controller sets their owner and reads their status).
func checkBootstrapKinds(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	found := map[string]bool{}
	aggregated := false
	for _, o := range objs {
		switch o.GetKind() {
		case "CustomResourceDefinition":
			if !slices.Contains(bootstrapCRDs, o.GetName()) {
				continue
			}
			found[o.GetName()] = true
			checkContractLabels(t, o.GetName(), o.GetLabels())
		case "ClusterRole":
			if o.GetLabels()["cluster.x-k8s.io/aggregate-to-manager"] == "true" && grants(o, "bootstrap.cluster.x-k8s.io", "captnodegroupbootstraps", "captnodegroupbootstraptemplates") {
				aggregated = true
			}
		}
	}
	for _, name := range bootstrapCRDs {
		if !found[name] {
			t.Errorf("CRD %s is not installed", name)
		}
	}
	if !aggregated {
		t.Errorf("no ClusterRole aggregated to Cluster API's manager grants the bootstrap kinds")
	}
}

// checkContractLabels: Cluster API reads which contract a kind implements from its CRD's
// labels, and clusterctl move finds the kinds to move by clusterctl's label.
func checkContractLabels(t *testing.T, crd string, labels map[string]string) {
	t.Helper()
	for k, want := range map[string]string{"cluster.x-k8s.io/v1beta1": "v1beta1", "cluster.x-k8s.io/v1beta2": "v1beta1"} {
		if labels[k] != want {
			t.Errorf("CRD %s: label %s=%q, want %q", crd, k, labels[k], want)
		}
	}
	if _, ok := labels["clusterctl.cluster.x-k8s.io"]; !ok {
		t.Errorf("CRD %s lacks the label clusterctl.cluster.x-k8s.io", crd)
	}
}

// grants says a ClusterRole lets its subject create, read and update resources of group.
func grants(role *unstructured.Unstructured, group string, resources ...string) bool {
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	left := slices.Clone(resources)
	for _, r := range rules {
		rule, _ := r.(map[string]any)
		groups, _, _ := unstructured.NestedStringSlice(rule, "apiGroups")
		res, _, _ := unstructured.NestedStringSlice(rule, "resources")
		verbs, _, _ := unstructured.NestedStringSlice(rule, "verbs")
		if !slices.Contains(groups, group) || !slices.Contains(verbs, "create") || !slices.Contains(verbs, "patch") || !slices.Contains(verbs, "watch") {
			continue
		}
		left = slices.DeleteFunc(left, func(s string) bool { return slices.Contains(res, s) })
	}
	return len(left) == 0
}
