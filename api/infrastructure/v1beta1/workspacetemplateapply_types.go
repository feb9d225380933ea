package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WorkspaceTemplateApplySpec renders one WorkspaceTemplate with variables into one Workspace.
type WorkspaceTemplateApplySpec struct {
	// TemplateRef names the WorkspaceTemplate to render.
	// +required
	TemplateRef WorkspaceTemplateReference `json:"templateRef"`

	// Variables are Terraform input variables, passed to the Workspace as data (vars),
	// never spliced into the module's text.
	// +optional
	// +kubebuilder:validation:MaxProperties=256
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[A-Za-z_][A-Za-z0-9_-]*$') && size(k) <= 128)",message="variable names must be Terraform identifiers (letters, digits, '_' and '-', not starting with a digit), at most 128 characters"
	Variables map[string]string `json:"variables,omitempty"`

	// SensitiveVariables names the variables whose values are secret, besides those the
	// template marks: CAPT masks their values in the messages it mirrors from the
	// Workspace. Other values stay readable.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=128
	SensitiveVariables []string `json:"sensitiveVariables,omitempty"`

	// WriteConnectionSecretToRef is where the Workspace writes every output, the
	// sensitive ones too. It overrides the template's.
	// +optional
	WriteConnectionSecretToRef *SecretReference `json:"writeConnectionSecretToRef,omitempty"`

	// WaitForSecrets lists Secrets that must exist before the Workspace is created.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	WaitForSecrets []SecretReference `json:"waitForSecrets,omitempty"`

	// WaitForWorkspaces lists Workspaces that must be Ready before the Workspace is created.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	WaitForWorkspaces []WorkspaceReference `json:"waitForWorkspaces,omitempty"`

	// RetainWorkspaceOnDelete leaves the Workspace, and what it created, in place when
	// this WorkspaceTemplateApply is deleted.
	// +optional
	RetainWorkspaceOnDelete bool `json:"retainWorkspaceOnDelete,omitempty"`

	// Adopt takes over Terraform state that already exists instead of starting from an
	// empty one (docs/adopt.md): no Workspace until the state is confirmed, then one that
	// only plans until its plan changes nothing or a person approves the changes.
	// +optional
	Adopt *Adoption `json:"adopt,omitempty"`
}

// WorkspaceTemplateApplyStatus is the observed state of a WorkspaceTemplateApply.
type WorkspaceTemplateApplyStatus struct {
	// WorkspaceName is the name of the Workspace this object owns.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	WorkspaceName string `json:"workspaceName,omitempty"`

	// Applied is true once the Workspace has been Ready for the current spec.
	// +optional
	Applied bool `json:"applied,omitempty"`

	// LastAppliedTime is when the Workspace last became Ready.
	// +optional
	LastAppliedTime *metav1.Time `json:"lastAppliedTime,omitempty"`

	// Drift counts the provider's applies of the Workspace that no change of its spec
	// explains (drift reverted); absent until the Workspace was first Ready.
	// +optional
	Drift *WorkspaceDrift `json:"drift,omitempty"`

	// ObservedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, TemplateValid, DependenciesReady, WorkspaceSynced,
	// WorkspaceReady, Deleting, DriftReverted, DestructiveChangePending, Adopted.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// DestructiveChange is the change held back because it would destroy or replace
	// resources the template protects (WorkspaceTemplate spec.protection), until a person
	// approves it; unset when none is.
	// +optional
	DestructiveChange *DestructiveChange `json:"destructiveChange,omitempty"`

	// Rollout is what the template's rollout needs to know of this apply; set only while
	// its template has a rollout policy (spec.rollout).
	// +optional
	Rollout *ApplyRolloutStatus `json:"rollout,omitempty"`

	// Adoption is how far taking over existing state got; set only with spec.adopt.
	// +optional
	Adoption *AdoptionStatus `json:"adoption,omitempty"`
}

// ApplyRolloutStatus is an apply's part in its template's rollout.
type ApplyRolloutStatus struct {
	// Hash is the rollout hash of the Workspace as CAPT last wrote it
	// (RolloutHashAnnotation): the rendering Ready speaks of.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Hash string `json:"hash,omitempty"`

	// PendingHash is the rollout hash of the rendering that waits for a slot.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	PendingHash string `json:"pendingHash,omitempty"`

	// TemplateGeneration is the template's generation this apply last rendered, set only
	// on the applies the template's canarySelector selects: the other applies get no
	// slot until every canary has rendered the current template and changed.
	// +optional
	TemplateGeneration int64 `json:"templateGeneration,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=workspacetemplateapplies,scope=Namespaced,categories=capt,shortName=wta
// +kubebuilder:metadata:labels="clusterctl.cluster.x-k8s.io="
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.metadata.labels['cluster\.x-k8s\.io/cluster-name']`
// +kubebuilder:printcolumn:name="Template",type=string,JSONPath=`.spec.templateRef.name`
// +kubebuilder:printcolumn:name="Workspace",type=string,JSONPath=`.status.workspaceName`
// +kubebuilder:printcolumn:name="Applied",type=boolean,JSONPath=`.status.applied`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// WorkspaceTemplateApply is one rendering of a WorkspaceTemplate; it owns one Workspace.
type WorkspaceTemplateApply struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	// +kubebuilder:validation:XValidation:rule="has(self.adopt) == has(oldSelf.adopt)",message="spec.adopt cannot be added or removed: it names the Terraform state the Workspace uses"
	Spec   WorkspaceTemplateApplySpec   `json:"spec"`
	Status WorkspaceTemplateApplyStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// WorkspaceTemplateApplyList is a list of WorkspaceTemplateApplies.
type WorkspaceTemplateApplyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []WorkspaceTemplateApply `json:"items"`
}

func init() {
	objectTypes = append(objectTypes, &WorkspaceTemplateApply{}, &WorkspaceTemplateApplyList{})
}

// DestructiveChange is a change of a protected Workspace that provider-terraform's plan
// refused because it would destroy or replace protected resources.
type DestructiveChange struct {
	// Hash names this change: the approval annotation
	// (ApproveDestructiveChangeAnnotation) must carry it. It covers the rendered
	// Workspace, the addresses and when the plan first refused them, so an approval
	// never applies to another change, nor to the same one refused again later.
	// Empty while CAPT confirms the refusal with a plan of the current spec, or when the
	// addresses cannot all be read: nothing can be approved then.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Hash string `json:"hash,omitempty"`

	// Addresses are the resource instances the plan would destroy or replace, as
	// Terraform names them (values marked sensitive masked).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=1024
	Addresses []string `json:"addresses,omitempty"`

	// SpecHash is a hash of the rendered Workspace spec the change belongs to; a new
	// rendering (a template or variable change) replaces the change.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	SpecHash string `json:"specHash,omitempty"`

	// Approved is true once the approval annotation names Hash: the Workspace runs
	// without protection until it is Ready, then protection comes back.
	// +optional
	Approved bool `json:"approved,omitempty"`
}
