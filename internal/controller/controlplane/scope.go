package controlplane

import (
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/lifecycle"
	"github.com/capt-dev/capt/internal/controller/observed"
)

// scope is one pass of the reconciler: the objects it works on, what it found, what it
// could not read, and the deletion step it reached. status.go computes every status
// field from it alone, in the one deferred patch, so a pass that stops early (an error,
// a wait) still reports each condition as observed, absent or not checked.
type scope struct {
	cp      *controlplanev1.CAPTControlPlane
	cluster *clusterv1.Cluster
	// writer writes the pass's changes to cp: a step that must be on the API server
	// before the next (Persist), and the deferred write.
	writer *lifecycle.Writer

	// waitingForInfra names the infrastructure the control plane waits for.
	waitingForInfra string
	// apply is the control plane's WorkspaceTemplateApply, nil before it was written.
	apply *infrav1.WorkspaceTemplateApply
	// runningVersion is the version the Workspace was last Ready with (status.version),
	// and applyingVersion the one the apply asks for now (nextVersion); both as
	// spec.version spells them. Empty when the pass did not get to the apply.
	runningVersion, applyingVersion string
	// heldAddons are the add-ons of the spec the apply does not get yet: they need Nodes,
	// and no node group of the Cluster is Ready (addonsToRender).
	heldAddons []string
	// versionUnconfirmed says why a Ready Workspace cannot be shown to run the version it
	// was asked for (no version output, no generation reported), or "".
	versionUnconfirmed string

	// endpointChecked says the outputs were read; endpointProblem is then what keeps the
	// endpoint from being set, or nil. A new endpoint is ready in the pass that sets it:
	// the pass's write persists spec.controlPlaneEndpoint before the status, and writes
	// no status if that fails.
	endpointChecked bool
	endpointProblem *observed.Problem

	// eksOutputs is what the module reports of the EKS cluster, nil when the pass did not
	// read the outputs (status.eks then keeps what it said).
	eksOutputs *eksOutputs

	// published is what the publisher found of the contract's secrets and the
	// kubeconfig's credentials, nil when the pass did not get to the secrets.
	published *published

	observed.Pass
}
