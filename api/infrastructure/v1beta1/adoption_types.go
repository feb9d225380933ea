package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Adoption takes over Terraform state that already exists (docs/adopt.md): a cluster a
// team made with Terraform, now brought under Cluster API without being recreated.
type Adoption struct {
	// TerraformWorkspace is the Terraform workspace, in the backend of the template's
	// ProviderConfig, whose state this apply takes over ("default" for state written
	// without workspaces). provider-terraform selects a Workspace's state by its external
	// name (crossplane.io/external-name), which CAPT sets to this. It cannot change: another
	// name is another state, and Terraform would create everything again there.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=90
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._-]*$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="terraformWorkspace cannot change: another name is another Terraform state"
	TerraformWorkspace string `json:"terraformWorkspace"`

	// DeletionPolicy says what deleting the apply (the Cluster) does to the adopted
	// resources. Retain (the default): the Workspace is deleted without a destroy, the
	// resources and the Terraform state stay, as they were before the adoption. Delete:
	// the Workspace is destroyed as any other (terraform destroy).
	// +optional
	// +kubebuilder:default=Retain
	// +kubebuilder:validation:Enum=Retain;Delete
	DeletionPolicy AdoptionDeletionPolicy `json:"deletionPolicy,omitempty"`
}

// AdoptionDeletionPolicy is what deleting an adopting apply does to what it adopted.
type AdoptionDeletionPolicy string

const (
	// AdoptionRetain releases the adopted resources and their state on deletion.
	AdoptionRetain AdoptionDeletionPolicy = "Retain"
	// AdoptionDelete destroys them, as for a Workspace CAPT created.
	AdoptionDelete AdoptionDeletionPolicy = "Delete"
)

// Retains says whether deleting the apply leaves the adopted resources and state in
// place: unless a person chose Delete.
func (a *Adoption) Retains() bool {
	return a != nil && a.DeletionPolicy != AdoptionDelete
}

// AdoptionStatus is how far an apply got in taking over existing Terraform state.
type AdoptionStatus struct {
	// Phase: WaitingForState (no Workspace yet: the state is not confirmed), Observing
	// (the Workspace only plans: managementPolicies Observe), ChangesPending (its plan
	// shows changes: nothing is applied until a person approves), Adopted.
	// +optional
	// +kubebuilder:validation:Enum=WaitingForState;Observing;ChangesPending;Adopted
	Phase AdoptionPhase `json:"phase,omitempty"`

	// StateSecret is "<namespace>/<name>" of the kubernetes backend's state Secret CAPT
	// confirmed (or waits for); empty for other backends, which CAPT cannot read.
	// +optional
	// +kubebuilder:validation:MaxLength=507
	StateSecret string `json:"stateSecret,omitempty"`

	// ChangesToken names the changes a plan showed while Phase is ChangesPending: the
	// approval annotation (ApproveAdoptionChangesAnnotation) must carry it.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	ChangesToken string `json:"changesToken,omitempty"`

	// AdoptedTime is when the state was adopted: the Workspace's plan changed nothing, or
	// a person approved its changes (Approved).
	// +optional
	AdoptedTime *metav1.Time `json:"adoptedTime,omitempty"`

	// Approved is true when a person approved the changes of the first plan.
	// +optional
	Approved bool `json:"approved,omitempty"`

	// DeletionPolicy is what deleting this apply does to the adopted resources: Retain
	// or Delete (spec.adopt.deletionPolicy, shown here so that it is seen).
	// +optional
	DeletionPolicy AdoptionDeletionPolicy `json:"deletionPolicy,omitempty"`
}

// AdoptionPhase is a step of an adoption.
type AdoptionPhase string

// The phases of an adoption (AdoptionStatus.Phase).
const (
	AdoptionWaitingForState AdoptionPhase = "WaitingForState"
	AdoptionObserving       AdoptionPhase = "Observing"
	AdoptionChangesPending  AdoptionPhase = "ChangesPending"
	AdoptionAdopted         AdoptionPhase = "Adopted"
)

const (
	// AdoptedCondition is on a WorkspaceTemplateApply with spec.adopt: True once the
	// existing state is taken over; False while CAPT confirms it (the reasons below).
	AdoptedCondition = "Adopted"

	// StateAdoptedReason says: the Workspace's plan over the existing state changed nothing
	// (or a person approved its changes); the Workspace is managed as any other now.
	StateAdoptedReason = "StateAdopted"

	// WaitingForTerraformStateReason says: the state to adopt is not there, or cannot be
	// read; no Workspace is created meanwhile.
	WaitingForTerraformStateReason = "WaitingForTerraformState"

	// ObservingStateReason says: the Workspace exists with managementPolicies Observe only:
	// provider-terraform plans over the existing state and applies nothing.
	ObservingStateReason = "ObservingState"

	// AdoptionChangesPendingReason says: the plan over the existing state shows changes;
	// nothing is applied until a person approves them (ApproveAdoptionChangesAnnotation).
	AdoptionChangesPendingReason = "AdoptionChangesPending"

	// AdoptionStateEmptyReason says: provider-terraform found no resource and no output in the
	// state it selected: the name or the backend is wrong; nothing is created.
	AdoptionStateEmptyReason = "AdoptionStateEmpty"

	// AdoptionConflictReason says: the apply's Workspace exists with another Terraform
	// workspace than spec.adopt names; CAPT never moves a Workspace to another state.
	AdoptionConflictReason = "AdoptionConflict"

	// AdoptedWorkspaceReleasedReason says: an adopted apply being deleted lets its Workspace go
	// without a destroy (spec.adopt.deletionPolicy Retain).
	AdoptedWorkspaceReleasedReason = "AdoptedWorkspaceReleased"

	// ExternalNameAnnotation is Crossplane's external name: for a provider-terraform
	// Workspace, the Terraform workspace that holds its state.
	ExternalNameAnnotation = "crossplane.io/external-name"
)

// AdoptionWaitReasons are the reasons of an adopting apply's Ready that only the state
// appearing or a person ends: its owner says them in the apply's words, up to the Cluster.
var AdoptionWaitReasons = []string{WaitingForTerraformStateReason, AdoptionChangesPendingReason, AdoptionStateEmptyReason, AdoptionConflictReason}

const (
	// ApproveAdoptionChangesAnnotation on a WorkspaceTemplateApply approves the changes
	// the first plan over the adopted state showed: its value must be
	// status.adoption.changesToken.
	ApproveAdoptionChangesAnnotation = "infrastructure.cluster.x-k8s.io/approve-adoption-changes"
)
