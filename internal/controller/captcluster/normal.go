package captcluster

import (
	"context"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/childapply"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/workspace"
)

// reconcileNormal takes an existing VPC as is, or keeps the VPC WorkspaceTemplateApply
// in sync and reads its Workspace's outputs once it is Ready. It records what it finds in
// s; the deferred status reads it. Every wait ends with a watch event on the apply or its
// Workspace.
func (r *Reconciler) reconcileNormal(ctx context.Context, s *scope) error {
	cc := s.cc
	if cc.Spec.ExistingVPCID != "" {
		existingVPC(s)
		return nil
	}
	apply, err := childapply.Ensure(ctx, r.Client, r.APIReader, cc, childapply.Spec{
		Name:        applyName(cc),
		ClusterName: s.cluster.Name,
		TemplateRef: childapply.TemplateRef(*cc.Spec.VPCTemplateRef, cc.Namespace),
		Variables:   VPCVariables(cc, s.cluster),
		Retain:      cc.Spec.RetainVPCOnDelete,
	})
	if err != nil {
		return err
	}
	cc.Status.VPCWorkspaceTemplateApplyName = apply.Name
	ready := childapply.Ready(apply)
	switch {
	case ready == nil:
		s.vpcProblem = &observed.Problem{Reason: infrav1.VPCProvisioningReason, Message: childapply.WaitMessage(apply)}
		return nil
	case ready.Status == metav1.ConditionUnknown:
		s.applyUnknown = ready
		return nil
	case ready.Status != metav1.ConditionTrue:
		s.vpcProblem = vpcNotReady(apply, ready)
		return nil
	}
	ws, err := childapply.Workspace(ctx, r.Client, r.API, apply)
	if err != nil {
		return err
	}
	if ws == nil {
		s.vpcProblem = &observed.Problem{Reason: infrav1.VPCProvisioningReason, Message: "Waiting for the VPC Workspace"}
		return nil
	}
	prob := vpcOutputTypes(ws)
	var vpc *infrav1.VPCStatus
	var zones []string
	if prob == nil {
		vpc, zones, prob = vpcFromOutputs(workspace.ReadOutputs(ws, nil))
	}
	if prob != nil {
		s.vpcProblem = prob
		return nil
	}
	cc.Status.VPC = vpc
	cc.Status.FailureDomains = failureDomains(zones)
	return nil
}

// existingVPC reports the existing VPC and its subnets as a created VPC's outputs would
// be, for the control plane and the node groups to read alike.
func existingVPC(s *scope) {
	cc := s.cc
	subnets := cc.Spec.ExistingSubnets
	if subnets == nil {
		s.vpcProblem = &observed.Problem{Reason: infrav1.ExistingSubnetsMissingReason, Message: "spec.existingVpcId needs spec.existingSubnets (at least two private subnets, in two availability zones): EKS refuses a control plane without subnets"}

		return
	}
	s.existing = true
	cc.Status.VPC = &infrav1.VPCStatus{
		ID:               cc.Spec.ExistingVPCID,
		PrivateSubnetIDs: slices.Clone(subnets.PrivateSubnetIDs),
		PublicSubnetIDs:  slices.Clone(subnets.PublicSubnetIDs),
	}
}

// vpcNotReady turns the apply's Ready=False into the VPC's problem: a failure, with the
// apply's message, when the apply reports one; provisioning otherwise.
func vpcNotReady(apply *infrav1.WorkspaceTemplateApply, ready *metav1.Condition) *observed.Problem {
	if childapply.IsFailure(ready.Reason) {
		return &observed.Problem{Reason: infrav1.VPCFailedReason, Message: fmt.Sprintf("WorkspaceTemplateApply %s: %s", apply.Name, ready.Message)}
	}
	return &observed.Problem{Reason: infrav1.VPCProvisioningReason, Message: childapply.WaitMessage(apply)}
}

func failureDomains(zones []string) []infrav1.FailureDomain {
	out := make([]infrav1.FailureDomain, 0, len(zones))
	for _, z := range zones {
		controlPlane := true
		out = append(out, infrav1.FailureDomain{Name: z, ControlPlane: &controlPlane})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
