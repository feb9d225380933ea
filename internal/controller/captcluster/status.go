package captcluster

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cluster-api/util/conditions"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// observation is what one reconcile found.
type observation struct {
	// existing says the VPC is spec.existingVpcId.
	existing bool
	// vpc is what keeps the VPC from being ready, nil when it is.
	vpc *problem
}

// setStatus writes the status from obs: VPCReady and Ready come from the same problem, so
// Ready and an error never coexist, and the error clears in the pass that sets Ready.
func setStatus(cc *infrav1.CAPTCluster, obs observation) {
	vpc := vpcReadyCondition(obs)
	conditions.Set(cc, vpc)
	conditions.Set(cc, readyCondition(vpc))
	conditions.Set(cc, metav1.Condition{Type: infrav1.DeletingCondition, Status: metav1.ConditionFalse, Reason: infrav1.NotDeletingReason})
	ready := vpc.Status == metav1.ConditionTrue
	// Provisioned once, provisioned for good: a later error is a condition, not a revert.
	provisioned := ready || ptr.Deref(cc.Status.Initialization.Provisioned, false)
	cc.Status.Initialization.Provisioned = ptr.To(provisioned)
	cc.Status.Ready = provisioned
	cc.Status.Phase = phase(provisioned, vpc)
}

func vpcReadyCondition(obs observation) metav1.Condition {
	switch {
	case obs.existing:
		return metav1.Condition{Type: infrav1.VPCReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ExistingVPCReason}
	case obs.vpc != nil:
		return metav1.Condition{Type: infrav1.VPCReadyCondition, Status: metav1.ConditionFalse, Reason: obs.vpc.reason, Message: obs.vpc.message}
	default:
		return metav1.Condition{Type: infrav1.VPCReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ReadyReason}
	}
}

func readyCondition(vpc metav1.Condition) metav1.Condition {
	if vpc.Status != metav1.ConditionTrue {
		return metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: vpc.Reason, Message: vpc.Message}
	}
	return metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ReadyReason}
}

func isFailure(c metav1.Condition) bool {
	return c.Status == metav1.ConditionFalse && (c.Reason == infrav1.VPCFailedReason || c.Reason == infrav1.VPCOutputsInvalidReason)
}

func phase(provisioned bool, vpc metav1.Condition) string {
	switch {
	case isFailure(vpc):
		return infrav1.PhaseFailed
	case vpc.Status == metav1.ConditionTrue || provisioned:
		return infrav1.PhaseProvisioned
	default:
		return infrav1.PhaseProvisioning
	}
}

// setDeletingStatus says what deletion waits for.
func setDeletingStatus(cc *infrav1.CAPTCluster, reason, message string) {
	conditions.Set(cc, metav1.Condition{Type: infrav1.DeletingCondition, Status: metav1.ConditionTrue, Reason: reason, Message: message})
	conditions.Set(cc, metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: infrav1.DeletingReason, Message: message})
	cc.Status.Phase = infrav1.PhaseDeleting
}

// emitTransitions records one event when VPCReady changes: Normal when it becomes true,
// Warning when it fails.
func (r *Reconciler) emitTransitions(before, after *infrav1.CAPTCluster) {
	b, a := conditions.Get(before, infrav1.VPCReadyCondition), conditions.Get(after, infrav1.VPCReadyCondition)
	if a == nil || (b != nil && b.Status == a.Status && b.Reason == a.Reason) {
		return
	}
	switch {
	case a.Status == metav1.ConditionTrue:
		r.Recorder.Eventf(after, nil, "Normal", infrav1.VPCReadyCondition, "Reconcile", "VPC is ready (%s)", a.Reason)
	case isFailure(*a):
		r.Recorder.Eventf(after, nil, "Warning", a.Reason, "Reconcile", "%s", fmt.Sprintf("VPC is not ready: %s", a.Message))
	}
}
