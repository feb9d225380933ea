package render

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

func template(mutate func(*infrav1.WorkspaceTemplateDefinition)) *infrav1.WorkspaceTemplate {
	t := &infrav1.WorkspaceTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "vpc"},
		Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{
			Spec: infrav1.WorkspaceSpec{ForProvider: infrav1.WorkspaceParameters{
				Source: "Inline", Module: `output "x" { value = "${var.region}" }`,
			}},
		}},
	}
	if mutate != nil {
		mutate(&t.Spec.Template)
	}
	return t
}

func apply(vars map[string]string) *infrav1.WorkspaceTemplateApply {
	return &infrav1.WorkspaceTemplateApply{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "demo-vpc",
			Labels: map[string]string{"cluster.x-k8s.io/cluster-name": "demo"}},
		Spec: infrav1.WorkspaceTemplateApplySpec{TemplateRef: infrav1.WorkspaceTemplateReference{Name: "vpc"}, Variables: vars},
	}
}

func TestWorkspaceNameCannotCollide(t *testing.T) {
	api := workspace.DefaultAPI()
	names := map[string]string{}
	for _, key := range [][2]string{{"a", "demo"}, {"b", "demo"}, {"a-b", "c"}, {"a", "b-c"}, {strings.Repeat("n", 63), strings.Repeat("x", 253)}, {strings.Repeat("n", 63), strings.Repeat("x", 252)}} {
		name := WorkspaceName(api, key[0], key[1])
		if prev, dup := names[name]; dup {
			t.Errorf("%v and %v share Workspace name %s", prev, key, name)
		}
		names[name] = key[0] + "/" + key[1]
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			t.Errorf("name %q for %v is not a DNS label: %v", name, key, errs)
		}
	}
	if got := WorkspaceName(api, "a", "demo"); got != WorkspaceName(api, "a", "demo") || !strings.HasPrefix(got, "a-demo-") {
		t.Errorf("name %q is not stable and readable", got)
	}
	namespaced, _ := workspace.NewAPI(workspace.GroupTerraformNamespaced)
	if got := WorkspaceName(namespaced, "a", "demo"); got != "demo" {
		t.Errorf("namespaced name = %q, want the WorkspaceTemplateApply's name", got)
	}
}

func TestVariablesReachTerraformAsData(t *testing.T) {
	tmpl := template(func(d *infrav1.WorkspaceTemplateDefinition) {
		d.Spec.ForProvider.Vars = []infrav1.Var{
			{Key: "region", Value: "us-east-1"},
			{Key: "name", Value: "${cluster_name}-vpc"},
			{Key: "literal", Value: "$${not_a_placeholder}"},
		}
		d.Spec.ForProvider.VarMap = &apiextensionsv1.JSON{Raw: []byte(`{"tags":{"cluster":"${cluster_name}"},"azs":["a","b"],"n":3}`)}
		d.Spec.ForProvider.Env = []infrav1.EnvVar{{Name: "TF_VAR_owner", Value: "${cluster_name}"}}
		d.Spec.WriteConnectionSecretToRef = &infrav1.SecretReference{Name: "${cluster_name}-outputs"}
		d.Metadata.Labels = map[string]string{"cluster": "${cluster_name}"}
	})
	w, err := Workspace(workspace.DefaultAPI(), tmpl, apply(map[string]string{
		"cluster_name": "demo", "region": "ap-northeast-1", "quote": `a"b` + "\n}",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if w.Spec.ForProvider.Module != tmpl.Spec.Template.Spec.ForProvider.Module {
		t.Errorf("module text changed: %q", w.Spec.ForProvider.Module)
	}
	wantVars := []infrav1.Var{
		{Key: "name", Value: "demo-vpc"},
		{Key: "literal", Value: "${not_a_placeholder}"},
	}
	if got, _ := json.Marshal(w.Spec.ForProvider.Vars); string(got) != mustJSON(t, wantVars) {
		t.Errorf("vars = %s\nwant   %s", got, mustJSON(t, wantVars))
	}
	wantVarMap := `{"azs":["a","b"],"cluster_name":"demo","n":3,"quote":"a\"b\n}","region":"ap-northeast-1","tags":{"cluster":"demo"}}`
	if got := string(w.Spec.ForProvider.VarMap.Raw); got != wantVarMap {
		t.Errorf("varmap = %s\nwant     %s", got, wantVarMap)
	}
	if w.Spec.ForProvider.Env[0].Value != "demo" {
		t.Errorf("env = %+v", w.Spec.ForProvider.Env)
	}
	if r := w.Spec.WriteConnectionSecretToRef; r == nil || r.Name != "demo-outputs" || r.Namespace != "team-a" {
		t.Errorf("connection secret = %+v, want demo-outputs in team-a", r)
	}
	wantLabels := map[string]string{
		"cluster": "demo", "cluster.x-k8s.io/cluster-name": "demo",
		infrav1.WorkspaceTemplateApplyNamespaceLabel: "team-a", infrav1.WorkspaceTemplateApplyNameLabel: "demo-vpc",
	}
	if got, want := mustJSON(t, w.Labels), mustJSON(t, wantLabels); got != want {
		t.Errorf("labels = %s, want %s", got, want)
	}
	if got := w.Annotations[infrav1.WorkspaceTemplateApplyAnnotation]; got != "team-a/demo-vpc" {
		t.Errorf("owner annotation = %q", got)
	}
	if w.Namespace != "" || w.APIVersion != "tf.upbound.io/v1beta1" || w.Kind != "Workspace" {
		t.Errorf("cluster-scoped Workspace rendered as %s %s in %q", w.APIVersion, w.Kind, w.Namespace)
	}
}

func TestRenderErrorsNameTheFieldNotTheValue(t *testing.T) {
	cases := []struct {
		name    string
		api     string
		mutate  func(*infrav1.WorkspaceTemplateDefinition)
		vars    map[string]string
		wantErr string
	}{
		{name: "unknown placeholder", mutate: func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Spec.ForProvider.Vars = []infrav1.Var{{Key: "a", Value: "${missing}"}}
		}, wantErr: "spec.template.spec.forProvider.vars[0].value: placeholder ${missing} names no variable"},
		{name: "unterminated placeholder", mutate: func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Spec.ForProvider.Env = []infrav1.EnvVar{{Name: "A", Value: "${oops"}}
		}, wantErr: "spec.template.spec.forProvider.env[0].value has an unterminated ${"},
		{name: "placeholder in varmap", mutate: func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Spec.ForProvider.VarMap = &apiextensionsv1.JSON{Raw: []byte(`{"a":[{"b":"${nope}"}]}`)}
		}, wantErr: "spec.template.spec.forProvider.varmap.a[0].b: placeholder ${nope}"},
		{name: "secret name invalid after substitution", mutate: func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Spec.WriteConnectionSecretToRef = &infrav1.SecretReference{Name: "${who}"}
		}, vars: map[string]string{"who": "Not A Name s3cr3t"}, wantErr: "spec.template.spec.writeConnectionSecretToRef.name is not a valid Secret name"},
		{name: "label invalid after substitution", mutate: func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Metadata.Labels = map[string]string{"x": "${who}"}
		}, vars: map[string]string{"who": "s3cr3t value"}, wantErr: "spec.template.metadata.labels[x] is not a valid label value"},
		{name: "megabyte varmap key is cut in the message", mutate: func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Spec.ForProvider.VarMap = &apiextensionsv1.JSON{Raw: []byte(`{"` + strings.Repeat("k", 1<<20) + `":"${nope}"}`)}
		}, wantErr: `spec.template.spec.forProvider.varmap."kkkk`},
		{name: "control characters in a label key are quoted", mutate: func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Metadata.Labels = map[string]string{"a\x00\n": "${who}"}
		}, vars: map[string]string{"who": "s3cr3t value"}, wantErr: `spec.template.metadata.labels["a\x00\n"] is not a valid label value`},
		{name: "megabyte placeholder name is cut", mutate: func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Spec.ForProvider.Vars = []infrav1.Var{{Key: "a", Value: "${" + strings.Repeat("p", 1<<20) + "}"}}
		}, wantErr: "(1048576 bytes)} names no variable"},
		{name: "deeply nested varmap path is cut", mutate: func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Spec.ForProvider.VarMap = &apiextensionsv1.JSON{Raw: []byte(strings.Repeat(`{"`+strings.Repeat("k", 60)+`":`, 5000) + `"${a b}"` + strings.Repeat("}", 5000))}
		}, wantErr: "... has a placeholder that is not a variable name (3 characters"},
		{name: "of two bad varmap entries, the first key", mutate: func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Spec.ForProvider.VarMap = &apiextensionsv1.JSON{Raw: []byte(`{"b":"${nope}","a":{"z":"${x y}","c":["${}"]}}`)}
		}, wantErr: "spec.template.spec.forProvider.varmap.a.c[0] has a placeholder that is not a variable name (0 characters"},
		{name: "varmap not an object", mutate: func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Spec.ForProvider.VarMap = &apiextensionsv1.JSON{Raw: []byte(`["a"]`)}
		}, wantErr: "spec.template.spec.forProvider.varmap must be a JSON object"},
		{name: "deletion policy on namespaced Workspaces", api: workspace.GroupTerraformNamespaced, mutate: func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Spec.DeletionPolicy = "Orphan"
		}, wantErr: "spec.template.spec.deletionPolicy is not supported by namespaced Workspaces"},
		{name: "connection secret elsewhere on namespaced Workspaces", api: workspace.GroupTerraformNamespaced, mutate: func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Spec.WriteConnectionSecretToRef = &infrav1.SecretReference{Name: "out", Namespace: "other"}
		}, wantErr: "must be the WorkspaceTemplateApply's namespace"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := workspace.DefaultAPI()
			if tc.api != "" {
				api, _ = workspace.NewAPI(tc.api)
			}
			_, err := Workspace(api, template(tc.mutate), apply(tc.vars))
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want a FieldError containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q contains a variable's value", err)
			}
			if len(err.Error()) > 1024 {
				t.Errorf("error of %d bytes: %.200s", len(err.Error()), err)
			}
		})
	}
}

func TestValidateTemplate(t *testing.T) {
	namespaced, _ := workspace.NewAPI(workspace.GroupOpenTofuNamespaced)
	cases := []struct {
		name    string
		api     workspace.API
		mutate  func(*infrav1.WorkspaceTemplateDefinition)
		wantErr string
	}{
		{name: "placeholders of any variable are fine", api: workspace.DefaultAPI(), mutate: func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Spec.ForProvider.Vars = []infrav1.Var{{Key: "a", Value: "${anything}"}}
		}},
		{name: "malformed placeholder", api: workspace.DefaultAPI(), mutate: func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Spec.ForProvider.Vars = []infrav1.Var{{Key: "a", Value: "${a b}"}}
		}, wantErr: "not a variable name"},
		{name: "inline JSON that is not JSON", api: workspace.DefaultAPI(), mutate: func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Spec.ForProvider.InlineFormat = "JSON"
			d.Spec.ForProvider.Module = `{"output": `
		}, wantErr: "module is not valid JSON"},
		{name: "deletion policy on a namespaced group", api: namespaced, mutate: func(d *infrav1.WorkspaceTemplateDefinition) {
			d.Spec.DeletionPolicy = "Delete"
		}, wantErr: "not supported by namespaced Workspaces"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateTemplate(tc.api, template(tc.mutate))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
