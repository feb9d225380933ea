package machinepool

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cluster-api/util/conditions"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
)

// setStatus writes the status from the pass's scope. WorkspaceReady says whether the node
// group exists as specified; NodesReady whether its Nodes are there and Ready; Ready
// both. What the pass could not look at is Unknown, and Ready then keeps what it said.
// provisioned (the contract's signal, and status.ready, which Cluster API v1.14 reads)
// turns true once the node group is first applied and stays true: a later change or
// failure is a condition, not a revert.
func setStatus(s *scope) {
	if s.Finished {
		return
	}
	mp := s.mp
	if !mp.DeletionTimestamp.IsZero() {
		observed.SetDeleting(mp, s.Deletion, s.Err)
		mp.Status.Phase = infrav1.PhaseDeleting
		return
	}
	ws := workspaceReadyCondition(s)
	nodes := nodesReadyCondition(s)
	conditions.Set(mp, ws)
	conditions.Set(mp, nodes)
	conditions.Set(mp, metav1.Condition{Type: infrav1.DeletingCondition, Status: metav1.ConditionFalse, Reason: infrav1.NotDeletingReason})
	if s.version != nil || conditions.Get(mp, infrav1.MachinePoolRollingOutCondition) == nil {
		// A pass that did not reach the apply keeps what RollingOut said.
		conditions.Set(mp, rollingOutCondition(mp.Status.Version, s.version))
	}
	if s.nodes != nil {
		mp.Status.Replicas, mp.Status.ReadyReplicas = s.nodes.count, s.nodes.ready
	}
	provisioned := s.workspaceReady || ptr.Deref(mp.Status.Initialization.Provisioned, false)
	mp.Status.Initialization.Provisioned = ptr.To(provisioned)
	mp.Status.Ready = provisioned
	mp.Status.Phase = observed.Phase(provisioned, ws, failureReasons)
	if observed.AnyUnknown(ws, nodes) {
		observed.Keep(mp, infrav1.ReadyCondition, ws, nodes)
		return
	}
	conditions.Set(mp, readyCondition(ws, nodes))
}

func workspaceReadyCondition(s *scope) metav1.Condition {
	c := metav1.Condition{Type: infrav1.WorkspaceReadyCondition}
	switch {
	case s.workspaceProblem != nil:
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, s.workspaceProblem.Reason, s.workspaceProblem.Message
	case s.applyUnknown != nil:
		c.Status, c.Reason, c.Message = metav1.ConditionUnknown, s.applyUnknown.Reason, s.applyUnknown.Message
	case s.workspaceReady:
		c.Status, c.Reason = metav1.ConditionTrue, infrav1.ReadyReason
	case s.Err != nil:
		return observed.Unknown(infrav1.WorkspaceReadyCondition, s.Err)
	default:
		// The pass stopped before it reached the apply without saying why: a bug, said as such.
		c.Status, c.Reason, c.Message = metav1.ConditionUnknown, infrav1.InternalErrorReason, "The node group was not checked"
	}
	return c
}

// nodesReadyCondition compares the Nodes seen with the desired size. Nodes not looked at
// because the node group has no name yet are not there yet (False); Nodes that could not
// be read are Unknown.
func nodesReadyCondition(s *scope) metav1.Condition {
	c := metav1.Condition{Type: infrav1.NodesReadyCondition}
	switch {
	case s.nodes != nil && s.desired != nil && s.nodes.ready == *s.desired && s.nodes.count == *s.desired:
		c.Status, c.Reason = metav1.ConditionTrue, infrav1.ReadyReason
		c.Message = fmt.Sprintf("%d of %d Nodes Ready", s.nodes.ready, *s.desired)
	case s.nodes != nil && s.desired != nil:
		c.Status, c.Reason = metav1.ConditionFalse, infrav1.WaitingForNodesReason
		c.Message = fmt.Sprintf("%d of %d Nodes Ready (%d in the node group)", s.nodes.ready, *s.desired, s.nodes.count)
	case s.unreachable != "":
		c.Status, c.Reason, c.Message = metav1.ConditionUnknown, infrav1.WorkloadClusterUnreachableReason, s.unreachable
	case s.Err != nil:
		return observed.Unknown(infrav1.NodesReadyCondition, s.Err)
	default:
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, infrav1.WaitingForNodesReason, "Waiting for the node group"
	}
	return c
}

func readyCondition(ws, nodes metav1.Condition) metav1.Condition {
	for _, c := range []metav1.Condition{ws, nodes} {
		if c.Status != metav1.ConditionTrue {
			return metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: c.Reason, Message: c.Message}
		}
	}
	return metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ReadyReason}
}

// failureReasons are WorkspaceReady's reasons that need a person, not time.
var failureReasons = []string{infrav1.NodeGroupFailedReason, infrav1.NodeGroupOutputsInvalidReason, infrav1.ScalingInvalidReason}

// emitTransitions records a Warning when WorkspaceReady turns to a failure; nothing else
// makes an event (the conditions say it, and Cluster API's MachinePool reports the rest).
func (r *Reconciler) emitTransitions(before, after *infrav1.CAPTMachinePool) {
	if c := observed.NewFailure(before, after, infrav1.WorkspaceReadyCondition, failureReasons); c != nil {
		r.Recorder.Eventf(after, nil, "Warning", c.Reason, "Reconcile", "%s", "Node group is not ready: "+c.Message)
	}
}
