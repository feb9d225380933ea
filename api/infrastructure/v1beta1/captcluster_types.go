package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CAPTClusterSpec is the infrastructure of one Cluster: a VPC created from a
// WorkspaceTemplate, or an existing VPC.
type CAPTClusterSpec struct {
	// Region is the AWS region of the cluster. It cannot change once set.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[a-z]{2}(-[a-z]+)+-[0-9]+$`
	Region string `json:"region"`

	// VPCTemplateRef names the WorkspaceTemplate that creates the VPC. Exactly one of
	// vpcTemplateRef and existingVpcId is set.
	// +optional
	VPCTemplateRef *WorkspaceTemplateReference `json:"vpcTemplateRef,omitempty"`

	// ExistingVPCID is the id of a VPC that already exists and is used as is. It comes
	// with existingSubnets: EKS needs the subnets, not only the VPC.
	// +optional
	// +kubebuilder:validation:Pattern=`^vpc-([0-9a-f]{8}|[0-9a-f]{17})$`
	ExistingVPCID string `json:"existingVpcId,omitempty"`

	// ExistingSubnets are the subnets of the existing VPC that CAPT passes on, as it passes
	// a created VPC's: the private ones to the control plane and to the node groups (unless
	// a pool names its own), the public ones to the control plane's template. Required with
	// existingVpcId, and only with it.
	// +optional
	ExistingSubnets *ExistingSubnets `json:"existingSubnets,omitempty"`

	// VPCConfig is passed to the VPC template as variables.
	// +optional
	VPCConfig *VPCConfig `json:"vpcConfig,omitempty"`

	// AdditionalTags are added to every AWS resource the templates create.
	// +optional
	// +kubebuilder:validation:MaxProperties=50
	AdditionalTags map[string]string `json:"additionalTags,omitempty"`

	// RetainVPCOnDelete leaves the VPC Workspace, and the VPC, in place when the
	// CAPTCluster is deleted.
	// +optional
	RetainVPCOnDelete bool `json:"retainVpcOnDelete,omitempty"`

	// Adopt takes over the Terraform state of a VPC that already exists, with
	// vpcTemplateRef's module (docs/adopt.md); passed to the VPC's WorkspaceTemplateApply.
	// +optional
	Adopt *Adoption `json:"adopt,omitempty"`

	// ControlPlaneEndpoint is the API server address (InfraCluster contract). For EKS the
	// CAPTControlPlane provides it; CAPT leaves this empty.
	// +optional
	ControlPlaneEndpoint APIEndpoint `json:"controlPlaneEndpoint,omitempty,omitzero"`
}

// VPCConfig configures the VPC a template creates.
type VPCConfig struct {
	// CIDR is the VPC's IPv4 CIDR block.
	// +optional
	// +kubebuilder:validation:MaxLength=18
	// +kubebuilder:validation:XValidation:rule="isCIDR(self) && cidr(self).ip().family() == 4",message="cidr must be an IPv4 CIDR block such as 10.0.0.0/16"
	CIDR string `json:"cidr,omitempty"`

	// EnableNATGateway creates NAT gateways for the private subnets (their Nodes' way
	// out). Unset, the template decides (templates/aws/vpc: on).
	// +optional
	EnableNATGateway *bool `json:"enableNatGateway,omitempty"`

	// SingleNATGateway uses one NAT gateway for all availability zones. Unset, the
	// template decides (templates/aws/vpc: one per zone).
	// +optional
	SingleNATGateway *bool `json:"singleNatGateway,omitempty"`
}

// ExistingSubnets are the subnets of an existing VPC. CAPT checks their form, not that
// they exist or belong to the VPC: the control plane's apply does (EKS refuses subnets of
// another VPC, or all in one availability zone).
type ExistingSubnets struct {
	// PrivateSubnetIDs are the control plane's subnets, and the node groups' unless a pool
	// names its own. EKS needs subnets in at least two availability zones. They cannot
	// change once set: the control plane's subnets are part of the EKS cluster.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=2
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:Pattern=`^subnet-([0-9a-f]{8}|[0-9a-f]{17})$`
	PrivateSubnetIDs []string `json:"privateSubnetIds"`

	// PublicSubnetIDs are the VPC's public subnets (internet-facing load balancers).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:Pattern=`^subnet-([0-9a-f]{8}|[0-9a-f]{17})$`
	PublicSubnetIDs []string `json:"publicSubnetIds,omitempty"`
}

// CAPTClusterStatus is the observed state of a CAPTCluster.
type CAPTClusterStatus struct {
	// Initialization holds the Cluster API v1beta2 contract's provisioning signal.
	// +optional
	Initialization CAPTClusterInitializationStatus `json:"initialization,omitempty,omitzero"`

	// Ready is the Cluster API v1beta1 contract's provisioning signal; it equals
	// initialization.provisioned.
	// +optional
	Ready bool `json:"ready,omitempty"`

	// FailureDomains are the VPC's availability zones (v1beta2 contract: a list keyed by name).
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	FailureDomains []FailureDomain `json:"failureDomains,omitempty"`

	// VPC holds what CAPT read of the VPC.
	// +optional
	VPC *VPCStatus `json:"vpc,omitempty"`

	// VPCWorkspaceTemplateApplyName is the WorkspaceTemplateApply that creates the VPC.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	VPCWorkspaceTemplateApplyName string `json:"vpcWorkspaceTemplateApplyName,omitempty"`

	// Phase summarises the conditions for people: Provisioning, Provisioned,
	// Failed, Deleting. Programs read the conditions.
	// +optional
	Phase string `json:"phase,omitempty"`

	// ObservedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, VPCReady, Paused, Deleting.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// CAPTClusterInitializationStatus is the v1beta2 contract's initialization block.
type CAPTClusterInitializationStatus struct {
	// Provisioned is true once the infrastructure is ready for the control plane.
	// +optional
	Provisioned *bool `json:"provisioned,omitempty"`
}

// FailureDomain is one availability zone.
type FailureDomain struct {
	// Name of the failure domain (the availability zone).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`

	// ControlPlane says whether control plane machines may be placed here.
	// +optional
	ControlPlane *bool `json:"controlPlane,omitempty"`

	// Attributes are free-form properties of the failure domain.
	// +optional
	Attributes map[string]string `json:"attributes,omitempty"`
}

// VPCStatus is what CAPT read of the VPC, from the template's outputs or the spec.
type VPCStatus struct {
	// ID of the VPC.
	// +optional
	ID string `json:"id,omitempty"`

	// PrivateSubnetIDs of the VPC.
	// +optional
	PrivateSubnetIDs []string `json:"privateSubnetIds,omitempty"`

	// PublicSubnetIDs of the VPC.
	// +optional
	PublicSubnetIDs []string `json:"publicSubnetIds,omitempty"`

	// Retained is true when deletion left the VPC in place.
	// +optional
	Retained bool `json:"retained,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=captclusters,scope=Namespaced,categories=cluster-api;capt
// +kubebuilder:metadata:labels="clusterctl.cluster.x-k8s.io="
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta1=v1beta1"
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1beta1"
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.metadata.labels['cluster\.x-k8s\.io/cluster-name']`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Region",type=string,JSONPath=`.spec.region`
// +kubebuilder:printcolumn:name="VPC",type=string,JSONPath=`.status.vpc.id`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// CAPTCluster is the Cluster API infrastructure of one cluster.
type CAPTCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// The rules sit here, not on CAPTClusterSpec, so that a CAPTClusterTemplate may leave
	// the VPC source to a ClusterClass patch.
	// +required
	// +kubebuilder:validation:XValidation:rule="has(self.vpcTemplateRef) != has(self.existingVpcId)",message="exactly one of spec.vpcTemplateRef and spec.existingVpcId must be set"
	// +kubebuilder:validation:XValidation:rule="has(self.existingVpcId) == has(self.existingSubnets)",message="spec.existingSubnets is required with spec.existingVpcId, and only with it: EKS needs the existing VPC's subnets"
	// +kubebuilder:validation:XValidation:rule="!has(oldSelf.existingSubnets) || (has(self.existingSubnets) && self.existingSubnets.privateSubnetIds == oldSelf.existingSubnets.privateSubnetIds)",message="spec.existingSubnets.privateSubnetIds cannot change once the infrastructure exists: they are the EKS cluster's subnets"
	// +kubebuilder:validation:XValidation:rule="self.region == oldSelf.region",message="spec.region cannot change once the infrastructure exists"
	// +kubebuilder:validation:XValidation:rule="has(self.existingVpcId) == has(oldSelf.existingVpcId)",message="spec.vpcTemplateRef and spec.existingVpcId cannot be swapped once the infrastructure exists"
	// +kubebuilder:validation:XValidation:rule="!has(oldSelf.existingVpcId) || self.existingVpcId == oldSelf.existingVpcId",message="spec.existingVpcId cannot change once the infrastructure exists"
	// +kubebuilder:validation:XValidation:rule="!has(oldSelf.vpcConfig) || !has(oldSelf.vpcConfig.cidr) || (has(self.vpcConfig) && has(self.vpcConfig.cidr) && self.vpcConfig.cidr == oldSelf.vpcConfig.cidr)",message="spec.vpcConfig.cidr cannot change once the infrastructure exists"
	// +kubebuilder:validation:XValidation:rule="has(self.adopt) == has(oldSelf.adopt)",message="spec.adopt cannot be added or removed: it names the Terraform state the Workspace uses"
	Spec   CAPTClusterSpec   `json:"spec"`
	Status CAPTClusterStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// CAPTClusterList is a list of CAPTClusters.
type CAPTClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CAPTCluster `json:"items"`
}

func init() {
	objectTypes = append(objectTypes, &CAPTCluster{}, &CAPTClusterList{})
}
