package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CAPTNodeGroupBootstrapSpec is empty: an EKS managed node group's instances are joined
// to the cluster by EKS, from the node group's own settings (the CAPTMachinePool's).
// There is nothing to configure here.
type CAPTNodeGroupBootstrapSpec struct{}

// CAPTNodeGroupBootstrapStatus is Cluster API's bootstrap contract, as a managed node
// group fulfils it: no bootstrap data, said in the contract's fields.
type CAPTNodeGroupBootstrapStatus struct {
	// Initialization holds the Cluster API v1beta2 contract's signal:
	// dataSecretCreated is true once a MachinePool owns the config.
	// +optional
	Initialization CAPTNodeGroupBootstrapInitializationStatus `json:"initialization,omitempty,omitzero"`

	// Ready is the Cluster API v1beta1 contract's signal; it equals
	// initialization.dataSecretCreated.
	// +optional
	Ready bool `json:"ready,omitempty"`

	// DataSecretName is the bootstrap data's Secret as the contract names it: empty, set
	// together with dataSecretCreated. A MachinePool of a managed node group has no
	// bootstrap data (its spec.template.spec.bootstrap.dataSecretName is "" too), and no
	// Secret is created.
	// +optional
	// +kubebuilder:validation:MaxLength=0
	DataSecretName *string `json:"dataSecretName,omitempty"`

	// ObservedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Paused.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// CAPTNodeGroupBootstrapInitializationStatus is the v1beta2 contract's initialization block.
type CAPTNodeGroupBootstrapInitializationStatus struct {
	// DataSecretCreated is true once the config has said that its MachinePool needs no
	// bootstrap data (status.dataSecretName is then "").
	// +optional
	DataSecretCreated *bool `json:"dataSecretCreated,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=captnodegroupbootstraps,scope=Namespaced,categories=cluster-api;capt
// +kubebuilder:metadata:labels="clusterctl.cluster.x-k8s.io="
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta1=v1beta1"
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1beta1"
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.metadata.labels['cluster\.x-k8s\.io/cluster-name']`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// CAPTNodeGroupBootstrap is the bootstrap config of a MachinePool whose infrastructure is
// a CAPTMachinePool: EKS managed node groups bootstrap themselves, so it produces no
// data and reports so to Cluster API. Owned by a Machine instead, it refuses
// (Ready False, NotAMachinePool).
type CAPTNodeGroupBootstrap struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec   CAPTNodeGroupBootstrapSpec   `json:"spec,omitempty"`
	Status CAPTNodeGroupBootstrapStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// CAPTNodeGroupBootstrapList is a list of CAPTNodeGroupBootstraps.
type CAPTNodeGroupBootstrapList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CAPTNodeGroupBootstrap `json:"items"`
}

// CAPTNodeGroupBootstrapTemplateSpec is the CAPTNodeGroupBootstrap a ClusterClass stamps
// out for each machine pool.
type CAPTNodeGroupBootstrapTemplateSpec struct {
	// +required
	Template CAPTNodeGroupBootstrapTemplateResource `json:"template"`
}

// CAPTNodeGroupBootstrapTemplateResource is the metadata and spec of the stamped config.
type CAPTNodeGroupBootstrapTemplateResource struct {
	// +optional
	ObjectMeta ObjectMeta `json:"metadata,omitempty,omitzero"`

	// +optional
	Spec CAPTNodeGroupBootstrapSpec `json:"spec,omitempty"`
}

// ObjectMeta is the metadata a template gives the objects stamped from it.
type ObjectMeta struct {
	// Labels to set on the created object.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Annotations to set on the created object.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:path=captnodegroupbootstraptemplates,scope=Namespaced,categories=cluster-api;capt
// +kubebuilder:metadata:labels="clusterctl.cluster.x-k8s.io="
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta1=v1beta1"
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1beta1"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// CAPTNodeGroupBootstrapTemplate is a CAPTNodeGroupBootstrap template for Cluster API's
// ClusterClass (workers.machinePools[].bootstrap.templateRef, which Cluster API
// requires).
type CAPTNodeGroupBootstrapTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec CAPTNodeGroupBootstrapTemplateSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// CAPTNodeGroupBootstrapTemplateList is a list of CAPTNodeGroupBootstrapTemplates.
type CAPTNodeGroupBootstrapTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CAPTNodeGroupBootstrapTemplate `json:"items"`
}

func init() {
	objectTypes = append(objectTypes, &CAPTNodeGroupBootstrap{}, &CAPTNodeGroupBootstrapList{},
		&CAPTNodeGroupBootstrapTemplate{}, &CAPTNodeGroupBootstrapTemplateList{})
}
