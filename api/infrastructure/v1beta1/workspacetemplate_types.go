package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=workspacetemplates,scope=Namespaced,categories=capt,shortName=wst
// +kubebuilder:metadata:labels="clusterctl.cluster.x-k8s.io="
// +kubebuilder:metadata:labels="clusterctl.cluster.x-k8s.io/move="
// +kubebuilder:printcolumn:name="Source",type=string,JSONPath=`.spec.template.spec.forProvider.source`
// +kubebuilder:printcolumn:name="Valid",type=string,JSONPath=`.status.conditions[?(@.type=="TemplateValid")].status`
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
