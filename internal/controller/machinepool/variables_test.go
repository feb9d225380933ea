package machinepool

import (
	"maps"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/clusterinfra"
)

func TestDesiredSize(t *testing.T) {
	for _, tc := range []struct {
		name       string
		replicas   *int32
		scaling    *infrav1.MachinePoolScaling
		autoscaled bool
		min, max   int32
		desired    string // "" when nil
		problem    string
	}{
		{name: "replicas bound the size", replicas: ptr.To[int32](3), min: 3, max: 3, desired: "3"},
		{name: "unset replicas are 1", min: 1, max: 1, desired: "1"},
		{name: "zero replicas keep a max of 1", replicas: ptr.To[int32](0), min: 0, max: 1, desired: "0"},
		{name: "within scaling", replicas: ptr.To[int32](2), scaling: &infrav1.MachinePoolScaling{MinSize: ptr.To[int32](1), MaxSize: ptr.To[int32](5)}, min: 1, max: 5, desired: "2"},
		{name: "above scaling", replicas: ptr.To[int32](9), scaling: &infrav1.MachinePoolScaling{MinSize: ptr.To[int32](1), MaxSize: ptr.To[int32](5)}, problem: infrav1.ScalingInvalidReason},
		{name: "autoscaled: bounds only", replicas: ptr.To[int32](9), scaling: &infrav1.MachinePoolScaling{MinSize: ptr.To[int32](1), MaxSize: ptr.To[int32](5)}, autoscaled: true, min: 1, max: 5},
		// minSize 4 alone: max defaults to at least min, and 2 replicas are below it.
		{name: "below a lone minSize", replicas: ptr.To[int32](2), scaling: &infrav1.MachinePoolScaling{MinSize: ptr.To[int32](4)}, problem: infrav1.ScalingInvalidReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mp := &infrav1.CAPTMachinePool{Spec: infrav1.CAPTMachinePoolSpec{Scaling: tc.scaling}}
			owner := &clusterv1.MachinePool{ObjectMeta: metav1.ObjectMeta{Name: "pool"}, Spec: clusterv1.MachinePoolSpec{Replicas: tc.replicas}}
			if tc.autoscaled {
				owner.Annotations = map[string]string{clusterv1.ReplicasManagedByAnnotation: "cluster-autoscaler"}
			}
			sz, prob := desiredSize(mp, owner)
			if tc.problem != "" {
				if prob == nil || prob.Reason != tc.problem {
					t.Fatalf("problem %v, want %s", prob, tc.problem)
				}
				return
			}
			if prob != nil {
				t.Fatalf("problem %+v", prob)
			}
			got := ""
			if sz.desired != nil {
				got = strconv.Itoa(int(*sz.desired))
			}
			if sz.min != tc.min || sz.max != tc.max || got != tc.desired {
				t.Fatalf("size %d..%d desired %q, want %d..%d %q", sz.min, sz.max, got, tc.min, tc.max, tc.desired)
			}
		})
	}
}

func TestVariables(t *testing.T) {
	mp := &infrav1.CAPTMachinePool{ObjectMeta: metav1.ObjectMeta{Name: "workers"}, Spec: infrav1.CAPTMachinePoolSpec{
		InstanceTypes: []string{"m7g.large"}, CapacityType: infrav1.CapacityTypeSpot, AMIType: "AL2023_ARM_64_STANDARD",
		DiskSizeGiB: ptr.To[int32](50), UpdateConfig: &infrav1.UpdateConfig{MaxUnavailable: ptr.To[int32](2)},
		Labels:         map[string]infrav1.LabelValue{"role": "batch"},
		Taints:         []infrav1.Taint{{Key: "dedicated", Value: "batch", Effect: string(corev1.TaintEffectNoSchedule)}},
		AdditionalTags: map[string]string{"team": "b"},
	}}
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c1"}}
	infra := &clusterinfra.Infrastructure{Region: "eu-west-1", PrivateSubnetIDs: []string{"subnet-1"}, Tags: map[string]string{"team": "a", "env": "prod"}}
	got := variables(mp, cluster, infra, size{min: 1, max: 4, desired: ptr.To[int32](2)}, "v1.33.2")
	want := map[string]string{
		"cluster_name": "c1", "cluster_namespace": "ns", "node_group_name": "workers", "region": "eu-west-1",
		"kubernetes_version": "1.33.2", "subnet_ids": `["subnet-1"]`, "instance_types": `["m7g.large"]`,
		"capacity_type": "SPOT", "ami_type": "AL2023_ARM_64_STANDARD", "disk_size": "50",
		"min_size": "1", "max_size": "4", "desired_size": "2", "max_unavailable": "2",
		"labels": `{"role":"batch"}`, "taints": `[{"key":"dedicated","value":"batch","effect":"NO_SCHEDULE"}]`,
		"tags": `{"env":"prod","team":"b"}`,
	}
	if len(got) != len(want) {
		t.Errorf("%d variables, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// Spec subnets win over the CAPTCluster's. Every optional field left unset sends no
	// variable: the template's varmap or the module's default decides.
	mp.Spec = infrav1.CAPTMachinePoolSpec{SubnetIDs: []string{"subnet-own"}}
	got = variables(mp, cluster, &clusterinfra.Infrastructure{}, size{min: 0, max: 1}, "1.33.2")
	want = map[string]string{"cluster_name": "c1", "cluster_namespace": "ns", "node_group_name": "workers", "region": "",
		"kubernetes_version": "1.33.2", "subnet_ids": `["subnet-own"]`, "min_size": "0", "max_size": "1", "desired_size": ""}
	if !maps.Equal(got, want) {
		t.Errorf("variables of a pool with every optional field unset:\n got %v\nwant %v", got, want)
	}
}

func TestNodeGroupName(t *testing.T) {
	long := strings.Repeat("a", 70) + ".b"
	for in, want := range map[string]string{"pool-0": "pool-0", "a.b": "a-b"} {
		if got := nodeGroupName(&infrav1.CAPTMachinePool{ObjectMeta: metav1.ObjectMeta{Name: in}}); got != want {
			t.Errorf("nodeGroupName(%q) = %q, want %q", in, got, want)
		}
	}
	got := nodeGroupName(&infrav1.CAPTMachinePool{ObjectMeta: metav1.ObjectMeta{Name: long}})
	other := nodeGroupName(&infrav1.CAPTMachinePool{ObjectMeta: metav1.ObjectMeta{Name: long + "c"}})
	if len(got) > maxNodeGroupName || !nodeGroupPattern.MatchString(got) || got == other {
		t.Errorf("nodeGroupName of a long name = %q (%d), other %q", got, len(got), other)
	}
}

func TestCountNodes(t *testing.T) {
	ready := corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}
	now := metav1.Now()
	n := countNodes([]corev1.Node{
		{Spec: corev1.NodeSpec{ProviderID: "aws:///b"}, Status: ready},
		{Spec: corev1.NodeSpec{ProviderID: "aws:///a"}},
		{Status: ready}, // no providerID yet: not matched by Cluster API, not counted
		{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}, Spec: corev1.NodeSpec{ProviderID: "aws:///c"}, Status: ready},
	})
	if n.count != 2 || n.ready != 1 || strings.Join(n.providerIDs, ",") != "aws:///a,aws:///b" {
		t.Fatalf("%+v", n)
	}
}
