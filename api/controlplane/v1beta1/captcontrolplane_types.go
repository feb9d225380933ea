package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// CAPTControlPlaneSpec is a managed control plane (EKS) created from a WorkspaceTemplate.
type CAPTControlPlaneSpec struct {
	// Version is the desired Kubernetes version, such as v1.31 or 1.31.2. Raising it
	// upgrades the control plane, one minor version at a time once it is initialized (EKS
	// refuses larger steps); lowering it is refused (EKS cannot downgrade).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^v?[0-9]{1,6}[.][0-9]{1,6}([.][0-9]{1,6})?$') || !oldSelf.matches('^v?[0-9]{1,6}[.][0-9]{1,6}([.][0-9]{1,6})?$') || int(self.replace('v', '').split('.')[0]) > int(oldSelf.replace('v', '').split('.')[0]) || (int(self.replace('v', '').split('.')[0]) == int(oldSelf.replace('v', '').split('.')[0]) && int(self.replace('v', '').split('.')[1]) >= int(oldSelf.replace('v', '').split('.')[1]))",messageExpression="'may not be lowered from ' + oldSelf + ' to ' + self + ': EKS cannot downgrade a control plane'"
	Version string `json:"version"`

	// WorkspaceTemplateRef names the WorkspaceTemplate that creates the control plane.
	// Pointing it at a new template version updates the control plane's Workspace.
	// +required
	WorkspaceTemplateRef infrav1.WorkspaceTemplateReference `json:"workspaceTemplateRef"`

	// ControlPlaneConfig is passed to the template as variables.
	// +optional
	ControlPlaneConfig *ControlPlaneConfig `json:"controlPlaneConfig,omitempty"`

	// AdditionalTags are added to every AWS resource the template creates.
	// +optional
	// +kubebuilder:validation:MaxProperties=50
	AdditionalTags map[string]string `json:"additionalTags,omitempty"`

	// IdentityRef names a Secret in the CAPTControlPlane's own namespace with the static
	// AWS keys CAPT signs this cluster's EKS tokens with (keys AccessKeyID and
	// SecretAccessKey, optionally SessionToken). Without it CAPT uses the manager's
	// default credential chain (IRSA, EKS Pod Identity, environment, shared config).
	// Only used when the module outputs no kubeconfig of its own.
	// +optional
	IdentityRef *IdentityReference `json:"identityRef,omitempty"`

	// ControlPlaneEndpoint is the API server address, read from the Workspace's outputs
	// (control plane contract). CAPT sets it; users leave it empty.
	// +optional
	ControlPlaneEndpoint infrav1.APIEndpoint `json:"controlPlaneEndpoint,omitempty,omitzero"`

	// Adopt takes over the Terraform state of a control plane that already exists
	// (docs/adopt.md); passed to the control plane's WorkspaceTemplateApply.
	// +optional
	Adopt *infrav1.Adoption `json:"adopt,omitempty"`
}

// IdentityReference names a Secret in the referrer's namespace; there is no namespace
// field, so one cluster's owner can never point CAPT at another namespace's keys.
type IdentityReference struct {
	// Name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// ControlPlaneConfig configures the EKS control plane.
//
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.encryption) || has(self.encryption)",message="spec.controlPlaneConfig.encryption cannot be removed once set: EKS cannot disable secrets encryption"
type ControlPlaneConfig struct {
	// EndpointAccess says who can reach the API server.
	// +optional
	EndpointAccess *EndpointAccess `json:"endpointAccess,omitempty"`

	// Addons are EKS add-ons to install.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Addons []Addon `json:"addons,omitempty"`

	// The EKS essentials of issue 30 (eks_types.go; docs/controlplane.md, "EKS settings").
	EKSSettings `json:",inline"`
}

// EndpointAccess configures the API server's public and private endpoints.
//
// +kubebuilder:validation:XValidation:rule="self.public || self.private",message="at least one of public and private endpoint access must be enabled"
type EndpointAccess struct {
	// Public enables the public endpoint.
	// +optional
	// +kubebuilder:default=true
	Public bool `json:"public"`

	// Private enables the private endpoint inside the VPC.
	// +optional
	// +kubebuilder:default=false
	Private bool `json:"private"`

	// PublicCIDRs restrict the public endpoint to these IPv4 or IPv6 CIDR blocks.
	// +optional
	// +kubebuilder:validation:MaxItems=40
	// +kubebuilder:validation:items:MaxLength=43
	// +kubebuilder:validation:XValidation:rule="self.all(c, isCIDR(c))",message="publicCIDRs must be CIDR blocks such as 203.0.113.0/24"
	PublicCIDRs []string `json:"publicCIDRs,omitempty"`
}

// Addon is one EKS add-on.
type Addon struct {
	// Name of the add-on, such as vpc-cni or coredns.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=100
	Name string `json:"name"`

	// Version of the add-on; the default version when empty.
	// +optional
	// +kubebuilder:validation:MaxLength=100
	Version string `json:"version,omitempty"`

	// ConfigurationValues is the add-on's configuration as JSON or YAML.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	ConfigurationValues string `json:"configurationValues,omitempty"`

	AddonSettings `json:",inline"`
}

// CAPTControlPlaneStatus is the observed state of a CAPTControlPlane.
type CAPTControlPlaneStatus struct {
	// Initialization holds the Cluster API v1beta2 contract's initialization signal.
	// +optional
	Initialization CAPTControlPlaneInitializationStatus `json:"initialization,omitempty,omitzero"`

	// Initialized is the v1beta1 contract's signal: the API server is reachable and the
	// kubeconfig secret exists. It equals initialization.controlPlaneInitialized.
	// +optional
	Initialized bool `json:"initialized,omitempty"`

	// Ready is the v1beta1 contract's readiness (Cluster API v1.10 gates on it).
	// +optional
	Ready bool `json:"ready,omitempty"`

	// ExternalManagedControlPlane is true: the control plane has no Machines.
	// +optional
	ExternalManagedControlPlane *bool `json:"externalManagedControlPlane,omitempty"`

	// Version is the Kubernetes version the control plane runs: the last version its
	// Workspace was Ready with. It equals spec.version when no upgrade is under way; during
	// a stepped upgrade it names each minor version reached.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	Version string `json:"version,omitempty"`

	// Endpoint is spec.controlPlaneEndpoint as host:port (IPv6 hosts in brackets), for
	// kubectl get's ENDPOINT column; empty while there is none.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Endpoint string `json:"endpoint,omitempty"`

	// SecretsReady is true when the kubeconfig and CA secrets exist and match.
	// +optional
	SecretsReady bool `json:"secretsReady,omitempty"`

	// Kubeconfig says how the kubeconfig CAPT publishes in <cluster>-kubeconfig
	// authenticates; empty until it was written.
	// +optional
	Kubeconfig *KubeconfigStatus `json:"kubeconfig,omitempty"`

	// EKS is what the EKS module reports of the cluster (its outputs): the OIDC provider
	// for IRSA and the state of each add-on.
	// +optional
	EKS *EKSStatus `json:"eks,omitempty"`

	// WorkspaceTemplateApplyName is the WorkspaceTemplateApply that creates the control plane.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	WorkspaceTemplateApplyName string `json:"workspaceTemplateApplyName,omitempty"`

	// Phase summarises the conditions for people: Creating, Ready, Updating, Failed,
	// Deleting. Programs read the conditions.
	// +optional
	Phase string `json:"phase,omitempty"`

	// ObservedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Available, RollingOut, WorkspaceReady, EndpointReady, SecretsReady,
	// TokenReady, Paused, Deleting, DeletionStalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// KubeconfigStatus is where the published kubeconfig's credentials come from.
type KubeconfigStatus struct {
	// Source is Module when the module outputs a kubeconfig (published as is), or
	// EKSToken when CAPT builds it from the endpoint, the CA and the EKS cluster name,
	// with a bearer token it mints and refreshes.
	// +required
	// +kubebuilder:validation:Enum=Module;EKSToken
	Source KubeconfigSource `json:"source"`

	// Identity is whose AWS credentials sign the tokens: "Secret/<name>" for
	// spec.identityRef, "DefaultChain" for the manager's own. Empty for Module.
	// +optional
	// +kubebuilder:validation:MaxLength=260
	Identity string `json:"identity,omitempty"`
}

// KubeconfigSource is where <cluster>-kubeconfig comes from.
type KubeconfigSource string

const (
	// KubeconfigSourceModule is the module's kubeconfig output, published as is.
	KubeconfigSourceModule KubeconfigSource = "Module"
	// KubeconfigSourceEKSToken is a kubeconfig CAPT builds with an EKS token it mints and refreshes.
	KubeconfigSourceEKSToken KubeconfigSource = "EKSToken"
)

// CAPTControlPlaneInitializationStatus is the v1beta2 contract's initialization block.
type CAPTControlPlaneInitializationStatus struct {
	// ControlPlaneInitialized is true once the API server is reachable and the kubeconfig
	// secret exists.
	// +optional
	ControlPlaneInitialized *bool `json:"controlPlaneInitialized,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=captcontrolplanes,scope=Namespaced,categories=cluster-api;capt
// +kubebuilder:metadata:labels="clusterctl.cluster.x-k8s.io="
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta1=v1beta1"
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1beta1"
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.metadata.labels['cluster\.x-k8s\.io/cluster-name']`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.version`
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.status.endpoint`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// CAPTControlPlane is a Cluster API control plane provided by Terraform (EKS).
type CAPTControlPlane struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	// +kubebuilder:validation:XValidation:rule="has(self.adopt) == has(oldSelf.adopt)",message="spec.adopt cannot be added or removed: it names the Terraform state the Workspace uses"
	Spec   CAPTControlPlaneSpec   `json:"spec"`
	Status CAPTControlPlaneStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// CAPTControlPlaneList is a list of CAPTControlPlanes.
type CAPTControlPlaneList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CAPTControlPlane `json:"items"`
}

func init() {
	objectTypes = append(objectTypes, &CAPTControlPlane{}, &CAPTControlPlaneList{})
}
