package captcluster

import (
	"maps"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// TestVPCVariablesSendOnlyWhatIsSet: an optional field left unset sends no variable, so
// the template's varmap or the module's default decides (templates/aws/vpc: NAT on). A
// vpcConfig that sets only the CIDR must not turn NAT off.
func TestVPCVariablesSendOnlyWhatIsSet(t *testing.T) {
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"}}
	always := map[string]string{"cluster_name": "c", "cluster_namespace": "ns", "region": "eu-west-1"}
	with := func(extra map[string]string) map[string]string {
		m := maps.Clone(always)
		maps.Copy(m, extra)
		return m
	}
	for _, tc := range []struct {
		name string
		spec infrav1.CAPTClusterSpec
		want map[string]string
	}{
		{"nothing optional", infrav1.CAPTClusterSpec{}, always},
		{"only a CIDR", infrav1.CAPTClusterSpec{VPCConfig: &infrav1.VPCConfig{CIDR: "10.1.0.0/16"}}, with(map[string]string{"vpc_cidr": "10.1.0.0/16"})},
		{"NAT off", infrav1.CAPTClusterSpec{VPCConfig: &infrav1.VPCConfig{EnableNATGateway: ptr.To(false)}}, with(map[string]string{"enable_nat_gateway": "false"})},
		{"one NAT gateway", infrav1.CAPTClusterSpec{VPCConfig: &infrav1.VPCConfig{EnableNATGateway: ptr.To(true), SingleNATGateway: ptr.To(true)}},
			with(map[string]string{"enable_nat_gateway": "true", "single_nat_gateway": "true"})},
		{"tags", infrav1.CAPTClusterSpec{AdditionalTags: map[string]string{"team": "a"}}, with(map[string]string{"tags": `{"team":"a"}`})},
	} {
		tc.spec.Region = "eu-west-1"
		got := VPCVariables(&infrav1.CAPTCluster{Spec: tc.spec}, cluster)
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.name, got, tc.want)
		}
	}
}
