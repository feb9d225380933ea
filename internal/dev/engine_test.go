package dev

import (
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/tfmodule"
)

// TestTerraformEngineDropsOnlyTheProtectionRules: capt dev --engine=terraform applies the
// sample with no prevent_destroy on a variable (Terraform 1.5 refuses it), and otherwise
// as written: the protected templates keep spec.protection and declare the variable (the
// destroy's -var=capt_protect=false needs it).
func TestTerraformEngineDropsOnlyTheProtectionRules(t *testing.T) {
	root, err := localstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	protected := 0
	for _, file := range []string{TemplatesFile(root), EKSTemplateFile(root), filepath.Join(root, "templates", "local", "failing", "workspacetemplate.yaml")} {
		objs, err := ReadObjects(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range objs {
			before := obj.DeepCopy()
			if err := forTerraform(obj); err != nil {
				t.Fatal(err)
			}
			module, _, _ := unstructured.NestedString(obj.Object, "spec", "template", "spec", "forProvider", "module")
			variable, _, _ := unstructured.NestedString(obj.Object, "spec", "protection", "variable")
			if variable == "" {
				if !equalObjects(before, obj) {
					t.Errorf("%s: changed without spec.protection", obj.GetName())
				}
				continue
			}
			protected++
			original, _, _ := unstructured.NestedString(before.Object, "spec", "template", "spec", "forProvider", "module")
			if !strings.Contains(original, "prevent_destroy = var."+variable) {
				t.Errorf("%s: declares spec.protection but protects nothing", obj.GetName())
			}
			if strings.Contains(module, "prevent_destroy =") {
				t.Errorf("%s: still has a prevent_destroy for Terraform 1.5:\n%s", obj.GetName(), module)
			}
			m, err := tfmodule.Parse("main.tf", []byte(module))
			if err != nil {
				t.Fatalf("%s: %v", obj.GetName(), err)
			}
			if _, ok := m.Variables[variable]; !ok {
				t.Errorf("%s: no variable %s left", obj.GetName(), variable)
			}
			if removed, rules := strings.Count(original, "\n")-strings.Count(module, "\n"), strings.Count(original, "prevent_destroy ="); removed != rules {
				t.Errorf("%s: %d lines removed for %d rules", obj.GetName(), removed, rules)
			}
		}
	}
	if protected != 1 {
		t.Errorf("%d protected templates in templates/local, want the VPC's", protected)
	}
}

func equalObjects(a, b *unstructured.Unstructured) bool {
	ja, _ := a.MarshalJSON()
	jb, _ := b.MarshalJSON()
	return string(ja) == string(jb)
}
