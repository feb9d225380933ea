package v1beta1

// Condition types and reasons of CAPTControlPlane. The Ready, Paused and Deleting types
// and the shared reasons are those of the infrastructure package (infrav1), so that every
// CAPT kind says the same thing the same way.

// Condition types of a CAPTControlPlane.
const (
	// AvailableCondition is true when the control plane serves: Cluster API mirrors it
	// into the Cluster's ControlPlaneAvailable.
	AvailableCondition = "Available"

	// WorkspaceReadyCondition is true when the control plane's WorkspaceTemplateApply
	// reports its Workspace Ready.
	WorkspaceReadyCondition = "WorkspaceReady"

	// EndpointReadyCondition is true when the endpoint was read from the Workspace
	// outputs and written to spec.controlPlaneEndpoint and to the Cluster.
	EndpointReadyCondition = "EndpointReady"

	// SecretsReadyCondition is true when the kubeconfig and CA secrets exist and match.
	SecretsReadyCondition = "SecretsReady"
)

// Reasons of a CAPTControlPlane.
const (
	// EndpointUpdateFailedReason: the endpoint could not be read, parsed or written; the
	// message names the output or the object and why (CAPTEP-0014).
	EndpointUpdateFailedReason = "EndpointUpdateFailed"

	// EndpointOutputMissingReason: the Workspace is Ready but has no endpoint output.
	EndpointOutputMissingReason = "EndpointOutputMissing"

	// EndpointInvalidReason: the endpoint output is not a usable host and port.
	EndpointInvalidReason = "EndpointInvalid"

	// WaitingForInfrastructureReason: the CAPTCluster's outputs (VPC, subnets) are not ready.
	WaitingForInfrastructureReason = "WaitingForInfrastructure"

	// WaitingForWorkspaceReason: the control plane Workspace is not Ready yet.
	WaitingForWorkspaceReason = "WaitingForWorkspace"

	// WorkspaceFailedReason: the control plane Workspace reports a failure.
	WorkspaceFailedReason = "WorkspaceFailed"

	// SecretsNotReadyReason: the kubeconfig or CA secret does not exist or is stale.
	SecretsNotReadyReason = "SecretsNotReady"

	// SecretOwnedByOtherReason: a secret with the contract's name belongs to someone else
	// and is left alone.
	SecretOwnedByOtherReason = "SecretOwnedByOther"

	// ClearingEndpointReason: deletion is clearing the endpoint (CAPTEP-0041 step 1).
	ClearingEndpointReason = "ClearingEndpoint"

	// DeletingWorkspaceTemplateApplyReason: deletion waits for the WorkspaceTemplateApply
	// and its Workspace to be gone (CAPTEP-0041 steps 2 and 3).
	DeletingWorkspaceTemplateApplyReason = "DeletingWorkspaceTemplateApply"
)

// CAPTControlPlaneFinalizer holds a CAPTControlPlane until its Workspace is really gone.
const CAPTControlPlaneFinalizer = "captcontrolplane.controlplane.cluster.x-k8s.io"
