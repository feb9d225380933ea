package controlplane

import (
	"maps"
	"path/filepath"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	"github.com/capt-dev/capt/internal/controller/clusterinfra"
	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/tfmodule"
)

// TestAWSEKSModuleFits checks templates/aws/eks against what this controller passes
// (every variable) and reads (an endpoint, a CA, the EKS name for the kubeconfig and the
// version applied, which an upgrade steps on): it
// cannot be applied here, with no cloud, but it must declare what CAPT relies on.
func TestAWSEKSModuleFits(t *testing.T) {
	root, err := localstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	m, err := tfmodule.Read(filepath.Join(root, "templates", "aws", "eks"))
	if err != nil {
		t.Fatal(err)
	}
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"}}
	cp := &controlplanev1.CAPTControlPlane{Spec: controlplanev1.CAPTControlPlaneSpec{Version: "v1.31.2"}}
	infra := &clusterinfra.Infrastructure{Region: "eu-west-1", VPCID: "vpc-1", PrivateSubnetIDs: []string{"subnet-a"}}
	passed := slices.Sorted(maps.Keys(Variables(cp, cluster, infra, cp.Spec.Version, addonsOf(cp))))
	if err := m.Check(passed, controlplanev1.EndpointOutputs, controlplanev1.CAOutputs, controlplanev1.ClusterNameOutputs, controlplanev1.VersionOutputs); err != nil {
		t.Errorf("templates/aws/eks with variables %v: %v", passed, err)
	}
}
