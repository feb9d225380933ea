package controlplane

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestInfrastructureOutputsFlowToTheControlPlane links the Cluster to a CAPTCluster: the
// control plane waits, by watch, until it is provisioned, then passes its region, VPC
// and subnets to the template. The CAPTCluster is found through infrastructureRef, not
// by name (it is named differently on purpose).
func TestInfrastructureOutputsFlowToTheControlPlane(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	cc := &infrav1.CAPTCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "network-of-infra", Labels: map[string]string{clusterv1.ClusterNameLabel: "infra"}},
		Spec: infrav1.CAPTClusterSpec{Region: "ap-northeast-1", ExistingVPCID: "vpc-01234567",
			ExistingSubnets: &infrav1.ExistingSubnets{PrivateSubnetIDs: []string{"subnet-0000000a", "subnet-0000000b"}}, AdditionalTags: map[string]string{"env": "prod"}}}
	create(t, cc)
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "infra"},
		Spec: clusterv1.ClusterSpec{
			ControlPlaneRef:   clusterv1.ContractVersionedObjectReference{APIGroup: controlplanev1.GroupVersion.Group, Kind: "CAPTControlPlane", Name: "infra-cp"},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "CAPTCluster", Name: cc.Name},
		}}
	create(t, cluster)
	cp := &controlplanev1.CAPTControlPlane{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "infra-cp", Labels: map[string]string{clusterv1.ClusterNameLabel: "infra"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster", Name: "infra", UID: cluster.UID}}},
		Spec: controlplanev1.CAPTControlPlaneSpec{Version: "v1.31.2", WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "eks"}},
	}
	create(t, cp)
	waitCP(t, cp, "waiting for infrastructure", condIs(controlplanev1.WorkspaceReadyCondition, metav1.ConditionFalse, controlplanev1.WaitingForInfrastructureReason))
	if err := gone(&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: applyName(cp)}}); err != nil {
		t.Fatal("control plane apply created before the infrastructure was provisioned")
	}

	testenv.Eventually(t, "provision the CAPTCluster", func() error {
		c := &infrav1.CAPTCluster{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cc), c); err != nil {
			return err
		}
		c.Status.Initialization.Provisioned = ptr.To(true)
		c.Status.VPC = &infrav1.VPCStatus{ID: "vpc-01234567", PrivateSubnetIDs: []string{"subnet-a", "subnet-b"}}
		return env.Client.Status().Update(ctx, c)
	})
	testenv.Eventually(t, "variables from the infrastructure", func() error {
		a := &infrav1.WorkspaceTemplateApply{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: applyName(cp)}, a); err != nil {
			return err
		}
		want := map[string]string{"region": "ap-northeast-1", "vpc_id": "vpc-01234567", "private_subnet_ids": `["subnet-a","subnet-b"]`, "tags": `{"env":"prod"}`}
		for k, v := range want {
			if a.Spec.Variables[k] != v {
				return fmt.Errorf("variable %s = %q, want %q", k, a.Spec.Variables[k], v)
			}
		}
		return nil
	})
}
