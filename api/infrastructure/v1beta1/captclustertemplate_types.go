package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CAPTClusterTemplateSpec is the CAPTCluster a ClusterClass stamps out.
type CAPTClusterTemplateSpec struct {
	// +required
	Template CAPTClusterTemplateResource `json:"template"`
}

// CAPTClusterTemplateResource is the metadata and spec of the stamped CAPTCluster.
type CAPTClusterTemplateResource struct {
	// +optional
	ObjectMeta ObjectMeta `json:"metadata,omitempty,omitzero"`

	// +required
	Spec CAPTClusterSpec `json:"spec"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:path=captclustertemplates,scope=Namespaced,categories=cluster-api;capt
// +kubebuilder:metadata:labels="clusterctl.cluster.x-k8s.io="
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta1=v1beta1"
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1beta1"
// +kubebuilder:printcolumn:name="Region",type=string,JSONPath=`.spec.template.spec.region`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// CAPTClusterTemplate is a CAPTCluster template for Cluster API's ClusterClass.
type CAPTClusterTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec CAPTClusterTemplateSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// CAPTClusterTemplateList is a list of CAPTClusterTemplates.
type CAPTClusterTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CAPTClusterTemplate `json:"items"`
}

func init() {
	objectTypes = append(objectTypes, &CAPTClusterTemplate{}, &CAPTClusterTemplateList{})
}
