package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// WorkspaceTemplateSpec is a reusable provider-terraform Workspace.
type WorkspaceTemplateSpec struct {
	// Template is the Workspace each WorkspaceTemplateApply renders from this template.
	// +required
	Template WorkspaceTemplateDefinition `json:"template"`

	// SensitiveVariables names the variables whose values are secret: a vars or varmap
	// entry of the template, or a WorkspaceTemplateApply variable of that name. CAPT masks
	// their values (and every string inside a JSON map or list value) in the messages it
	// mirrors from the Workspace. Other variable values, such as a cluster name, stay
	// readable; so mark what Terraform's own "sensitive = true" marks in the module.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=128
	SensitiveVariables []string `json:"sensitiveVariables,omitempty"`

	// Protection declares that the module guards resources against destroy and
	// replacement with a variable (docs/workspaces.md, "Protected resources"): CAPT sets
	// it true on every Workspace of this template, and false only for a change a person
	// approved on the WorkspaceTemplateApply and for the destroy of a deletion.
	// +optional
	Protection *WorkspaceProtection `json:"protection,omitempty"`

	// Rollout stages the changes of this template's applies: a WorkspaceTemplateApply
	// whose existing Workspace would change (a new template generation, new variables)
	// waits for a slot before CAPT writes it. Unset: every apply changes its Workspace at
	// once. Creating a Workspace and deleting one never wait.
	// +optional
	Rollout *RolloutPolicy `json:"rollout,omitempty"`
}

// RolloutPolicy says how fast a change of a WorkspaceTemplate's renderings spreads.
type RolloutPolicy struct {
	// MaxConcurrent is how many of the template's applies may change their Workspace at
	// once: a number, or a percentage of the template's applies (rounded up); at least 1.
	// A slot is taken before CAPT writes the changed Workspace and given back when the
	// apply reports the Workspace Ready with that rendering.
	// +required
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? (self >= 1 && self <= 1000) : self.matches('^([1-9][0-9]?|100)%$')",message="maxConcurrent must be a number from 1 to 1000 or a percentage from 1% to 100%"
	MaxConcurrent intstr.IntOrString `json:"maxConcurrent"`

	// CanarySelector selects, by their labels, the WorkspaceTemplateApplies that change
	// first: no other apply gets a slot while one of them waits for a slot or holds one.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, e.operator in ['In', 'NotIn', 'Exists', 'DoesNotExist'])",message="canarySelector.matchExpressions operators must be In, NotIn, Exists or DoesNotExist"
	CanarySelector *metav1.LabelSelector `json:"canarySelector,omitempty"`

	// PauseAfterFailures is how many applies holding a slot may report their Workspace
	// failing (WorkspaceNotSynced) before the rollout pauses: no more slots until the
	// template's spec changes again or a person resumes it (ResumeRolloutAnnotation).
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	PauseAfterFailures int32 `json:"pauseAfterFailures,omitempty"`
}

// WorkspaceTemplateDefinition is the metadata and spec of the rendered Workspace.
type WorkspaceTemplateDefinition struct {
	// Metadata holds labels and annotations for the rendered Workspace.
	// +optional
	Metadata ObjectMeta `json:"metadata,omitempty"`

	// Spec is the Workspace's spec.
	// +required
	Spec WorkspaceSpec `json:"spec"`
}

// WorkspaceTemplateStatus is the observed state of a WorkspaceTemplate.
type WorkspaceTemplateStatus struct {
	// ObservedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: TemplateValid says whether the template renders.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Rollout is the state of the template's rollout; set only while spec.rollout is.
	// +optional
	Rollout *RolloutStatus `json:"rollout,omitempty"`
}

// RolloutStatus is what a WorkspaceTemplate's rollout has done and holds. The slots are
// counted here and only here, written with the template's resourceVersion as a
// precondition, so that a stale view or a restart can never grant more than
// maxConcurrent.
type RolloutStatus struct {
	// Slots are the applies allowed to change their Workspace now, each to one rendering.
	// +optional
	// +listType=map
	// +listMapKey=apply
	// +kubebuilder:validation:MaxItems=1000
	Slots []RolloutSlot `json:"slots,omitempty"`

	// Updated counts the applies that report their Workspace Ready with nothing to
	// change and no slot held.
	// +optional
	Updated int32 `json:"updated,omitempty"`

	// Applying counts the slots whose apply has not reported its Workspace Ready yet and
	// has not failed.
	// +optional
	Applying int32 `json:"applying,omitempty"`

	// Failed counts the slots whose apply reports its Workspace failing with the slot's
	// rendering.
	// +optional
	Failed int32 `json:"failed,omitempty"`

	// Waiting counts the applies waiting for a slot.
	// +optional
	Waiting int32 `json:"waiting,omitempty"`

	// Paused is set while the rollout grants no slots.
	// +optional
	Paused *RolloutPause `json:"paused,omitempty"`
}

// RolloutSlot allows one apply to write its Workspace with one rendering.
type RolloutSlot struct {
	// Apply is the WorkspaceTemplateApply, "<namespace>/<name>".
	// +required
	// +kubebuilder:validation:MaxLength=317
	Apply string `json:"apply"`

	// Hash is the rollout hash of the rendering the apply may write
	// (RolloutHashAnnotation).
	// +required
	// +kubebuilder:validation:MaxLength=64
	Hash string `json:"hash"`

	// Since is when the slot was granted, or moved to another rendering of the same apply.
	// +required
	Since metav1.Time `json:"since"`

	// Accepted says the apply's Workspace failed with this rendering and the rollout
	// went on past it (a person resumed it, or the template's spec changed): the slot no
	// longer counts against maxConcurrent or pauseAfterFailures, and goes when the
	// Workspace recovers or its apply moves to another rendering.
	// +optional
	Accepted bool `json:"accepted,omitempty"`
}

// RolloutPause is why and since when a rollout grants no slots.
type RolloutPause struct {
	// Reason is why the rollout paused: ApplyFailed, or CanarySelectorInvalid.
	// +required
	// +kubebuilder:validation:MaxLength=64
	Reason string `json:"reason"`

	// Message says what paused the rollout and how to go on.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Message string `json:"message,omitempty"`

	// Failed names the applies, "<namespace>/<name>", whose failure paused the rollout.
	// +optional
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MaxLength=317
	Failed []string `json:"failed,omitempty"`

	// Generation is the template's generation the rollout paused at: a change of the
	// template's spec resumes it.
	// +required
	Generation int64 `json:"generation"`

	// Token is the value of ResumeRolloutAnnotation that resumes this pause, and no
	// other: an old resume never resumes a later pause.
	// +required
	// +kubebuilder:validation:MaxLength=64
	Token string `json:"token"`

	// Since is when the rollout paused.
	// +required
	Since metav1.Time `json:"since"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=workspacetemplates,scope=Namespaced,categories=capt,shortName=wst
// +kubebuilder:metadata:labels="clusterctl.cluster.x-k8s.io="
// +kubebuilder:metadata:labels="clusterctl.cluster.x-k8s.io/move="
// +kubebuilder:printcolumn:name="Source",type=string,JSONPath=`.spec.template.spec.forProvider.source`
// +kubebuilder:printcolumn:name="Valid",type=string,JSONPath=`.status.conditions[?(@.type=="TemplateValid")].status`
// +kubebuilder:printcolumn:name="Updated",type=integer,JSONPath=`.status.rollout.updated`
// +kubebuilder:printcolumn:name="Applying",type=integer,JSONPath=`.status.rollout.applying`
// +kubebuilder:printcolumn:name="Waiting",type=integer,JSONPath=`.status.rollout.waiting`
// +kubebuilder:printcolumn:name="Paused",type=string,JSONPath=`.status.rollout.paused.reason`
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.rollout.failed`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// WorkspaceTemplate is a reusable provider-terraform Workspace definition.
// No Cluster owns one, so its CRD carries clusterctl's move label: clusterctl move takes
// every WorkspaceTemplate of the namespace it moves.
type WorkspaceTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   WorkspaceTemplateSpec   `json:"spec"`
	Status WorkspaceTemplateStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// WorkspaceTemplateList is a list of WorkspaceTemplates.
type WorkspaceTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []WorkspaceTemplate `json:"items"`
}

func init() {
	objectTypes = append(objectTypes, &WorkspaceTemplate{}, &WorkspaceTemplateList{})
}

// WorkspaceProtection names the module's protection variable. The module declares it
// (a bool) and uses it on each resource it protects, as
// lifecycle { prevent_destroy = var.<variable> }, which OpenTofu accepts and Terraform
// 1.5 refuses: the shipped modules put that rule in an OpenTofu-only override file. A
// plan that would destroy or replace such a resource then fails, the apply shows the
// change as DestructiveChangePending, and it goes ahead only once approved.
type WorkspaceProtection struct {
	// Variable is the name of the module's protection variable. CAPT passes it in the
	// Workspace's varmap, true, or false for an approved change, and appends
	// -var=<variable>=false to the Workspace's destroyArgs, so that a deletion's destroy
	// is never refused: the module must declare it (a -var Terraform does not know is an
	// error).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_-]*$`
	Variable string `json:"variable"`
}
