package machinepool

import (
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
	workspaceProblem *observed.Problem
	// applyUnknown is why the node group WorkspaceTemplateApply could not tell whether
	// it is Ready (its own pass failed to read): the node group's state is unknown too.
	applyUnknown *observed.Problem
	// workspaceReady says the node group's apply is Ready for its current spec and its
	// outputs are read.
	workspaceReady bool

	// version is what the pass found of the node group's version; nil when it did not
	// get that far.
	version *versionState

	// desired is the size the pool should have (its MachinePool's replicas), once known.
	desired *int32
	// nodes is what the pass saw of the node group's Nodes; nil when it did not look.
	nodes *nodes
	// unreachable says why the workload cluster's Nodes could not be read.
	unreachable string

	observed.Pass
}
