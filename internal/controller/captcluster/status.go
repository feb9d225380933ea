package captcluster

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cluster-api/util/conditions"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
)

// setStatus writes the status from the pass's scope: VPCReady and Ready come from the
// same problem, so Ready and an error never coexist, and the error clears in the pass
// that sets Ready. A VPC the pass could not check is Unknown, and Ready (which Cluster
// API mirrors into the Cluster's InfrastructureReady) keeps what it said.
func setStatus(s *scope) {
	if s.Finished {
		return
	}
	cc := s.cc
	if !cc.DeletionTimestamp.IsZero() {
		setDeletingStatus(s)
		return
	}
	vpc := vpcReadyCondition(s)
	conditions.Set(cc, vpc)
	conditions.Set(cc, metav1.Condition{Type: infrav1.DeletingCondition, Status: metav1.ConditionFalse, Reason: infrav1.NotDeletingReason})
	if observed.IsUnknown(vpc) {
		observed.Keep(cc, infrav1.ReadyCondition, vpc)
		if cc.Status.Initialization.Provisioned == nil {
			cc.Status.Initialization.Provisioned = ptr.To(false)
			cc.Status.Phase = infrav1.PhaseProvisioning
		}
		return
	}
	conditions.Set(cc, readyCondition(vpc))
	ready := vpc.Status == metav1.ConditionTrue
	// Provisioned once, provisioned for good: a later error is a condition, not a revert.
	provisioned := ready || ptr.Deref(cc.Status.Initialization.Provisioned, false)
	cc.Status.Initialization.Provisioned = ptr.To(provisioned)
	cc.Status.Ready = provisioned
	cc.Status.Phase = observed.Phase(provisioned, vpc, failureReasons)
}

func vpcReadyCondition(s *scope) metav1.Condition {
	switch {
	case s.existing:
		return metav1.Condition{Type: infrav1.VPCReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ExistingVPCReason}
	case s.vpcProblem != nil:
		return metav1.Condition{Type: infrav1.VPCReadyCondition, Status: metav1.ConditionFalse, Reason: s.vpcProblem.Reason, Message: s.vpcProblem.Message}
	case s.applyUnknown != nil:
		return metav1.Condition{Type: infrav1.VPCReadyCondition, Status: metav1.ConditionUnknown, Reason: s.applyUnknown.Reason, Message: s.applyUnknown.Message}
	case s.Err != nil:
		return observed.Unknown(infrav1.VPCReadyCondition, s.Err)
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

// failureReasons are VPCReady's reasons that need a person, not time.
var failureReasons = []string{infrav1.VPCFailedReason, infrav1.VPCOutputsInvalidReason, infrav1.ExistingSubnetsMissingReason}

// setDeletingStatus says what deletion waits for, and how its step failed if it did.
func setDeletingStatus(s *scope) {
	observed.SetDeleting(s.cc, s.Deletion, s.Err)
	s.cc.Status.Phase = infrav1.PhaseDeleting
}

// emitTransitions records a Warning when VPCReady fails. The VPC becoming ready makes no
// event: nobody acts on it, VPCReady says it, and the control plane's Available event
// follows.
func (r *Reconciler) emitTransitions(before, after *infrav1.CAPTCluster) {
	if c := observed.NewFailure(before, after, infrav1.VPCReadyCondition, failureReasons); c != nil {
		r.Recorder.Eventf(after, nil, "Warning", c.Reason, "Reconcile", "%s", "VPC is not ready: "+c.Message)
	}
}
