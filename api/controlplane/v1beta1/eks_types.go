package v1beta1

// The EKS essentials a platform team sets on every production cluster (issue 30): access
// entries, control plane logging, secrets encryption, IRSA, EKS Pod Identity, the upgrade
// policy, bootstrapSelfManagedAddons and the control plane role. Each field becomes a
// variable of templates/aws/eks only when it is set (docs/controlplane.md, "EKS
// settings"); ARNs, enums and bounds are checked at admission, and a field whose change
// makes EKS replace the cluster cannot change once set (the rest of such a change, adding
// or removing the field, meets the destructive-change gate of the protected EKS cluster).
// Values that AWS spells a certain way (log types, access entry types, support types,
// conflict resolution) are AWS's own spelling, passed through unchanged.

// EKSSettings are the EKS fields of ControlPlaneConfig.
type EKSSettings struct {
	// Access configures who may reach the Kubernetes API through EKS access entries.
	// +optional
	Access *AccessConfig `json:"access,omitempty"`

	// Logging are the control plane log types EKS sends to CloudWatch Logs; none when
	// unset.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=5
	Logging []LogType `json:"logging,omitempty"`

	// Encryption encrypts Kubernetes Secrets with a KMS key (envelope encryption). It can
	// be added to a running cluster, but neither changed nor removed once set: EKS cannot
	// disable it or change its key.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.controlPlaneConfig.encryption cannot be changed once set: EKS cannot change the key of a cluster's secrets encryption"
	Encryption *Encryption `json:"encryption,omitempty"`

	// AssociateOIDCProvider creates an IAM OIDC provider for the cluster's issuer, for
	// IAM roles for service accounts (IRSA); status.eks.oidcProvider reports it.
	// +optional
	AssociateOIDCProvider *bool `json:"associateOIDCProvider,omitempty"`

	// PodIdentity configures EKS Pod Identity: the agent add-on and the associations of
	// service accounts with IAM roles.
	// +optional
	PodIdentity *PodIdentity `json:"podIdentity,omitempty"`

	// UpgradePolicy is the cluster's support type: STANDARD (the version is upgraded by
	// EKS when standard support ends) or EXTENDED (extended support, at extra cost). EKS's
	// default (EXTENDED) when unset.
	// +optional
	// +kubebuilder:validation:Enum=STANDARD;EXTENDED
	UpgradePolicy string `json:"upgradePolicy,omitempty"`

	// BootstrapSelfManagedAddons says whether EKS installs its default networking add-ons
	// (vpc-cni, kube-proxy, coredns) as unmanaged ones at creation; EKS's default (true)
	// when unset. EKS replaces the cluster when it changes: it cannot change once set.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.controlPlaneConfig.bootstrapSelfManagedAddons cannot be changed once set: EKS would replace the cluster"
	BootstrapSelfManagedAddons *bool `json:"bootstrapSelfManagedAddons,omitempty"`

	// Role adds to the IAM role the control plane's EKS cluster assumes.
	// +optional
	Role *ControlPlaneRole `json:"role,omitempty"`
}

// AccessConfig is the cluster's access entries (authentication mode API_AND_CONFIG_MAP).
//
// +kubebuilder:validation:XValidation:rule="!has(self.captPrincipalARN) || !has(self.entries) || !self.entries.exists(e, e.principalARN == self.captPrincipalARN)",message="spec.controlPlaneConfig.access.entries may not name captPrincipalARN: a principal has one access entry per cluster, and captPrincipalARN's gets cluster admin"
type AccessConfig struct {
	// CAPTPrincipalARN is the IAM role (or user) CAPT mints this cluster's tokens with; it
	// gets cluster admin through an access entry. Wins over the template's varmap
	// capt_principal_arn. Never an STS assumed-role session ARN.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$`
	CAPTPrincipalARN string `json:"captPrincipalARN,omitempty"`

	// BootstrapClusterCreatorAdminPermissions gives the identity that creates the cluster
	// (provider-terraform's) cluster admin. Wins over the template's varmap variable of
	// the same name. EKS replaces the cluster when it changes: it cannot change once set.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.controlPlaneConfig.access.bootstrapClusterCreatorAdminPermissions cannot be changed once set: EKS would replace the cluster"
	BootstrapClusterCreatorAdminPermissions *bool `json:"bootstrapClusterCreatorAdminPermissions,omitempty"`

	// Entries are the other principals given access to the cluster.
	// +optional
	// +listType=map
	// +listMapKey=principalARN
	// +kubebuilder:validation:MaxItems=100
	Entries []AccessEntry `json:"entries,omitempty"`
}

// AccessEntry gives one IAM principal access to the cluster.
//
// +kubebuilder:validation:XValidation:rule="self.type == 'STANDARD' || !has(self.accessPolicies)",message="accessPolicies may only be given to an access entry of type STANDARD"
type AccessEntry struct {
	// PrincipalARN is the IAM role or user.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$`
	PrincipalARN string `json:"principalARN"`

	// Type of the access entry: STANDARD, or EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX for
	// the roles of self-managed nodes and Fargate profiles.
	// +optional
	// +kubebuilder:default=STANDARD
	// +kubebuilder:validation:Enum=STANDARD;EC2_LINUX;EC2_WINDOWS;FARGATE_LINUX
	Type string `json:"type,omitempty"`

	// AccessPolicies are the EKS access policies associated with the principal.
	// +optional
	// +listType=map
	// +listMapKey=policyARN
	// +kubebuilder:validation:MaxItems=20
	AccessPolicies []AccessPolicy `json:"accessPolicies,omitempty"`
}

// AccessPolicy is one EKS access policy and where it applies.
type AccessPolicy struct {
	// PolicyARN is an EKS access policy, such as
	// arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy.
	// +required
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^arn:aws(-cn|-us-gov|-iso|-iso-b)?:eks::aws:cluster-access-policy/[A-Za-z0-9]+$`
	PolicyARN string `json:"policyARN"`

	// Scope is where the policy applies.
	// +required
	Scope AccessScope `json:"scope"`
}

// AccessScope is the cluster, or some namespaces.
//
// +kubebuilder:validation:XValidation:rule="self.type == 'namespace' ? has(self.namespaces) && size(self.namespaces) > 0 : !has(self.namespaces)",message="namespaces must be given with type namespace, and only then"
type AccessScope struct {
	// Type is cluster or namespace.
	// +required
	// +kubebuilder:validation:Enum=cluster;namespace
	Type string `json:"type"`

	// Namespaces the policy applies to, with type namespace.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9*]([-a-z0-9*]*[a-z0-9*])?$`
	Namespaces []string `json:"namespaces,omitempty"`
}

// LogType is a control plane log type of EKS.
// +kubebuilder:validation:Enum=api;audit;authenticator;controllerManager;scheduler
type LogType string

// Encryption is a KMS key for Kubernetes Secrets: one given, or one the module creates.
//
// +kubebuilder:validation:XValidation:rule="has(self.keyARN) != (has(self.createKey) && self.createKey)",message="exactly one of keyARN and createKey: true must be set"
type Encryption struct {
	// KeyARN is a KMS key (or alias) ARN; it must be a symmetric key in the cluster's
	// region.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^arn:aws(-cn|-us-gov|-iso|-iso-b)?:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_-]+$`
	KeyARN string `json:"keyARN,omitempty"`

	// CreateKey makes the module create a KMS key for the cluster (deleted with it, after
	// KMS's waiting period).
	// +optional
	CreateKey bool `json:"createKey,omitempty"`
}

// PodIdentity is EKS Pod Identity.
type PodIdentity struct {
	// Agent installs the eks-pod-identity-agent add-on (unless spec.controlPlaneConfig.addons
	// lists it already, with its own settings). Pods get credentials through it.
	// +optional
	Agent bool `json:"agent,omitempty"`

	// Associations give a service account's Pods an IAM role.
	// +optional
	// +listType=map
	// +listMapKey=namespace
	// +listMapKey=serviceAccount
	// +kubebuilder:validation:MaxItems=200
	Associations []PodIdentityAssociation `json:"associations,omitempty"`
}

// PodIdentityAssociation is a service account and the IAM role its Pods get.
type PodIdentityAssociation struct {
	// Namespace of the service account.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace"`

	// ServiceAccount is the service account's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	ServiceAccount string `json:"serviceAccount"`

	// RoleARN is the IAM role; its trust policy must allow pods.eks.amazonaws.com.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$`
	RoleARN string `json:"roleARN"`
}

// ControlPlaneRole adds to the IAM role of the EKS cluster.
type ControlPlaneRole struct {
	// AdditionalPolicies are IAM managed policy ARNs attached to the role beside
	// AmazonEKSClusterPolicy (IAM allows 20 managed policies per role at most).
	// provider-terraform's identity must be allowed to attach them (docs/install.md).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=19
	// +kubebuilder:validation:items:MaxLength=2048
	// +kubebuilder:validation:items:Pattern=`^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+$`
	AdditionalPolicies []string `json:"additionalPolicies,omitempty"`

	// PermissionsBoundary is the ARN of the managed policy that bounds the role.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+$`
	PermissionsBoundary string `json:"permissionsBoundary,omitempty"`
}

// AddonSettings are an add-on's EKS settings beyond its name, version and configuration.
type AddonSettings struct {
	// ConflictResolution is how EKS treats fields of the add-on's Kubernetes objects that
	// someone changed: OVERWRITE them, keep them (NONE: the create or update fails on a
	// conflict), or PRESERVE them on update (a create, which PRESERVE does not apply to,
	// then uses NONE). EKS's default (NONE) when unset.
	// +optional
	// +kubebuilder:validation:Enum=OVERWRITE;NONE;PRESERVE
	ConflictResolution string `json:"conflictResolution,omitempty"`

	// ServiceAccountRoleARN is the IAM role the add-on's service account gets through
	// IRSA (spec.controlPlaneConfig.associateOIDCProvider), such as the VPC CNI's.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$`
	ServiceAccountRoleARN string `json:"serviceAccountRoleARN,omitempty"`

	// PreserveOnDelete keeps the add-on's Kubernetes objects on the cluster when the
	// add-on is removed from this list (EKS stops managing them).
	// +optional
	PreserveOnDelete *bool `json:"preserveOnDelete,omitempty"`
}

// EKSStatus is what the EKS module reports of the cluster.
type EKSStatus struct {
	// OIDCProvider is the cluster's OIDC issuer and, with associateOIDCProvider, the IAM
	// OIDC provider created for it (outputs oidc_issuer_url, oidc_provider_arn).
	// +optional
	OIDCProvider *OIDCProviderStatus `json:"oidcProvider,omitempty"`

	// Addons is the state of each add-on of spec.controlPlaneConfig.addons (and the Pod
	// Identity agent), in the spec's order.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=65
	Addons []AddonStatus `json:"addons,omitempty"`
}

// OIDCProviderStatus is the cluster's OIDC issuer and IAM OIDC provider.
type OIDCProviderStatus struct {
	// IssuerURL is the cluster's OIDC issuer (https://oidc.eks.<region>.amazonaws.com/id/...).
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	IssuerURL string `json:"issuerURL,omitempty"`

	// ARN is the IAM OIDC provider's ARN; empty without associateOIDCProvider.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	ARN string `json:"arn,omitempty"`
}

// AddonStatus is one add-on's state.
type AddonStatus struct {
	// Name of the add-on.
	// +required
	// +kubebuilder:validation:MaxLength=100
	Name string `json:"name"`

	// State is Active (the module's last apply created or updated it, and Terraform waits
	// for EKS's ACTIVE), WaitingForNodes (held until a node group is Ready) or Pending
	// (asked for, not applied yet).
	// +required
	// +kubebuilder:validation:Enum=Active;WaitingForNodes;Pending
	State AddonState `json:"state"`

	// Version is the version EKS runs (the module's output addon_versions), the default
	// one's when spec left it empty.
	// +optional
	// +kubebuilder:validation:MaxLength=100
	Version string `json:"version,omitempty"`
}

// AddonState is an add-on's state in status.eks.addons.
type AddonState string

const (
	// AddonActive says the module's outputs list the add-on.
	AddonActive AddonState = "Active"
	// AddonWaitingForNodes says the add-on needs Nodes and no node group is Ready.
	AddonWaitingForNodes AddonState = "WaitingForNodes"
	// AddonPending says it is asked for, not in the module's outputs yet.
	AddonPending AddonState = "Pending"
)

// PodIdentityAgentAddon is the add-on PodIdentity.Agent installs.
const PodIdentityAgentAddon = "eks-pod-identity-agent"
