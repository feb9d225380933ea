package captcluster

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

func TestSetStatus(t *testing.T) {
	cases := []struct {
		name            string
		wasProvisioned  bool
		obs             observation
		wantReady       metav1.ConditionStatus
		wantReason      string
		wantProvisioned bool
		wantPhase       string
	}{
		{"existing VPC", false, observation{existing: true}, metav1.ConditionTrue, infrav1.ReadyReason, true, infrav1.PhaseProvisioned},
		{"provisioning", false, observation{vpc: &problem{infrav1.VPCProvisioningReason, "m"}}, metav1.ConditionFalse, infrav1.VPCProvisioningReason, false, infrav1.PhaseProvisioning},
		{"failed before provisioning", false, observation{vpc: &problem{infrav1.VPCFailedReason, "m"}}, metav1.ConditionFalse, infrav1.VPCFailedReason, false, infrav1.PhaseFailed},
		{"ready", false, observation{}, metav1.ConditionTrue, infrav1.ReadyReason, true, infrav1.PhaseProvisioned},
		{"failed after provisioning stays provisioned", true, observation{vpc: &problem{infrav1.VPCOutputsInvalidReason, "m"}}, metav1.ConditionFalse, infrav1.VPCOutputsInvalidReason, true, infrav1.PhaseFailed},
	}
	for _, tc := range cases {
		cc := &infrav1.CAPTCluster{}
		if tc.wasProvisioned {
			cc.Status.Initialization.Provisioned = ptr.To(true)
		}
		setStatus(cc, tc.obs)
		ready, vpc := cond(cc, infrav1.ReadyCondition), cond(cc, infrav1.VPCReadyCondition)
		if ready.Status != tc.wantReady || ready.Reason != tc.wantReason || vpc.Status != ready.Status {
			t.Errorf("%s: Ready %s/%s, VPCReady %s", tc.name, ready.Status, ready.Reason, vpc.Status)
		}
		if ptr.Deref(cc.Status.Initialization.Provisioned, false) != tc.wantProvisioned || cc.Status.Ready != tc.wantProvisioned || cc.Status.Phase != tc.wantPhase {
			t.Errorf("%s: provisioned %v, ready %v, phase %s", tc.name, cc.Status.Initialization.Provisioned, cc.Status.Ready, cc.Status.Phase)
		}
	}
}

func TestVPCFromOutputs(t *testing.T) {
	vpc, zones, prob := vpcFromOutputs(map[string]string{"vpc_id": "vpc-1", "private_subnet_ids": `["subnet-a","subnet-b"]`, "public_subnet_ids": "subnet-c, subnet-d", "availability_zones": `["us-west-2a"]`})
	if prob != nil || vpc.ID != "vpc-1" || len(vpc.PrivateSubnetIDs) != 2 || len(vpc.PublicSubnetIDs) != 2 || len(zones) != 1 {
		t.Errorf("vpc %+v zones %v problem %v", vpc, zones, prob)
	}
	for name, outputs := range map[string]map[string]string{
		"no vpc_id":       {"private_subnet_ids": "[]"},
		"object for list": {"vpc_id": "vpc-1", "availability_zones": `{"a":1}`},
		"list of numbers": {"vpc_id": "vpc-1", "private_subnet_ids": `[1,2]`},
		"garbage in list": {"vpc_id": "vpc-1", "public_subnet_ids": "subnet-a, {oops"},
		"garbage vpc_id":  {"vpc_id": `{"a":1}`},
		"vpc_id newline":  {"vpc_id": "vpc-1\nvpc-2"},
		"long vpc_id":     {"vpc_id": "vpc-" + strings.Repeat("0", 253)},
		"duplicate zones": {"vpc_id": "vpc-1", "availability_zones": "a,a"},
		"101 subnets":     {"vpc_id": "vpc-1", "private_subnet_ids": strings.Repeat("s,", 100) + "s101"},
	} {
		if _, _, prob := vpcFromOutputs(outputs); prob == nil || prob.reason != infrav1.VPCOutputsInvalidReason {
			t.Errorf("%s: problem %v", name, prob)
		}
	}
}
