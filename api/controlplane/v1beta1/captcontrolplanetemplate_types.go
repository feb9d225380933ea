package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// CAPTControlPlaneTemplateSpec is the CAPTControlPlane a ClusterClass stamps out.
type CAPTControlPlaneTemplateSpec struct {
	// +required
	Template CAPTControlPlaneTemplateResource `json:"template"`
}

// CAPTControlPlaneTemplateResource is the metadata and spec of the stamped CAPTControlPlane.
type CAPTControlPlaneTemplateResource struct {
	// +optional
	ObjectMeta infrav1.ObjectMeta `json:"metadata,omitempty,omitzero"`

	// +required
	Spec CAPTControlPlaneTemplateResourceSpec `json:"spec"`
}

// CAPTControlPlaneTemplateResourceSpec is CAPTControlPlaneSpec without the fields the
// topology controller owns: version comes from Cluster.spec.topology.version and the
// endpoint from the Workspace.
type CAPTControlPlaneTemplateResourceSpec struct {
	// WorkspaceTemplateRef names the WorkspaceTemplate that creates the control plane.
	// +required
	WorkspaceTemplateRef infrav1.WorkspaceTemplateReference `json:"workspaceTemplateRef"`

	// ControlPlaneConfig is passed to the template as variables.
	// +optional
	ControlPlaneConfig *ControlPlaneConfig `json:"controlPlaneConfig,omitempty"`

	// AdditionalTags are added to every AWS resource the template creates.
	// +optional
	// +kubebuilder:validation:MaxProperties=50
	AdditionalTags map[string]string `json:"additionalTags,omitempty"`

	// IdentityRef names the Secret, in the namespace of each CAPTControlPlane created
	// from this template, whose AWS keys sign its EKS tokens.
	// +optional
	IdentityRef *IdentityReference `json:"identityRef,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:path=captcontrolplanetemplates,scope=Namespaced,categories=cluster-api;capt
// +kubebuilder:metadata:labels="clusterctl.cluster.x-k8s.io="
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta1=v1beta1"
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1beta1"
// +kubebuilder:printcolumn:name="Template",type=string,JSONPath=`.spec.template.spec.workspaceTemplateRef.name`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// CAPTControlPlaneTemplate is a CAPTControlPlane template for Cluster API's ClusterClass.
type CAPTControlPlaneTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec CAPTControlPlaneTemplateSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// CAPTControlPlaneTemplateList is a list of CAPTControlPlaneTemplates.
type CAPTControlPlaneTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CAPTControlPlaneTemplate `json:"items"`
}

func init() {
	objectTypes = append(objectTypes, &CAPTControlPlaneTemplate{}, &CAPTControlPlaneTemplateList{})
}
