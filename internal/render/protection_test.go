package render

import (
	"slices"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestProtectionIsRenderedOverAnyValue renders a protected template: the variable is
// true in the varmap whatever the template's varmap or the apply's variables say, the
// template's destroyArgs are kept and -var=<variable>=false follows them once, so that
// a destroy is never refused; the other varmap values stay as written.
func TestProtectionIsRenderedOverAnyValue(t *testing.T) {
	tmpl := template(func(d *infrav1.WorkspaceTemplateDefinition) {
		d.Spec.ForProvider.VarMap = &apiextensionsv1.JSON{Raw: []byte(`{"capt_protect":false,"zone_count":3}`)}
		d.Spec.ForProvider.DestroyArgs = []string{"-lock-timeout=5m"}
	})
	tmpl.Spec.Protection = &infrav1.WorkspaceProtection{Variable: "capt_protect"}
	w, err := Workspace(workspace.DefaultAPI(), tmpl, apply(map[string]string{"capt_protect": "false", "region": "eu-west-1"}))
	if err != nil {
		t.Fatal(err)
	}
	p := w.Spec.ForProvider
	if got, want := string(p.VarMap.Raw), `{"capt_protect":true,"region":"eu-west-1","zone_count":3}`; got != want {
		t.Errorf("varmap %s, want %s", got, want)
	}
	if want := []string{"-lock-timeout=5m", "-var=capt_protect=false"}; !slices.Equal(p.DestroyArgs, want) {
		t.Errorf("destroyArgs %q, want %q", p.DestroyArgs, want)
	}
	if protect, ok := Protected(p, "capt_protect"); !protect || !ok {
		t.Errorf("Protected = %v, %v", protect, ok)
	}

	// An approved change: false, the destroy argument not repeated, numbers as written.
	p.VarMap.Raw = []byte(`{"big":12345678901234567890,"capt_protect":true}`)
	if err := SetProtection(&p, "capt_protect", false); err != nil {
		t.Fatal(err)
	}
	if got, want := string(p.VarMap.Raw), `{"big":12345678901234567890,"capt_protect":false}`; got != want {
		t.Errorf("varmap %s, want %s", got, want)
	}
	if protect, ok := Protected(p, "capt_protect"); protect || !ok {
		t.Errorf("after SetProtection(false): Protected = %v, %v", protect, ok)
	}
	if len(p.DestroyArgs) != 2 || len(tmpl.Spec.Template.Spec.ForProvider.DestroyArgs) != 1 {
		t.Errorf("destroyArgs %q; the template's %q", p.DestroyArgs, tmpl.Spec.Template.Spec.ForProvider.DestroyArgs)
	}

	// Without spec.protection nothing is added.
	tmpl.Spec.Protection = nil
	w, err = Workspace(workspace.DefaultAPI(), tmpl, apply(map[string]string{"region": "eu-west-1"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := Protected(w.Spec.ForProvider, "region"); ok || !slices.Equal(w.Spec.ForProvider.DestroyArgs, []string{"-lock-timeout=5m"}) {
		t.Errorf("unprotected template: varmap %s, destroyArgs %q", w.Spec.ForProvider.VarMap.Raw, w.Spec.ForProvider.DestroyArgs)
	}
}
