package controlplane

import (
	"encoding/json"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/childapply"
)

// nodeFreeAddons are the EKS add-ons that run only DaemonSets: on a cluster without Nodes
// they have nothing to schedule and EKS reports them ACTIVE, so they are created with the
// control plane (and the VPC CNI must be there before Nodes can be Ready). Every other
// add-on (coredns, the CSI drivers, metrics-server, ...) runs a Deployment: without Nodes
// EKS reports it DEGRADED, and Terraform waits for ACTIVE until its create timeout (20
// minutes) and fails the apply. Those wait for the Cluster's first node group.
var nodeFreeAddons = map[string]bool{"vpc-cni": true, "kube-proxy": true, "eks-pod-identity-agent": true}

// addonsToRender splits the add-ons the spec asks for into those the control plane's
// apply gets now and those held until a node group of the Cluster is Ready (its
// Workspace applied: EKS created the node group, which needs its Nodes to join). An
// add-on the apply already has is never held again: taking it out of the variables would
// make Terraform delete it, when the last node group goes for instance.
func addonsToRender(want []controlplanev1.Addon, rendered []string, nodeGroupReady bool) (send []controlplanev1.Addon, held []string) {
	for _, a := range want {
		if nodeGroupReady || nodeFreeAddons[a.Name] || slices.Contains(rendered, a.Name) {
			send = append(send, a)
			continue
		}
		held = append(held, a.Name)
	}
	return send, held
}

// renderedAddons are the names of the add-ons in an apply's variables; none when there
// is no apply yet or its addons variable is not CAPT's JSON list.
func renderedAddons(apply *infrav1.WorkspaceTemplateApply) []string {
	if apply == nil || apply.Spec.Variables["addons"] == "" {
		return nil
	}
	var list []controlplanev1.Addon
	if err := json.Unmarshal([]byte(apply.Spec.Variables["addons"]), &list); err != nil {
		return nil
	}
	names := make([]string, 0, len(list))
	for _, a := range list {
		names = append(names, a.Name)
	}
	return names
}

// needsNodes says the control plane asks for an add-on that waits for a node group.
func needsNodes(cp *controlplanev1.CAPTControlPlane) bool {
	if cp.Spec.ControlPlaneConfig == nil {
		return false
	}
	for _, a := range cp.Spec.ControlPlaneConfig.Addons {
		if !nodeFreeAddons[a.Name] {
			return true
		}
	}
	return false
}

// anyReady says one of the node group applies is Ready on its current spec.
func anyReady(applies []infrav1.WorkspaceTemplateApply) bool {
	for i := range applies {
		if r := childapply.Ready(&applies[i]); r != nil && r.Status == metav1.ConditionTrue {
			return true
		}
	}
	return false
}
