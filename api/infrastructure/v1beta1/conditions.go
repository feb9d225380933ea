package v1beta1

// Condition types and reasons of the infrastructure kinds. Every condition is a
// metav1.Condition; reasons are CamelCase tokens, messages are for people and never
// carry secret values or Terraform variables.

// Condition types shared by CAPT's kinds.
const (
	// ReadyCondition is true when the object has reached its desired state. On a
	// CAPTCluster, Cluster API mirrors it into the Cluster's InfrastructureReady.
	ReadyCondition = "Ready"

	// PausedCondition is true while reconciliation is paused, by Cluster.spec.paused or
	// the cluster.x-k8s.io/paused annotation.
	PausedCondition = "Paused"

	// DeletingCondition is true while the object is being deleted; its message names
	// what deletion still waits for.
	DeletingCondition = "Deleting"

	// DeletionStalledCondition is set while an object is being deleted: true when its
	// Workspace's destroy made no progress for --deletion-stall-timeout. Nothing is
	// orphaned automatically; the message says what to fix, or how to abandon the
	// Workspace (AbandonWorkspaceAnnotation).
	DeletionStalledCondition = "DeletionStalled"
)

// Condition types of a CAPTCluster.
const (
	// VPCReadyCondition is true when the VPC exists: its Workspace is Ready and its outputs
	// are read, or an existing VPC id is given.
	VPCReadyCondition = "VPCReady"
)

// Condition types of a CAPTMachinePool (and WorkspaceReadyCondition below).
const (
	// MachinePoolRollingOutCondition is true while the node group runs another version
	// than its MachinePool's: it is being upgraded one minor at a time, or held at the
	// control plane's version; the message says which, and what it waits for.
	MachinePoolRollingOutCondition = "RollingOut"

	// NodesReadyCondition is true when the node group has as many Nodes as it should, all
	// Ready, in the workload cluster; Unknown when the workload cluster cannot be read.
	NodesReadyCondition = "NodesReady"
)

// Condition types of a WorkspaceTemplate and a WorkspaceTemplateApply.
const (
	// TemplateValidCondition is true when the WorkspaceTemplate renders.
	TemplateValidCondition = "TemplateValid"

	// DependenciesReadyCondition is true when every Secret in waitForSecrets exists and
	// every Workspace in waitForWorkspaces is Ready.
	DependenciesReadyCondition = "DependenciesReady"

	// WorkspaceSyncedCondition mirrors the Workspace's Synced condition.
	WorkspaceSyncedCondition = "WorkspaceSynced"

	// WorkspaceReadyCondition mirrors the Workspace's Ready condition.
	WorkspaceReadyCondition = "WorkspaceReady"
)

// Reasons shared by CAPT's kinds.
const (
	// ReadyReason: the condition is true and nothing is pending.
	ReadyReason = "Ready"

	// DeletingReason: deletion is in progress.
	DeletingReason = "Deleting"

	// NotDeletingReason: the object is not being deleted.
	NotDeletingReason = "NotDeleting"

	// InternalErrorReason: the pass could not read or write what the condition depends
	// on (the API server timed out, restarted, refused); the condition is Unknown and the
	// message says what failed. The next pass, with backoff, looks again.
	InternalErrorReason = "InternalError"
)

// Reasons of a CAPTCluster.
const (
	// VPCProvisioningReason: the VPC Workspace is being applied.
	VPCProvisioningReason = "VPCProvisioning"

	// VPCFailedReason: the VPC Workspace reports a failure; the message carries its cause.
	VPCFailedReason = "VPCFailed"

	// VPCOutputsInvalidReason: the VPC Workspace is Ready but an output is missing or malformed.
	VPCOutputsInvalidReason = "VPCOutputsInvalid"

	// ExistingVPCReason: the VPC is an existing one, given by spec.existingVpcId and
	// spec.existingSubnets.
	ExistingVPCReason = "ExistingVPC"

	// ExistingSubnetsMissingReason: spec.existingVpcId is set without spec.existingSubnets
	// (a CAPTCluster created before admission required them): the control plane would
	// get no subnets, which EKS refuses.
	ExistingSubnetsMissingReason = "ExistingSubnetsMissing"

	// VPCRetainedReason: the VPC Workspace was left in place on deletion (retainVpcOnDelete).
	VPCRetainedReason = "VPCRetained"

	// WaitingForControlPlaneDeletionReason: deletion waits for the Cluster's control plane to be gone.
	WaitingForControlPlaneDeletionReason = "WaitingForControlPlaneDeletion"
)

// Reasons of a CAPTMachinePool.
const (
	// WaitingForControlPlaneReason: the node group waits for the Cluster's control plane
	// to be initialized (a node group joins a running cluster).
	WaitingForControlPlaneReason = "WaitingForControlPlane"

	// WaitingForInfrastructureReason: the node group waits for the CAPTCluster's subnets.
	WaitingForInfrastructureReason = "WaitingForInfrastructure"

	// NodeGroupProvisioningReason: the node group Workspace is being applied.
	NodeGroupProvisioningReason = "NodeGroupProvisioning"

	// NodeGroupFailedReason: the node group Workspace reports a failure; the message
	// carries its cause.
	NodeGroupFailedReason = "NodeGroupFailed"

	// NodeGroupOutputsInvalidReason: the node group Workspace is Ready but its
	// node_group_name output is missing or malformed.
	NodeGroupOutputsInvalidReason = "NodeGroupOutputsInvalid"

	// ScalingInvalidReason: the desired size is outside spec.scaling; nothing is applied
	// until one of them changes.
	ScalingInvalidReason = "ScalingInvalid"

	// MachinePoolRollingOutReason: the node group is being upgraded to the MachinePool's
	// version (or the control plane's, when the MachinePool is ahead of it).
	MachinePoolRollingOutReason = "RollingOut"

	// MachinePoolNotRollingOutReason: the node group runs the MachinePool's version, or is
	// still being created.
	MachinePoolNotRollingOutReason = "NotRollingOut"

	// WaitingForControlPlaneUpgradeReason: the MachinePool asks for a newer minor than the
	// control plane runs (its status.version); the node group stays at the control plane's
	// until the control plane reports the next one. EKS refuses a node group newer than
	// its cluster.
	WaitingForControlPlaneUpgradeReason = "WaitingForControlPlaneUpgrade"

	// WaitingForNodesReason: fewer Nodes of the node group are Ready than desired.
	WaitingForNodesReason = "WaitingForNodes"

	// WorkloadClusterUnreachableReason: the workload cluster's Nodes cannot be read (no
	// connection through Cluster API's ClusterCache yet, or lost).
	WorkloadClusterUnreachableReason = "WorkloadClusterUnreachable"
)

// Reasons of a WorkspaceTemplate and a WorkspaceTemplateApply.
const (
	// TemplateNotFoundReason: the referenced WorkspaceTemplate does not exist.
	TemplateNotFoundReason = "TemplateNotFound"

	// TemplateInvalidReason: the WorkspaceTemplate cannot be rendered.
	TemplateInvalidReason = "TemplateInvalid"

	// WaitingForSecretsReason: a Secret in waitForSecrets does not exist yet.
	WaitingForSecretsReason = "WaitingForSecrets"

	// WaitingForWorkspacesReason: a Workspace in waitForWorkspaces is not Ready yet.
	WaitingForWorkspacesReason = "WaitingForWorkspaces"

	// WaitingForSharedStateReason: the apply's Workspace was created by another management
	// cluster (the apply was moved, by clusterctl move) and is not here; CAPT creates it
	// again only once the ProviderConfig it names says its Terraform state is shared
	// (SharedTerraformStateAnnotation), so that Terraform finds what it applied instead of
	// creating it a second time.
	WaitingForSharedStateReason = "WaitingForSharedTerraformState"

	// WorkspaceNotFoundReason: the Workspace has not been created or observed yet.
	WorkspaceNotFoundReason = "WorkspaceNotFound"

	// WorkspaceConditionUnknownReason: the Workspace has not reported the mirrored condition yet.
	WorkspaceConditionUnknownReason = "WorkspaceConditionUnknown"

	// WaitingForWorkspaceDeletionReason: deletion waits for the Workspace to be gone.
	WaitingForWorkspaceDeletionReason = "WaitingForWorkspaceDeletion"

	// WorkspaceDestroyFailedReason: the Workspace's provider reports that its destroy
	// failed; the message carries the provider's error (redacted) and the deletion's age.
	// The provider retries with backoff; CAPT waits.
	WorkspaceDestroyFailedReason = "WorkspaceDestroyFailed"

	// DeletionStalledReason: no progress for the stall timeout (DeletionStalledCondition).
	DeletionStalledReason = "DeletionStalled"

	// NotStalledReason: the deletion progresses, or has not waited the stall timeout yet.
	NotStalledReason = "NotStalled"

	// WorkspaceAbandonedReason: the Workspace is being let go without a destroy, as the
	// AbandonWorkspaceAnnotation asked.
	WorkspaceAbandonedReason = "WorkspaceAbandoned"

	// AbandonIgnoredReason: the AbandonWorkspaceAnnotation's value is not the UID of the
	// Workspace; it is ignored and the deletion keeps waiting for the destroy.
	AbandonIgnoredReason = "AbandonIgnored"

	// WorkspaceRetainedReason: the Workspace was left in place on deletion (retainWorkspaceOnDelete).
	WorkspaceRetainedReason = "WorkspaceRetained"

	// ValidReason: the WorkspaceTemplate renders.
	ValidReason = "Valid"

	// DependenciesReadyReason: every Secret and Workspace waited for is there.
	DependenciesReadyReason = "DependenciesReady"

	// WorkspaceOwnedByOtherReason: a Workspace of the expected name belongs to another
	// WorkspaceTemplateApply, or to no one; CAPT leaves it alone.
	WorkspaceOwnedByOtherReason = "WorkspaceOwnedByOther"

	// WorkspaceNotSyncedReason: provider-terraform's last reconcile of the Workspace failed.
	WorkspaceNotSyncedReason = "WorkspaceNotSynced"

	// WorkspaceNotReadyReason: the Workspace has not applied successfully (yet).
	WorkspaceNotReadyReason = "WorkspaceNotReady"

	// WorkspaceUpdatingReason: the Workspace has not observed its current spec yet.
	WorkspaceUpdatingReason = "WorkspaceUpdating"

	// RequiredVariablesUnsetReason: the template's Inline module declares a variable
	// without a default that nothing the Workspace carries sets (the apply's variables,
	// the template's vars and varmap, an env TF_VAR_<name>), so Terraform would stop at
	// plan with "No value for required variable". The Workspace is not created, or keeps
	// its last applied spec; the message names the variables, never a value. Not checked
	// when the template has varFiles or -var arguments, whose contents CAPT does not read.
	RequiredVariablesUnsetReason = "RequiredVariablesUnset"

	// VariablesIgnoredReason: TemplateValid is true, but the template's Inline module
	// declares no variable of a name the Workspace's varmap sets (an apply variable, a
	// template varmap entry): Terraform warns and ignores the value. The apply is not held
	// back for it (a module may ignore a variable on purpose: declaring it, with a
	// default, says so); one Warning event of this reason marks each new list of names.
	VariablesIgnoredReason = "VariablesIgnored"

	// ModuleUnreadableReason: TemplateValid is true, but the template's Inline module
	// does not parse, so its variables were not checked; Terraform reports the error
	// when it runs.
	ModuleUnreadableReason = "ModuleUnreadable"

	// WaitingForRolloutSlotReason: the apply's Workspace would change and its template
	// has a rollout policy: CAPT writes it once the template's rollout grants the apply a
	// slot. A wait, not a failure.
	WaitingForRolloutSlotReason = "WaitingForRolloutSlot"

	// RolloutApplyFailedReason: a WorkspaceTemplate's rollout paused because applies
	// holding a slot report their Workspace failing (status.rollout.paused.reason).
	RolloutApplyFailedReason = "ApplyFailed"

	// RolloutSelectorInvalidReason: a WorkspaceTemplate's rollout grants no slot because
	// its canarySelector is not a valid label selector.
	RolloutSelectorInvalidReason = "CanarySelectorInvalid"
)

// The protection of a template's resources against destroy and replacement
// (WorkspaceTemplate spec.protection, docs/workspaces.md "Protected resources").
const (
	// DestructiveChangePendingCondition is true on a WorkspaceTemplateApply while a
	// change of its Workspace would destroy or replace resources its template protects:
	// provider-terraform's plan refused it (prevent_destroy), and it waits for a person's
	// approval, or is being applied after one. False when no such change is pending.
	// Set only when the template declares spec.protection.
	DestructiveChangePendingCondition = "DestructiveChangePending"

	// DestructiveChangePendingReason: a plan of the current spec would destroy or
	// replace protected resources; the message names them, the change's hash and the
	// command that approves it. Ready is False with this reason too: a wait that only a
	// person ends, not a failure.
	DestructiveChangePendingReason = "DestructiveChangePending"

	// ConfirmingDestructiveChangeReason: the Workspace reports a plan that refused to
	// destroy protected resources, but maybe of an earlier spec (provider-terraform
	// v0.21 says of no condition which generation it is about): CAPT pauses the
	// Workspace and lifts the pause once the provider has seen it, so that the next plan
	// is of the current spec, before it shows a change that can be approved.
	ConfirmingDestructiveChangeReason = "ConfirmingDestructiveChange"

	// DestructiveChangeApprovedReason: the approval annotation names the pending
	// change; the Workspace runs without protection until it is Ready.
	DestructiveChangeApprovedReason = "DestructiveChangeApproved"

	// NoDestructiveChangeReason: no change of the Workspace waits for approval.
	NoDestructiveChangeReason = "NoDestructiveChange"

	// ApproveDestructiveChangeAnnotation on a WorkspaceTemplateApply approves the
	// destructive change whose hash it carries (status.destructiveChange.hash): any other
	// value approves nothing.
	ApproveDestructiveChangeAnnotation = "infrastructure.cluster.x-k8s.io/approve-destructive-change"

	// ProtectionAnnotation, on a Workspace of a protected template, records where CAPT's
	// protection of it stands, with the hash of the spec it is about: written together
	// with the spec, so that it survives a restart.
	ProtectionAnnotation = "infrastructure.cluster.x-k8s.io/protection"
)

// WorkspaceTemplateApplyFailureReasons are the reasons of a WorkspaceTemplateApply's
// Ready=False that mean something is wrong and will not fix itself: the owners of an
// apply (CAPTCluster, CAPTControlPlane) report them as failures. Every other reason of a
// Ready=False apply is a wait (WaitingForSecrets, WaitingForWorkspaces,
// WorkspaceNotFound, WorkspaceNotReady, WorkspaceUpdating, Deleting,
// DestructiveChangePending, ConfirmingDestructiveChange, DestructiveChangeApproved).
var WorkspaceTemplateApplyFailureReasons = []string{
	WorkspaceNotSyncedReason, TemplateInvalidReason, TemplateNotFoundReason, WorkspaceOwnedByOtherReason,
	RequiredVariablesUnsetReason,
}

// Phases shown in status.phase and the printer columns: a summary for people; programs
// read the conditions.
const (
	PhaseProvisioning = "Provisioning"
	PhaseProvisioned  = "Provisioned"
	PhaseFailed       = "Failed"
	PhaseDeleting     = "Deleting"
)

// Labels and annotations CAPT sets on the Workspaces it creates.
const (
	// WorkspaceTemplateApplyAnnotation holds "<namespace>/<name>" of the
	// WorkspaceTemplateApply that owns a Workspace; CAPT maps Workspace events back to
	// their owner with it (annotations have no length limit, names can be 253 characters).
	WorkspaceTemplateApplyAnnotation = "infrastructure.cluster.x-k8s.io/workspacetemplateapply"

	// WorkspaceTemplateApplyNamespaceLabel holds the owner's namespace, for selecting the
	// Workspaces CAPT manages.
	WorkspaceTemplateApplyNamespaceLabel = "infrastructure.cluster.x-k8s.io/workspacetemplateapply-namespace"

	// WorkspaceTemplateApplyNameLabel holds the owner's name when it fits in a label value.
	WorkspaceTemplateApplyNameLabel = "infrastructure.cluster.x-k8s.io/workspacetemplateapply-name"

	// AbandonWorkspaceAnnotation, on a WorkspaceTemplateApply being deleted, asks CAPT to
	// let its Workspace go without a destroy; its value must be the Workspace's UID, so
	// that it names one Workspace and cannot be copied onto another by mistake. CAPT sets
	// the Workspace's deletion policy to Orphan (management policies without Delete on the
	// namespaced groups): the provider removes its finalizer and leaves the cloud
	// resources and the Terraform state untouched. An event records it. Set on a
	// CAPTControlPlane or CAPTCluster being deleted, it is passed to its apply.
	AbandonWorkspaceAnnotation = "infrastructure.cluster.x-k8s.io/abandon-workspace"

	// SpecHashAnnotation holds a hash of the spec CAPT last applied, so that a field
	// removed from the template is noticed and removed from the Workspace too.
	SpecHashAnnotation = "infrastructure.cluster.x-k8s.io/spec-hash"

	// RolloutHashAnnotation holds a hash of the Workspace as rendered from its template
	// and variables when CAPT last wrote it; a rollout slot (WorkspaceTemplate
	// status.rollout.slots) allows one apply to write one such rendering. What CAPT sets
	// on the rendered Workspace afterwards (a protection variable, destroyArgs) is not in
	// it, so changing only that needs no slot.
	RolloutHashAnnotation = "infrastructure.cluster.x-k8s.io/rollout-hash"

	// ResumeRolloutAnnotation on a WorkspaceTemplate resumes its paused rollout when its
	// value is the pause's token (status.rollout.paused.token): a value copied from an
	// earlier pause resumes nothing.
	ResumeRolloutAnnotation = "infrastructure.cluster.x-k8s.io/resume-rollout"

	// PausedWithClusterAnnotation marks a Workspace CAPT paused (Crossplane's
	// CrossplanePausedAnnotation) because its Cluster is paused, during clusterctl move
	// for instance; CAPT lifts only the pauses it set, never a person's.
	PausedWithClusterAnnotation = "infrastructure.cluster.x-k8s.io/paused-with-cluster"

	// CrossplanePausedAnnotation set to "true" stops a Crossplane provider from acting on
	// a managed resource: no apply, and no destroy even when it is deleted.
	CrossplanePausedAnnotation = "crossplane.io/paused"
)

// Annotations of clusterctl move.
const (
	// WorkspaceManagementClusterAnnotation, on a WorkspaceTemplateApply, holds the UID of
	// the kube-system namespace of the management cluster where CAPT paused its Workspace
	// because the Cluster was paused. clusterctl move pauses before it copies, so a moved
	// apply carries the UID of the cluster it came from: where the UID is another and the
	// Workspace is missing, the Workspace lives on the other management cluster, and is
	// created again here only if the Terraform state is shared. CAPT removes it once the
	// apply's Workspace exists where the apply is.
	WorkspaceManagementClusterAnnotation = "infrastructure.cluster.x-k8s.io/workspace-management-cluster"

	// SharedTerraformStateAnnotation set to "true" on a provider-terraform ProviderConfig
	// says that its Terraform state lives in a backend every management cluster reaches (S3,
	// a shared Kubernetes backend), not in the management cluster itself: CAPT may then
	// create again, after clusterctl move, a Workspace created by another management cluster.
	SharedTerraformStateAnnotation = "infrastructure.cluster.x-k8s.io/shared-terraform-state"
)

// Finalizers: domain-qualified names with a path, as the API server asks (it warns about
// names without one). The legacy names, without a path, were used up to v0.1; CAPT still
// honours them on objects being deleted and replaces them on the others, so an upgrade
// leaves nothing stuck.
const (
	// CAPTClusterFinalizer holds a CAPTCluster until its VPC is deleted or retained.
	CAPTClusterFinalizer = "infrastructure.cluster.x-k8s.io/captcluster"
	// LegacyCAPTClusterFinalizer is CAPTClusterFinalizer's name up to v0.1.
	LegacyCAPTClusterFinalizer = "captcluster.infrastructure.cluster.x-k8s.io"

	// CAPTMachinePoolFinalizer holds a CAPTMachinePool until its node group Workspace is
	// destroyed.
	CAPTMachinePoolFinalizer = "infrastructure.cluster.x-k8s.io/captmachinepool"

	// WorkspaceTemplateApplyFinalizer holds a WorkspaceTemplateApply until its Workspace is gone.
	WorkspaceTemplateApplyFinalizer = "infrastructure.cluster.x-k8s.io/workspacetemplateapply"
	// LegacyWorkspaceTemplateApplyFinalizer is WorkspaceTemplateApplyFinalizer's name up to v0.1.
	LegacyWorkspaceTemplateApplyFinalizer = "workspacetemplateapply.infrastructure.cluster.x-k8s.io"
)
