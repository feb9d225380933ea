package render

import (
	"encoding/json"
	"errors"
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
	for _, seed := range hostileValues() {
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

// hostileValues are the variable values of issue #8 (item 6): quotes, newlines,
// Terraform template syntax, placeholders, control characters, invalid UTF-8 and a
// megabyte. Both fuzz targets start from them, and go test runs them as seeds.
func hostileValues() []string {
	var controls strings.Builder
	for c := byte(0); c < 0x20; c++ {
		controls.WriteByte(c)
	}
	controls.WriteByte(0x7f)
	return []string{
		"", "plain", `"`, `\"`, `'`, "`", `\`, `\\"`, "\n", "\r\n", "}\n}", `"}, {"key": "injected", "value": "x`,
		`{"a":1}`, `["a"]`, "null", "true", "1e999",
		"${region}", "$${region}", "$$${region}", "${", "}", "$", "${}", "${value}", "${var.region}", "${ region }", "${a b}",
		"%{if true}x%{endif}", "%{for x in y}${x}%{endfor}", "%%{", "%{", `"; output "x" { value = 1 }`,
		"<<EOF\nx\nEOF", "<<-EOT\n  ${x}\n  EOT", "\n}\nresource \"null_resource\" \"x\" {}\n", "# comment\n// comment\n/* c */",
		"\x00", "\x00\x01\x7f", controls.String(), "a\x00b", "\u2028\u2029", "\ufeff", "\xff\xfe", "\xc3\x28", "\xed\xa0\x80", "ünïcødé ✓",
		strings.Repeat("a", 1<<20), strings.Repeat("${x}", 1<<14), strings.Repeat("\"\\\n", 1<<12),
	}
}

// FuzzTemplateRendersOrSaysWhy renders hostile templates: a var value, a varmap and a
// label value written by whoever writes the template, with ordinary variables. It never
// panics; it renders with the module untouched, or fails with a FieldError whose message
// is short and printable (it goes into a condition).
func FuzzTemplateRendersOrSaysWhy(f *testing.F) {
	for _, v := range hostileValues() {
		f.Add(v, `{"k":"${region}"}`, "team")
	}
	for _, varmap := range []string{
		"", "null", "{}", "[]", `"x"`, "1", `{"a":`, `{"a":"${}"}`, `{"a":{"b":["${missing}"]}}`, `{"${region}":"key, not a placeholder"}`,
		`{"` + strings.Repeat("k", 1<<16) + `":"${a b}"}`, `{"a\u0000\n\u007f":"${a b}"}`, strings.Repeat(`{"a":`, 1000) + `"${x"` + strings.Repeat("}", 1000),
		"\xff", `{"a":"\ud800"}`, `{"a":1e999}`,
	} {
		f.Add("${region}", varmap, "team")
	}
	for _, label := range []string{"", "${region}", "${missing}", "a b", strings.Repeat("l", 64), "\x00", "${region}-${region}-${region}-${region}-${region}-${region}-x"} {
		f.Add("v", "{}", label)
	}
	f.Fuzz(func(t *testing.T, varValue, varmap, label string) {
		tmpl := template(func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Spec.ForProvider.Vars = []infrav1.Var{{Key: "name", Value: varValue}}
			if varmap != "" {
				d.Spec.ForProvider.VarMap = &apiextensionsv1.JSON{Raw: []byte(varmap)}
			}
			d.Metadata.Labels = map[string]string{"team": label}
		})
		for _, err := range []error{
			ValidateTemplate(workspace.DefaultAPI(), tmpl),
			func() error {
				w, err := Workspace(workspace.DefaultAPI(), tmpl, apply(map[string]string{"region": "us-west-2", "x": "1"}))
				if err == nil && w.Spec.ForProvider.Module != tmpl.Spec.Template.Spec.ForProvider.Module {
					t.Fatal("module text changed")
				}
				return err
			}(),
		} {
			if err == nil {
				continue
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FieldError", err)
			}
			if msg := err.Error(); len(msg) > 1024 || strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("error of %d bytes, or with control characters: %.200q", len(msg), msg)
			}
		}
	})
}
