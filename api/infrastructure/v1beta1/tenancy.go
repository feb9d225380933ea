package v1beta1

// Tenancy (docs/tenancy.md): what a WorkspaceTemplateApply renders reaches only its own
// namespace, and the ProviderConfigs granted to its template's namespace, unless the
// platform grants more.
const (
	// AllowedNamespacesAnnotation is the platform's grant, a comma-separated list of
	// namespaces or "*" (every namespace); absent or empty grants none, as CAPA's
	// allowedNamespaces does.
	//   - On a provider-terraform ProviderConfig (cluster-scoped groups): the namespaces
	//     whose WorkspaceTemplates may name it, that is run their modules with its
	//     credentials.
	//   - On a Namespace: the namespaces whose WorkspaceTemplateApplies may reach into
	//     it: use its WorkspaceTemplates, read its Secrets and ConfigMaps (varFiles, env,
	//     waitForSecrets) and write connection secrets there.
	AllowedNamespacesAnnotation = "infrastructure.cluster.x-k8s.io/allowed-namespaces"

	// NamespaceNotGrantedReason: the template or the apply references a Secret, a
	// ConfigMap, a connection secret or a WorkspaceTemplate in another namespace, which
	// that namespace does not grant to the apply's (AllowedNamespacesAnnotation).
	NamespaceNotGrantedReason = "NamespaceNotGranted"

	// ProviderConfigNotGrantedReason: the template names a ProviderConfig that does not
	// grant the template's namespace (AllowedNamespacesAnnotation), or that does not exist.
	ProviderConfigNotGrantedReason = "ProviderConfigNotGranted"

	// WaitingForProviderConfigReason: the Workspace's ProviderConfig does not exist yet;
	// the Workspace is created once it does and grants the template's namespace.
	WaitingForProviderConfigReason = "WaitingForProviderConfig"
)
