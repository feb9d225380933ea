package v1beta1

// APIEndpoint is a Kubernetes API server address: a host name or IP address (never a
// URL) and a port. Its JSON shape is the one Cluster API reads from
// spec.controlPlaneEndpoint.
//
// +kubebuilder:validation:XValidation:rule="has(self.host) == has(self.port)",message="host and port must be set together"
type APIEndpoint struct {
	// Host is the DNS name or IP address of the API server, without scheme, port or path.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="isIP(self) || self.matches('^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$')",message="host must be a DNS name or an IP address, not a URL"
	Host string `json:"host,omitempty"`

	// Port is the TCP port of the API server.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
}

// IsZero reports whether the endpoint is unset.
func (e APIEndpoint) IsZero() bool { return e.Host == "" && e.Port == 0 }

// WorkspaceTemplateReference names a WorkspaceTemplate.
type WorkspaceTemplateReference struct {
	// Name of the WorkspaceTemplate.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Namespace of the WorkspaceTemplate; defaults to the namespace of the referring object.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// SecretReference names a Secret.
type SecretReference struct {
	// Name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Namespace of the Secret; defaults to the namespace of the referring object.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// WorkspaceReference names a provider-terraform Workspace.
type WorkspaceReference struct {
	// Name of the Workspace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Namespace of the Workspace, for the namespaced Workspace API groups; ignored for
	// cluster-scoped Workspaces.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// ObjectMeta is the metadata a template stamps on the objects it creates.
type ObjectMeta struct {
	// Labels to set on the created object.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Annotations to set on the created object.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}
