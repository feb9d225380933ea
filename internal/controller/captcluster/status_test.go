package captcluster

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"

	"github.com/capt-dev/capt/internal/controller/observed"
)

func TestSetStatus(t *testing.T) {
	cases := []struct {
		name            string
		wasProvisioned  bool
		s               scope
		wantReady       metav1.ConditionStatus
		wantReason      string
		wantProvisioned bool
		wantPhase       string
	}{
		{"existing VPC", false, scope{existing: true}, metav1.ConditionTrue, infrav1.ReadyReason, true, infrav1.PhaseProvisioned},
		{"provisioning", false, scope{vpcProblem: &observed.Problem{Reason: infrav1.VPCProvisioningReason, Message: "m"}}, metav1.ConditionFalse, infrav1.VPCProvisioningReason, false, infrav1.PhaseProvisioning},
		{"failed before provisioning", false, scope{vpcProblem: &observed.Problem{Reason: infrav1.VPCFailedReason, Message: "m"}}, metav1.ConditionFalse, infrav1.VPCFailedReason, false, infrav1.PhaseFailed},
		{"existing VPC without subnets", false, scope{vpcProblem: &observed.Problem{Reason: infrav1.ExistingSubnetsMissingReason, Message: "m"}}, metav1.ConditionFalse, infrav1.ExistingSubnetsMissingReason, false, infrav1.PhaseFailed},
		{"ready", false, scope{}, metav1.ConditionTrue, infrav1.ReadyReason, true, infrav1.PhaseProvisioned},
		{"failed after provisioning stays provisioned", true, scope{vpcProblem: &observed.Problem{Reason: infrav1.VPCOutputsInvalidReason, Message: "m"}}, metav1.ConditionFalse, infrav1.VPCOutputsInvalidReason, true, infrav1.PhaseFailed},
	}
	for _, tc := range cases {
		cc := &infrav1.CAPTCluster{}
		if tc.wasProvisioned {
			cc.Status.Initialization.Provisioned = ptr.To(true)
		}
		tc.s.cc = cc
		setStatus(&tc.s)
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
		if _, _, prob := vpcFromOutputs(outputs); prob == nil || prob.Reason != infrav1.VPCOutputsInvalidReason {
			t.Errorf("%s: problem %v", name, prob)
		}
	}
}

// TestFailedReadKeepsReady: a pass that could not read the VPC's state reports VPCReady
// Unknown, and Ready (the Cluster's InfrastructureReady) and the contract's fields keep
// what they said.
func TestFailedReadKeepsReady(t *testing.T) {
	cc := &infrav1.CAPTCluster{}
	setStatus(&scope{cc: cc})
	setStatus(&scope{cc: cc, Pass: observed.Pass{Err: errors.New("getting Workspace vpc: Timeout")}})
	vpc := cond(cc, infrav1.VPCReadyCondition)
	if vpc.Status != metav1.ConditionUnknown || vpc.Reason != infrav1.InternalErrorReason {
		t.Errorf("VPCReady = %+v, want Unknown/InternalError", vpc)
	}
	if ready := cond(cc, infrav1.ReadyCondition); ready.Status != metav1.ConditionTrue || !cc.Status.Ready || cc.Status.Phase != infrav1.PhaseProvisioned {
		t.Errorf("Ready %+v, ready %v, phase %s changed on a failed read", ready, cc.Status.Ready, cc.Status.Phase)
	}
	// The apply's own read failed: its Unknown passes through.
	setStatus(&scope{cc: cc, applyUnknown: &observed.Problem{Reason: infrav1.InternalErrorReason, Message: "x"}})
	if vpc := cond(cc, infrav1.VPCReadyCondition); vpc.Status != metav1.ConditionUnknown || cond(cc, infrav1.ReadyCondition).Status != metav1.ConditionTrue {
		t.Errorf("apply Unknown: VPCReady %+v", vpc)
	}

	deleting := &infrav1.CAPTCluster{}
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	setStatus(&scope{cc: deleting, Pass: observed.Pass{Err: errors.New("getting control plane cp: boom")}})
	if d := cond(deleting, infrav1.DeletingCondition); d.Status != metav1.ConditionTrue || !strings.Contains(d.Message, "boom") {
		t.Errorf("Deleting = %+v", d)
	}
}

// TestExistingVPCWithoutSubnets: a CAPTCluster admitted before existingSubnets was
// required is not provisioned with no subnets (the control plane would render an EKS
// cluster without any); its condition says what to add.
func TestExistingVPCWithoutSubnets(t *testing.T) {
	s := &scope{cc: &infrav1.CAPTCluster{Spec: infrav1.CAPTClusterSpec{Region: "eu-west-1", ExistingVPCID: "vpc-01234567"}}}
	existingVPC(s)
	if s.existing || s.vpcProblem == nil || s.vpcProblem.Reason != infrav1.ExistingSubnetsMissingReason ||
		!strings.Contains(s.vpcProblem.Message, "spec.existingSubnets") {
		t.Fatalf("existing %v, problem %+v: want ExistingSubnetsMissing naming spec.existingSubnets", s.existing, s.vpcProblem)
	}
	if s.cc.Status.VPC != nil {
		t.Errorf("status.vpc = %+v, want none reported", s.cc.Status.VPC)
	}
}
