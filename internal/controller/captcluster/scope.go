package captcluster

import (
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
	vpcProblem *observed.Problem
	// applyUnknown is why the VPC WorkspaceTemplateApply could not tell whether it is
	// Ready (its own pass failed to read): the VPC's state is unknown too.
	applyUnknown *observed.Problem

	observed.Pass
}
