package controlplane

import (
	"maps"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	"github.com/capt-dev/capt/internal/controller/clusterinfra"
)

// TestVariablesSendOnlyWhatIsSet: an optional field left unset sends no variable, so the
// template's varmap or the module's default decides; what comes from the infrastructure
// (the subnets) is always sent.
func TestVariablesSendOnlyWhatIsSet(t *testing.T) {
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"}}
	infra := &clusterinfra.Infrastructure{Region: "eu-west-1", VPCID: "vpc-1", PrivateSubnetIDs: []string{"subnet-a", "subnet-b"}}
	always := map[string]string{"cluster_name": "c", "cluster_namespace": "ns", "kubernetes_version": "1.31.2", "region": "eu-west-1",
		"vpc_id": "vpc-1", "private_subnet_ids": `["subnet-a","subnet-b"]`, "public_subnet_ids": "[]"}
	with := func(extra map[string]string) map[string]string {
		m := maps.Clone(always)
		maps.Copy(m, extra)
		return m
	}
	for _, tc := range []struct {
		name string
		cfg  *controlplanev1.ControlPlaneConfig
		tags map[string]string
		want map[string]string
	}{
		{"nothing optional", nil, nil, always},
		{"an empty config", &controlplanev1.ControlPlaneConfig{}, nil, always},
		{"private endpoint", &controlplanev1.ControlPlaneConfig{EndpointAccess: &controlplanev1.EndpointAccess{Public: true, Private: true}}, nil,
			with(map[string]string{"endpoint_public_access": "true", "endpoint_private_access": "true"})},
		{"restricted endpoint", &controlplanev1.ControlPlaneConfig{EndpointAccess: &controlplanev1.EndpointAccess{Public: true, PublicCIDRs: []string{"203.0.113.0/24"}}}, nil,
			with(map[string]string{"endpoint_public_access": "true", "endpoint_private_access": "false", "public_access_cidrs": `["203.0.113.0/24"]`})},
		{"add-ons", &controlplanev1.ControlPlaneConfig{Addons: []controlplanev1.Addon{{Name: "vpc-cni"}}}, nil,
			with(map[string]string{"addons": `[{"name":"vpc-cni"}]`})},
		{"tags", nil, map[string]string{"tier": "prod"}, with(map[string]string{"tags": `{"tier":"prod"}`})},
	} {
		cp := &controlplanev1.CAPTControlPlane{Spec: controlplanev1.CAPTControlPlaneSpec{Version: "v1.31.2", ControlPlaneConfig: tc.cfg, AdditionalTags: tc.tags}}
		got := Variables(cp, cluster, infra, cp.Spec.Version, addonsOf(cp))
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.name, got, tc.want)
		}
	}
}

// addonsOf is every add-on of the spec, as a pass renders them once a node group is Ready.
func addonsOf(cp *controlplanev1.CAPTControlPlane) []controlplanev1.Addon {
	if cp.Spec.ControlPlaneConfig == nil {
		return nil
	}
	return cp.Spec.ControlPlaneConfig.Addons
}

// TestAddonsToRender: add-ons that run only DaemonSets go with the control plane; the
// others wait for a Ready node group; one the apply already has is never taken back.
func TestAddonsToRender(t *testing.T) {
	want := []controlplanev1.Addon{{Name: "vpc-cni"}, {Name: "coredns"}, {Name: "kube-proxy"}, {Name: "aws-ebs-csi-driver"}, {Name: "eks-pod-identity-agent"}}
	names := func(as []controlplanev1.Addon) []string {
		out := make([]string, 0, len(as))
		for _, a := range as {
			out = append(out, a.Name)
		}
		return out
	}
	for _, tc := range []struct {
		name           string
		rendered       []string
		nodeGroupReady bool
		send, held     []string
	}{
		{"no node group yet", nil, false, []string{"vpc-cni", "kube-proxy", "eks-pod-identity-agent"}, []string{"coredns", "aws-ebs-csi-driver"}},
		{"a node group is Ready", nil, true, []string{"vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver", "eks-pod-identity-agent"}, nil},
		{"already rendered, node groups gone", []string{"coredns"}, false, []string{"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent"}, []string{"aws-ebs-csi-driver"}},
	} {
		send, held := addonsToRender(want, tc.rendered, tc.nodeGroupReady)
		if got := names(send); !slices.Equal(got, tc.send) || !slices.Equal(held, tc.held) {
			t.Errorf("%s: send %v held %v, want %v and %v", tc.name, got, held, tc.send, tc.held)
		}
	}
}
