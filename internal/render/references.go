package render

import (
	"fmt"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// Reference is one namespace a rendered Workspace, or its apply, has CAPT or
// provider-terraform read or write in: where it is set, what is read or written there,
// and the namespace. It never holds a value.
type Reference struct {
	Field     string
	Kind      string
	Namespace string
}

// References lists every namespace the Workspace rendered for apply reaches through
// Secrets and ConfigMaps: the variables files and environment values provider-terraform
// reads, the connection secret it writes (cluster-scoped groups only: a namespaced
// Workspace writes beside itself), and the Secrets the apply waits for. Tenancy
// (docs/tenancy.md) checks each against the apply's namespace.
func References(apply *infrav1.WorkspaceTemplateApply, w *workspace.Workspace) []Reference {
	var refs []Reference
	keyRef := func(field string, configMap, secret *infrav1.KeyReference) {
		switch {
		case secret != nil:
			refs = append(refs, Reference{Field: field + ".secretKeyRef.namespace", Kind: "Secret", Namespace: secret.Namespace})
		case configMap != nil:
			refs = append(refs, Reference{Field: field + ".configMapKeyRef.namespace", Kind: "ConfigMap", Namespace: configMap.Namespace})
		}
	}
	p := w.Spec.ForProvider
	for i, f := range p.VarFiles {
		keyRef(fmt.Sprintf("spec.template.spec.forProvider.varFiles[%d]", i), f.ConfigMapKeyRef, f.SecretKeyRef)
	}
	for i, e := range p.Env {
		keyRef(fmt.Sprintf("spec.template.spec.forProvider.env[%d]", i), e.ConfigMapKeyRef, e.SecretKeyRef)
	}
	if ref := w.Spec.WriteConnectionSecretToRef; ref != nil && ref.Namespace != "" {
		field := "spec.template.spec.writeConnectionSecretToRef.namespace"
		if apply.Spec.WriteConnectionSecretToRef != nil {
			field = "spec.writeConnectionSecretToRef.namespace"
		}
		refs = append(refs, Reference{Field: field, Kind: "Secret", Namespace: ref.Namespace})
	}
	for i, ref := range apply.Spec.WaitForSecrets {
		if ref.Namespace != "" {
			refs = append(refs, Reference{Field: fmt.Sprintf("spec.waitForSecrets[%d].namespace", i), Kind: "Secret", Namespace: ref.Namespace})
		}
	}
	return refs
}

// defaultKeyNamespaces sets the apply's namespace on every Secret and ConfigMap key
// reference that names none: provider-terraform requires one, and a template shared by
// several namespaces then reads each apply's own.
func defaultKeyNamespaces(p *infrav1.WorkspaceParameters, namespace string) {
	set := func(refs ...*infrav1.KeyReference) {
		for _, r := range refs {
			if r != nil && r.Namespace == "" {
				r.Namespace = namespace
			}
		}
	}
	for i := range p.VarFiles {
		set(p.VarFiles[i].ConfigMapKeyRef, p.VarFiles[i].SecretKeyRef)
	}
	for i := range p.Env {
		set(p.Env[i].ConfigMapKeyRef, p.Env[i].SecretKeyRef)
	}
}
