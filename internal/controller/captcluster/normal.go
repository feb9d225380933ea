package captcluster

import (
	"context"
	"slices"

	ctrl "sigs.k8s.io/controller-runtime"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/childapply"
	"github.com/capt-dev/capt/internal/controller/observed"
)

// reconcileNormal takes an existing VPC as is, or keeps the VPC WorkspaceTemplateApply
// in sync and reads its Workspace's outputs once it is Ready. It records what it finds in
// s; the deferred status reads it. Every wait ends with a watch event on the apply or its
// Workspace.
func (r *Reconciler) reconcileNormal(ctx context.Context, s *scope) (ctrl.Result, error) {
	cc := s.cc
	if cc.Spec.ExistingVPCID != "" {
		existingVPC(s)
		return ctrl.Result{}, nil
	}
	child, err := childapply.Observe(ctx, r.Client, r.APIReader, r.API, cc, childapply.Spec{
		Name:        applyName(cc),
		ClusterName: s.cluster.Name,
		TemplateRef: childapply.TemplateRef(*cc.Spec.VPCTemplateRef, cc.Namespace),
		Variables:   VPCVariables(cc, s.cluster),
		Retain:      cc.Spec.RetainVPCOnDelete,
		Adopt:       cc.Spec.Adopt,
	})
	if child.Apply != nil {
		cc.Status.VPCWorkspaceTemplateApplyName = child.Apply.Name
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if s.vpcProblem, s.applyUnknown = child.State(vpcWords); s.vpcProblem != nil || s.applyUnknown != nil {
		return ctrl.Result{}, nil
	}
	vpc, zones, prob := vpcFromWorkspace(child.Workspace)
	if prob != nil {
		s.vpcProblem = prob
		return ctrl.Result{}, nil
	}
	cc.Status.VPC = vpc
	cc.Status.FailureDomains = failureDomains(zones)
	return ctrl.Result{}, nil
}

// vpcWords are the VPC's reasons for its apply's states.
var vpcWords = childapply.Words{Waiting: infrav1.VPCProvisioningReason, Failed: infrav1.VPCFailedReason, Child: "VPC"}

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
