package machinepool

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
)

// scope is one pass of the reconciler: the objects it works on, what it found, what it
// could not read, and what deletion waits for. status.go computes every status field
// from it alone, in the one deferred patch.
type scope struct {
	mp      *infrav1.CAPTMachinePool
	owner   *clusterv1.MachinePool
	cluster *clusterv1.Cluster

	// workspaceProblem is what keeps the node group from being ready, nil when nothing
	// does (or the pass did not get that far).
	workspaceProblem *problem
	// applyUnknown is the node group WorkspaceTemplateApply's Ready when it could not
	// tell (its own pass failed to read): the node group's state is unknown too.
	applyUnknown *metav1.Condition
	// workspaceReady says the node group's apply is Ready for its current spec and its
	// outputs are read.
	workspaceReady bool

	// desired is the size the pool should have (its MachinePool's replicas), once known.
	desired *int32
	// nodes is what the pass saw of the node group's Nodes; nil when it did not look.
	nodes *nodes
	// unreachable says why the workload cluster's Nodes could not be read.
	unreachable string

	// deletion is what a deleting pass waits for.
	deletion *observed.Step
	// finished says the API server shows the deletion done (the finalizer is gone): the
	// pass ran from a cache that has not caught up, and has nothing to report.
	finished bool

	// err is what the pass failed to read or write: what it did not get to is Unknown,
	// and Ready keeps what it said.
	err error
}

// problem is a condition's reason and message when something is not right or awaited.
type problem struct {
	reason, message string
}

// deleting records what deletion is doing before it acts, so that a failure shows on the
// Deleting condition with the step's reason.
func (s *scope) deleting(reason, message string) {
	s.deletion = &observed.Step{Reason: reason, Message: message}
}
