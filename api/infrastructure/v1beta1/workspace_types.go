package v1beta1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// WorkspaceSpec is the part of a provider-terraform Workspace's spec that a
// WorkspaceTemplate sets. Field names and meanings are provider-terraform's; CAPT fills
// in the rest (name, labels, owner, connection secret).
type WorkspaceSpec struct {
	// ForProvider is the Terraform configuration to apply.
	// +required
	ForProvider WorkspaceParameters `json:"forProvider"`

	// ProviderConfigRef names the provider-terraform ProviderConfig (credentials, state
	// backend); provider-terraform uses "default" when unset.
	// +optional
	ProviderConfigRef *ProviderConfigReference `json:"providerConfigRef,omitempty"`

	// DeletionPolicy says whether deleting the Workspace destroys what it created
	// (Delete) or leaves it (Orphan).
	// +optional
	// +kubebuilder:validation:Enum=Delete;Orphan
	DeletionPolicy string `json:"deletionPolicy,omitempty"`

	// ManagementPolicies are Crossplane's management policies for the Workspace.
	// +optional
	// +kubebuilder:validation:MaxItems=6
	ManagementPolicies []ManagementAction `json:"managementPolicies,omitempty"`

	// WriteConnectionSecretToRef is where provider-terraform writes every output of the
	// module, the sensitive ones too. A WorkspaceTemplateApply's own
	// writeConnectionSecretToRef takes precedence.
	// +optional
	WriteConnectionSecretToRef *SecretReference `json:"writeConnectionSecretToRef,omitempty"`
}

// ManagementAction is one of Crossplane's management policies.
// +kubebuilder:validation:Enum=Observe;Create;Update;Delete;LateInitialize;"*"
type ManagementAction string

// ProviderConfigReference names a provider-terraform ProviderConfig.
type ProviderConfigReference struct {
	// Name of the ProviderConfig.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// WorkspaceParameters is a Workspace's spec.forProvider.
//
// +kubebuilder:validation:XValidation:rule="self.source == 'Inline' || !has(self.inlineFormat)",message="inlineFormat applies only to source Inline"
type WorkspaceParameters struct {
	// Source says where the module comes from: Inline (module holds the configuration),
	// Remote (module is a go-getter URL) or Flux (module names a Flux artifact).
	// +required
	// +kubebuilder:validation:Enum=Remote;Inline;Flux
	Source string `json:"source"`

	// Module is the inline configuration or the module's address, depending on source.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1048576
	Module string `json:"module"`

	// InlineFormat is the format of an inline module.
	// +optional
	// +kubebuilder:validation:Enum=HCL;JSON
	InlineFormat string `json:"inlineFormat,omitempty"`

	// Entrypoint is the path inside a Remote module where Terraform runs.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Entrypoint string `json:"entrypoint,omitempty"`

	// Vars are Terraform input variables given as strings.
	// +optional
	// +listType=map
	// +listMapKey=key
	// +kubebuilder:validation:MaxItems=256
	Vars []Var `json:"vars,omitempty"`

	// VarMap holds Terraform input variables of any JSON type.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	VarMap *apiextensionsv1.JSON `json:"varmap,omitempty"`

	// VarFiles are Terraform variable files read from ConfigMaps or Secrets.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	VarFiles []VarFile `json:"varFiles,omitempty"`

	// Env sets environment variables of the Terraform process.
	// +optional
	// +kubebuilder:validation:MaxItems=128
	Env []EnvVar `json:"env,omitempty"`

	// InitArgs are extra arguments of terraform init.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	InitArgs []string `json:"initArgs,omitempty"`

	// PlanArgs are extra arguments of terraform plan.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	PlanArgs []string `json:"planArgs,omitempty"`

	// ApplyArgs are extra arguments of terraform apply.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	ApplyArgs []string `json:"applyArgs,omitempty"`

	// DestroyArgs are extra arguments of terraform destroy.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	DestroyArgs []string `json:"destroyArgs,omitempty"`
}

// Var is one Terraform input variable.
type Var struct {
	// Key is the variable's name in the module.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_-]*$`
	Key string `json:"key"`

	// Value is the variable's value.
	// +required
	// +kubebuilder:validation:MaxLength=1048576
	Value string `json:"value"`
}

// VarFile is a Terraform variable file read from a ConfigMap or Secret key.
//
// +kubebuilder:validation:XValidation:rule="self.source == 'ConfigMapKey' ? has(self.configMapKeyRef) : has(self.secretKeyRef)",message="configMapKeyRef is required for source ConfigMapKey, secretKeyRef for source SecretKey"
type VarFile struct {
	// Source is where the file is read from.
	// +required
	// +kubebuilder:validation:Enum=ConfigMapKey;SecretKey
	Source string `json:"source"`

	// ConfigMapKeyRef selects the ConfigMap key holding the file.
	// +optional
	ConfigMapKeyRef *KeyReference `json:"configMapKeyRef,omitempty"`

	// SecretKeyRef selects the Secret key holding the file.
	// +optional
	SecretKeyRef *KeyReference `json:"secretKeyRef,omitempty"`

	// Format of the file.
	// +optional
	// +kubebuilder:validation:Enum=HCL;JSON
	Format string `json:"format,omitempty"`
}

// EnvVar is an environment variable of the Terraform process, given inline or read from
// a ConfigMap or Secret key.
//
// +kubebuilder:validation:XValidation:rule="[has(self.value), has(self.configMapKeyRef), has(self.secretKeyRef)].filter(x, x).size() <= 1",message="set at most one of value, configMapKeyRef and secretKeyRef"
type EnvVar struct {
	// Name of the variable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	Name string `json:"name"`

	// Value of the variable.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	Value string `json:"value,omitempty"`

	// ConfigMapKeyRef selects a ConfigMap key holding the value.
	// +optional
	ConfigMapKeyRef *KeyReference `json:"configMapKeyRef,omitempty"`

	// SecretKeyRef selects a Secret key holding the value.
	// +optional
	SecretKeyRef *KeyReference `json:"secretKeyRef,omitempty"`
}

// KeyReference selects one key of a ConfigMap or Secret.
type KeyReference struct {
	// Namespace of the ConfigMap or Secret; the WorkspaceTemplateApply's when unset, so
	// that a template shared by several namespaces reads each apply's own. Another
	// namespace must grant the apply's (docs/tenancy.md).
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`

	// Name of the ConfigMap or Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Key within it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}
