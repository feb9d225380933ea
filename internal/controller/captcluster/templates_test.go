package captcluster

import (
	"maps"
	"path/filepath"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/tfmodule"
)

// TestAWSVPCModuleFits checks templates/aws/vpc against what this controller passes
// (every variable, with and without vpcConfig) and reads (every VPC output): it cannot
// be applied here, with no cloud, but it must declare what CAPT relies on.
func TestAWSVPCModuleFits(t *testing.T) {
	root, err := localstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	m, err := tfmodule.Read(filepath.Join(root, "templates", "aws", "vpc"))
	if err != nil {
		t.Fatal(err)
	}
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"}}
	for _, cc := range []*infrav1.CAPTCluster{
		{Spec: infrav1.CAPTClusterSpec{Region: "eu-west-1"}},
		{Spec: infrav1.CAPTClusterSpec{Region: "eu-west-1", VPCConfig: &infrav1.VPCConfig{CIDR: "10.1.0.0/16", EnableNATGateway: ptr.To(true)}}},
	} {
		passed := slices.Sorted(maps.Keys(VPCVariables(cc, cluster)))
		if err := m.Check(passed, []string{VPCIDOutput}, []string{PrivateSubnetIDsOutput}, []string{PublicSubnetIDsOutput}, []string{AvailabilityZonesOutput}); err != nil {
			t.Errorf("templates/aws/vpc with variables %v: %v", passed, err)
		}
	}
}
