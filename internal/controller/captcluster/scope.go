package captcluster

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
	cc      *infrav1.CAPTCluster
	cluster *clusterv1.Cluster

	// existing says the VPC is spec.existingVpcId.
	existing bool
	// vpcProblem is what keeps the VPC from being ready, nil when it is.
	vpcProblem *problem
	// applyUnknown is the VPC WorkspaceTemplateApply's Ready when it could not tell (its
	// own pass failed to read): the VPC's state is unknown too.
	applyUnknown *metav1.Condition

	// deletion is what a deleting pass waits for.
	deletion *observed.Step
	// finished says the API server shows the deletion done (the finalizer is gone): the
	// pass ran from a cache that has not caught up, and has nothing to report.
	finished bool

	// err is what the pass failed to read or write: VPCReady is Unknown if the pass did
	// not get to it, and Ready keeps what it said.
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
