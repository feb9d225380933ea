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

	// RollingOutCondition is true while the control plane is upgraded to spec.version,
	// one minor version at a time; its message names the version reached and the one
	// being applied. Cluster API mirrors it into the Cluster's RollingOut condition.
	RollingOutCondition = "RollingOut"

	// TokenReady says where the published kubeconfig's credentials come from and whether
	// they are current: true with TokenMinted when CAPT minted the EKS token it carries
	// (refreshed before it expires), true with KubeconfigFromModule when the module
	// outputs its own kubeconfig; false when a token cannot be minted.
	TokenReadyCondition = "TokenReady"
)

// Reasons of a CAPTControlPlane.
const (
	// EndpointUpdateFailedReason: the Cluster refused spec.controlPlaneEndpoint (an
	// admission policy, a webhook); the message says why (CAPTEP-0014). Retried after the
	// error interval, since no watched change will end it.
	EndpointUpdateFailedReason = "EndpointUpdateFailed"

	// EndpointOutputMissingReason: the Workspace is Ready but has no endpoint output.
	EndpointOutputMissingReason = "EndpointOutputMissing"

	// EndpointInvalidReason: the endpoint output is not a usable host and port.
	EndpointInvalidReason = "EndpointInvalid"

	// WaitingForInfrastructureReason: the CAPTCluster's outputs (VPC, subnets) are not ready.
	WaitingForInfrastructureReason = "WaitingForInfrastructure"

	// WaitingForWorkspaceReason: the control plane Workspace is not Ready yet.
	WaitingForWorkspaceReason = "WaitingForWorkspace"

	// SecretsNotReadyReason: the API server refused to create or update the kubeconfig or
	// CA secret (too large, refused by a policy); the message says which and why.
	SecretsNotReadyReason = "SecretsNotReady"

	// SecretOwnedByOtherReason: a secret with the contract's name belongs to someone else
	// and is left alone.
	SecretOwnedByOtherReason = "SecretOwnedByOther"

	// CAOutputMissingReason: the Workspace is Ready but has neither a CA output nor a
	// kubeconfig output.
	CAOutputMissingReason = "CAOutputMissing"

	// CAInvalidReason: the CA output is not a PEM certificate (or its base64).
	CAInvalidReason = "CAInvalid"

	// KubeconfigInvalidReason: the kubeconfig output does not load.
	KubeconfigInvalidReason = "KubeconfigInvalid"

	// WorkspaceUpdatingReason: the Workspace applies a change (such as a version upgrade);
	// the control plane stays available meanwhile.
	WorkspaceUpdatingReason = "WorkspaceUpdating"

	// RollingOutReason: the control plane is being upgraded to spec.version.
	RollingOutReason = "RollingOut"

	// NotRollingOutReason: the control plane runs spec.version, or is still being created
	// (a version change before it is initialized is applied as is, not stepped).
	NotRollingOutReason = "NotRollingOut"

	// TokenMintedReason: the kubeconfig carries an EKS token CAPT minted; the message
	// names the identity and the refresh interval.
	TokenMintedReason = "TokenMinted"

	// KubeconfigFromModuleReason: the module outputs its own kubeconfig, published as is;
	// CAPT mints no token.
	KubeconfigFromModuleReason = "KubeconfigFromModule"

	// IdentityNotFoundReason: spec.identityRef names a Secret that does not exist in the
	// CAPTControlPlane's namespace.
	IdentityNotFoundReason = "IdentityNotFound"

	// IdentityInvalidReason: the identity Secret lacks AccessKeyID or SecretAccessKey.
	IdentityInvalidReason = "IdentityInvalid"

	// TokenMintFailedReason: no token could be signed (no credentials in the manager's
	// default chain, no region). Retried after the error interval; a kubeconfig already
	// published is left as it is.
	TokenMintFailedReason = "TokenMintFailed"

	// AvailableReason: the control plane serves: endpoint and secrets are in place.
	AvailableReason = "Available"

	// WaitingForNodeGroupsDeletionReason: deletion waits, before it starts, for the
	// Cluster's node group WorkspaceTemplateApplies (CAPTMachinePools) and their
	// Workspaces to be gone: the control plane outlives its workers.
	WaitingForNodeGroupsDeletionReason = "WaitingForNodeGroupsDeletion"

	// ClearingEndpointReason: deletion is clearing the endpoint (CAPTEP-0041 step 1).
	ClearingEndpointReason = "ClearingEndpoint"

	// DeletingWorkspaceTemplateApplyReason: deletion waits for the WorkspaceTemplateApply
	// and its Workspace to be gone (CAPTEP-0041 steps 2 and 3).
	DeletingWorkspaceTemplateApplyReason = "DeletingWorkspaceTemplateApply"
)

// FailureReasons are the reasons of a CAPTControlPlane's conditions that mean something
// is wrong, as opposed to not done yet; with infrav1.WorkspaceTemplateApplyFailureReasons
// (mirrored from the control plane's WorkspaceTemplateApply) they make the phase Failed,
// a Warning event, and come first in Available's message.
var FailureReasons = []string{
	EndpointOutputMissingReason, EndpointInvalidReason, EndpointUpdateFailedReason,
	CAOutputMissingReason, CAInvalidReason, KubeconfigInvalidReason,
	SecretOwnedByOtherReason, SecretsNotReadyReason,
	IdentityNotFoundReason, IdentityInvalidReason, TokenMintFailedReason,
}

// Finalizers (see infrav1's for the legacy names).
const (
	// CAPTControlPlaneFinalizer holds a CAPTControlPlane until its Workspace is really gone.
	CAPTControlPlaneFinalizer = "controlplane.cluster.x-k8s.io/captcontrolplane"
	// LegacyCAPTControlPlaneFinalizer is CAPTControlPlaneFinalizer's name up to v0.1.
	LegacyCAPTControlPlaneFinalizer = "captcontrolplane.controlplane.cluster.x-k8s.io"
)

// Phases shown in status.phase (the proposals' column): a summary for people.
const (
	PhaseCreating = "Creating"
	PhaseReady    = "Ready"
	PhaseUpdating = "Updating"
	PhaseFailed   = "Failed"
	PhaseDeleting = "Deleting"
)

// Outputs CAPT reads from the control plane Workspace, in order of preference.
var (
	// EndpointOutputs hold the API server address (https://host[:port] or host[:port]).
	EndpointOutputs = []string{"cluster_endpoint", "endpoint"}
	// CAOutputs hold the cluster CA certificate, PEM or base64-encoded PEM.
	CAOutputs = []string{"cluster_certificate_authority_data", "certificate_authority_data", "cluster_ca_certificate", "ca_certificate"}
	// KubeconfigOutputs hold a complete kubeconfig, used as is when present.
	KubeconfigOutputs = []string{"kubeconfig"}
	// ClusterNameOutputs hold the EKS cluster name CAPT signs its tokens for (and the
	// user kubeconfig passes to `aws eks get-token`); the Cluster's name without one.
	ClusterNameOutputs = []string{"cluster_name"}
	// VersionOutputs hold the Kubernetes version the control plane runs once applied
	// ("1.30"): how CAPT knows a version change was applied, with a provider that does not
	// report the generation it applied (provider-terraform v0.21 keeps Ready=True from the
	// previous apply while it applies a change). Read from the Workspace's status (not
	// sensitive).
	VersionOutputs = []string{"cluster_version", "kubernetes_version"}
)
