package render

import (
	"testing"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestKeyReferencesDefaultToTheApplysNamespace: a Secret or ConfigMap reference without a
// namespace reads the apply's, never the template's, and the template object is left as
// it was (templates are shared by applies of several namespaces). References lists them
// all, with the namespaces provider-terraform will use.
func TestKeyReferencesDefaultToTheApplysNamespace(t *testing.T) {
	tmpl := template(func(d *infrav1.WorkspaceTemplateDefinition) {
		d.Spec.ForProvider.VarFiles = []infrav1.VarFile{
			{Source: "SecretKey", SecretKeyRef: &infrav1.KeyReference{Name: "vars", Key: "k"}},
			{Source: "ConfigMapKey", ConfigMapKeyRef: &infrav1.KeyReference{Namespace: "shared", Name: "common", Key: "k"}},
		}
		d.Spec.ForProvider.Env = []infrav1.EnvVar{{Name: "TOKEN", SecretKeyRef: &infrav1.KeyReference{Name: "token", Key: "k"}}}
	})
	a := apply(map[string]string{"region": "x"})
	w, err := Workspace(workspace.DefaultAPI(), tmpl, a)
	if err != nil {
		t.Fatal(err)
	}
	p := w.Spec.ForProvider
	if got := p.VarFiles[0].SecretKeyRef.Namespace; got != a.Namespace {
		t.Errorf("varFiles[0] namespace %q, want the apply's %q", got, a.Namespace)
	}
	if got := p.Env[0].SecretKeyRef.Namespace; got != a.Namespace {
		t.Errorf("env[0] namespace %q, want the apply's %q", got, a.Namespace)
	}
	if got := p.VarFiles[1].ConfigMapKeyRef.Namespace; got != "shared" {
		t.Errorf("varFiles[1] namespace %q, want the one it names", got)
	}
	if ns := tmpl.Spec.Template.Spec.ForProvider.VarFiles[0].SecretKeyRef.Namespace; ns != "" {
		t.Errorf("rendering wrote %q into the template", ns)
	}
	want := []Reference{
		{Field: "spec.template.spec.forProvider.varFiles[0].secretKeyRef.namespace", Kind: "Secret", Namespace: a.Namespace},
		{Field: "spec.template.spec.forProvider.varFiles[1].configMapKeyRef.namespace", Kind: "ConfigMap", Namespace: "shared"},
		{Field: "spec.template.spec.forProvider.env[0].secretKeyRef.namespace", Kind: "Secret", Namespace: a.Namespace},
	}
	got := References(a, w)
	if len(got) != len(want) {
		t.Fatalf("References = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("References[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}
