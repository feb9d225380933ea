package render

import (
	"encoding/json"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// FuzzVariablesCannotChangeStructure renders a template with hostile variable values and
// checks that each value arrives verbatim where it belongs and nowhere else: the module
// text, the var keys, the varmap's shape and the object's names stay what the template says.
func FuzzVariablesCannotChangeStructure(f *testing.F) {
	for _, seed := range []string{
		"", "plain", `"`, `\"`, "\n", "}\n}", `"}, {"key": "injected", "value": "x`,
		"${region}", "$${region}", "${", "}", "${var.region}", `"; output "x" { value = 1 }`,
		strings.Repeat("a", 1<<20), "\x00\x01\x7f", "ünïcødé ✓", "<<EOF\nx\nEOF",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		tmpl := template(func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Spec.ForProvider.Vars = []infrav1.Var{{Key: "name", Value: "prefix-${value}-suffix"}}
			d.Spec.ForProvider.VarMap = &apiextensionsv1.JSON{Raw: []byte(`{"tags":{"v":"${value}"},"list":["${value}"]}`)}
		})
		a := apply(map[string]string{"value": value, "region": "us-west-2"})
		w, err := Workspace(workspace.DefaultAPI(), tmpl, a)
		if err != nil {
			t.Fatalf("render failed for a data value: %v", err)
		}
		if w.Spec.ForProvider.Module != tmpl.Spec.Template.Spec.ForProvider.Module {
			t.Fatal("module text changed")
		}
		if len(w.Spec.ForProvider.Vars) != 1 || w.Spec.ForProvider.Vars[0].Key != "name" {
			t.Fatalf("vars = %+v, want the template's one entry", w.Spec.ForProvider.Vars)
		}
		if got := w.Spec.ForProvider.Vars[0].Value; got != "prefix-"+value+"-suffix" {
			t.Fatalf("substituted var = %q", got)
		}
		var vm struct {
			Tags   map[string]string `json:"tags"`
			List   []string          `json:"list"`
			Value  string            `json:"value"`
			Region string            `json:"region"`
		}
		dec := json.NewDecoder(strings.NewReader(string(w.Spec.ForProvider.VarMap.Raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&vm); err != nil {
			t.Fatalf("varmap structure changed: %v", err)
		}
		// Values come from JSON objects, so they are valid UTF-8 in practice; JSON
		// encoding replaces invalid bytes, and the varmap holds what JSON makes of value.
		want := jsonString(t, value)
		if len(vm.Tags) != 1 || vm.Tags["v"] != want || len(vm.List) != 1 || vm.List[0] != want || vm.Value != want || vm.Region != "us-west-2" {
			t.Fatalf("varmap = %+v", vm)
		}
		if w.Name != WorkspaceName(workspace.DefaultAPI(), a.Namespace, a.Name) {
			t.Fatalf("name changed: %s", w.Name)
		}
	})
}

func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
