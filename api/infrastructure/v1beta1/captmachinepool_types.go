package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CAPTMachinePoolSpec is one pool of worker Nodes, an EKS managed node group created from
// a WorkspaceTemplate. Its size comes from the owning MachinePool's spec.replicas, or from
// an autoscaler when the MachinePool carries cluster.x-k8s.io/replicas-managed-by.
// +kubebuilder:validation:XValidation:rule="!has(self.scaling) || !has(self.scaling.minSize) || !has(self.scaling.maxSize) || self.scaling.minSize <= self.scaling.maxSize",message="spec.scaling.minSize must not be above spec.scaling.maxSize"
type CAPTMachinePoolSpec struct {
	// ProviderIDList holds the provider ID of every Node of the pool, as their kubelets
	// report them (InfraMachinePool contract): CAPT keeps it current from the Nodes of the
	// node group in the workload cluster; Cluster API matches it against Node.spec.providerID.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10000
	// +kubebuilder:validation:items:MaxLength=512
	ProviderIDList []string `json:"providerIDList,omitempty"`

	// WorkspaceTemplateRef names the WorkspaceTemplate that creates the node group
	// (templates/aws/nodegroup; templates/local's local-nodegroup on the local stack).
	// +required
	WorkspaceTemplateRef WorkspaceTemplateReference `json:"workspaceTemplateRef"`

	// InstanceTypes are the EC2 instance types of the Nodes, such as t3.medium.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9][a-z0-9-]*\.[a-z0-9]+$`
	InstanceTypes []string `json:"instanceTypes,omitempty"`

	// CapacityType is OnDemand (the default) or Spot.
	// +optional
	// +kubebuilder:validation:Enum=OnDemand;Spot
	CapacityType CapacityType `json:"capacityType,omitempty"`

	// Scaling bounds the node group's size. Without it the bounds follow the
	// MachinePool's replicas. When an autoscaler owns the size, it moves within them.
	// +optional
	Scaling *MachinePoolScaling `json:"scaling,omitempty"`

	// Labels are set on every Node of the pool.
	// +optional
	// +kubebuilder:validation:MaxProperties=50
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 317 && k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$'))",message="labels: each key must be a Kubernetes label key ([prefix/]name, the name at most 63 characters of letters, digits, '-', '_' and '.')"
	Labels map[string]LabelValue `json:"labels,omitempty"`

	// Taints are set on every Node of the pool.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	Taints []Taint `json:"taints,omitempty"`

	// AMIType is the EKS AMI type, such as AL2023_x86_64_STANDARD; EKS chooses when empty.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_]+$`
	AMIType string `json:"amiType,omitempty"`

	// DiskSizeGiB is the size of each Node's root volume; EKS chooses when unset.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=16384
	DiskSizeGiB *int32 `json:"diskSizeGiB,omitempty"`

	// UpdateConfig bounds how a change rolls over the Nodes.
	// +optional
	UpdateConfig *UpdateConfig `json:"updateConfig,omitempty"`

	// SubnetIDs are the node group's subnets; by default the CAPTCluster's private subnets.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=256
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9][A-Za-z0-9._:/-]*$`
	SubnetIDs []string `json:"subnetIDs,omitempty"`

	// AdditionalTags are added to every AWS resource the template creates, after the
	// CAPTCluster's.
	// +optional
	// +kubebuilder:validation:MaxProperties=50
	AdditionalTags map[string]string `json:"additionalTags,omitempty"`

	// Adopt takes over the Terraform state of a node group that already exists
	// (docs/adopt.md); passed to the pool's WorkspaceTemplateApply.
	// +optional
	Adopt *Adoption `json:"adopt,omitempty"`
}

// LabelValue is a Kubernetes label value: at most 63 letters, digits, '-', '_' and '.',
// beginning and ending with a letter or digit, or empty. A type of its own so that the
// schema checks each value without a CEL rule, whose cost over a map is over budget.
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:Pattern=`^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$`
type LabelValue string

// CapacityType is how the Nodes are bought.
type CapacityType string

// Capacity types.
const (
	CapacityTypeOnDemand CapacityType = "OnDemand"
	CapacityTypeSpot     CapacityType = "Spot"
)

// MachinePoolScaling bounds a node group's size.
type MachinePoolScaling struct {
	// MinSize is the smallest size.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	MinSize *int32 `json:"minSize,omitempty"`

	// MaxSize is the largest size.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	MaxSize *int32 `json:"maxSize,omitempty"`
}

// UpdateConfig bounds a rolling update of the Nodes.
type UpdateConfig struct {
	// MaxUnavailable is how many Nodes may be unavailable at once during an update.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MaxUnavailable *int32 `json:"maxUnavailable,omitempty"`
}

// Taint is a Kubernetes taint set on every Node of the pool.
type Taint struct {
	// Key of the taint.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=317
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`
	Key string `json:"key"`

	// Value of the taint.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$`
	Value string `json:"value,omitempty"`

	// Effect of the taint: NoSchedule, PreferNoSchedule or NoExecute.
	// +required
	// +kubebuilder:validation:Enum=NoSchedule;PreferNoSchedule;NoExecute
	Effect string `json:"effect"`
}

// CAPTMachinePoolStatus is the observed state of a CAPTMachinePool.
type CAPTMachinePoolStatus struct {
	// Initialization holds the Cluster API v1beta2 contract's provisioning signal.
	// +optional
	Initialization CAPTMachinePoolInitializationStatus `json:"initialization,omitempty,omitzero"`

	// Ready is the Cluster API v1beta1 contract's provisioning signal (Cluster API v1.14's
	// MachinePool controller reads only this one); it equals initialization.provisioned.
	// +optional
	Ready bool `json:"ready,omitempty"`

	// Replicas is the number of Nodes of the node group last observed in the workload
	// cluster.
	// +optional
	Replicas int32 `json:"replicas"`

	// ReadyReplicas is how many of them are Ready.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// NodeGroupName is the node group's name, read from the Workspace's node_group_name
	// output: its Nodes carry the label eks.amazonaws.com/nodegroup with this value.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	NodeGroupName string `json:"nodeGroupName,omitempty"`

	// Version is the Kubernetes version the node group was last applied with, as rendered
	// into its kubernetes_version variable (the MachinePool's version, or the control
	// plane's while the MachinePool is ahead of it): an upgrade steps from it one minor at
	// a time, and only once the Workspace shows it (docs/upgrades.md).
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Version string `json:"version,omitempty"`

	// WorkspaceTemplateApplyName is the WorkspaceTemplateApply that creates the node group.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	WorkspaceTemplateApplyName string `json:"workspaceTemplateApplyName,omitempty"`

	// Phase summarises the conditions for people: Provisioning, Provisioned, Failed,
	// Deleting. Programs read the conditions.
	// +optional
	Phase string `json:"phase,omitempty"`

	// ObservedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, WorkspaceReady, NodesReady, RollingOut, Paused, Deleting,
	// DeletionStalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// CAPTMachinePoolInitializationStatus is the v1beta2 contract's initialization block.
type CAPTMachinePoolInitializationStatus struct {
	// Provisioned is true once the node group exists.
	// +optional
	Provisioned *bool `json:"provisioned,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=captmachinepools,scope=Namespaced,categories=cluster-api;capt
// +kubebuilder:metadata:labels="clusterctl.cluster.x-k8s.io="
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta1=v1beta1"
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1beta1"
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.metadata.labels['cluster\.x-k8s\.io/cluster-name']`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.status.replicas`
// +kubebuilder:printcolumn:name="Ready Replicas",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Node Group",type=string,JSONPath=`.status.nodeGroupName`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// CAPTMachinePool is the Cluster API infrastructure of one MachinePool: an EKS managed
// node group.
type CAPTMachinePool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	// +kubebuilder:validation:XValidation:rule="has(self.adopt) == has(oldSelf.adopt)",message="spec.adopt cannot be added or removed: it names the Terraform state the Workspace uses"
	Spec   CAPTMachinePoolSpec   `json:"spec"`
	Status CAPTMachinePoolStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// CAPTMachinePoolList is a list of CAPTMachinePools.
type CAPTMachinePoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CAPTMachinePool `json:"items"`
}

// CAPTMachinePoolTemplateSpec is the CAPTMachinePool a ClusterClass stamps out.
type CAPTMachinePoolTemplateSpec struct {
	// +required
	Template CAPTMachinePoolTemplateResource `json:"template"`
}

// CAPTMachinePoolTemplateResource is the metadata and spec of the stamped CAPTMachinePool.
type CAPTMachinePoolTemplateResource struct {
	// +optional
	ObjectMeta ObjectMeta `json:"metadata,omitempty,omitzero"`

	// +required
	Spec CAPTMachinePoolSpec `json:"spec"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:path=captmachinepooltemplates,scope=Namespaced,categories=cluster-api;capt
// +kubebuilder:metadata:labels="clusterctl.cluster.x-k8s.io="
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta1=v1beta1"
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1beta1"
// +kubebuilder:printcolumn:name="Template",type=string,JSONPath=`.spec.template.spec.workspaceTemplateRef.name`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// CAPTMachinePoolTemplate is a CAPTMachinePool template for Cluster API's ClusterClass.
type CAPTMachinePoolTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec CAPTMachinePoolTemplateSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// CAPTMachinePoolTemplateList is a list of CAPTMachinePoolTemplates.
type CAPTMachinePoolTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CAPTMachinePoolTemplate `json:"items"`
}

func init() {
	objectTypes = append(objectTypes, &CAPTMachinePool{}, &CAPTMachinePoolList{}, &CAPTMachinePoolTemplate{}, &CAPTMachinePoolTemplateList{})
}
