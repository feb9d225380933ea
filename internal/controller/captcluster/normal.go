package captcluster

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/workspaceref"
	"github.com/capt-dev/capt/internal/workspace"
)

// problem is a condition's reason and message when something is not right.
type problem struct {
	reason, message string
}

// reconcileNormal takes an existing VPC as is, or keeps the VPC WorkspaceTemplateApply
// in sync and reads its Workspace's outputs once it is Ready. Every wait ends with a
// watch event on the apply or its Workspace.
func (r *Reconciler) reconcileNormal(ctx context.Context, cc *infrav1.CAPTCluster, cluster *clusterv1.Cluster) error {
	obs := observation{}
	defer func() { setStatus(cc, obs) }()

	if cc.Spec.ExistingVPCID != "" {
		obs.existing = true
		cc.Status.VPC = &infrav1.VPCStatus{ID: cc.Spec.ExistingVPCID}
		return nil
	}
	apply, err := r.reconcileVPCApply(ctx, cc, cluster)
	if err != nil {
		return err
	}
	cc.Status.VPCWorkspaceTemplateApplyName = apply.Name
	ready := applyReady(apply)
	switch {
	case ready == nil:
		obs.vpc = &problem{infrav1.VPCProvisioningReason, fmt.Sprintf("Waiting for WorkspaceTemplateApply %s to report on its current spec", apply.Name)}
		return nil
	case ready.Status != metav1.ConditionTrue:
		obs.vpc = vpcNotReady(apply.Name, ready)
		return nil
	}
	ws, err := workspaceref.Get(ctx, r.Client, r.API, apply.Namespace, apply.Name)
	if err != nil || ws == nil {
		obs.vpc = &problem{infrav1.VPCProvisioningReason, "Waiting for the VPC Workspace"}
		return err
	}
	prob := vpcOutputTypes(ws)
	var vpc *infrav1.VPCStatus
	var zones []string
	if prob == nil {
		vpc, zones, prob = vpcFromOutputs(workspace.ReadOutputs(ws, nil))
	}
	if prob != nil {
		obs.vpc = prob
		return nil
	}
	cc.Status.VPC = vpc
	cc.Status.FailureDomains = failureDomains(zones)
	return nil
}

// vpcNotReady turns the apply's Ready=False into the VPC's problem: a failure when the
// apply reports one, provisioning otherwise.
func vpcNotReady(name string, ready *metav1.Condition) *problem {
	switch ready.Reason {
	case infrav1.WorkspaceNotSyncedReason, infrav1.TemplateInvalidReason, infrav1.TemplateNotFoundReason, infrav1.WorkspaceOwnedByOtherReason:
		return &problem{infrav1.VPCFailedReason, fmt.Sprintf("WorkspaceTemplateApply %s: %s", name, ready.Message)}
	default:
		return &problem{infrav1.VPCProvisioningReason, fmt.Sprintf("WorkspaceTemplateApply %s: %s", name, ready.Message)}
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
