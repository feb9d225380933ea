package dev

import (
	"fmt"
	"regexp"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// forTerraform makes the sample's WorkspaceTemplates run on Terraform 1.5.7 (capt dev
// --engine=terraform): their Inline modules protect resources with
// lifecycle { prevent_destroy = var.<protection variable> }, which OpenTofu accepts and
// Terraform 1.5 refuses ("Variables not allowed"). The lifecycle lines go; the variable,
// spec.protection and the destroy argument stay, so the stack runs as a Terraform user's
// does with the templates/aws modules, whose rule is in an OpenTofu-only file: unprotected.
func forTerraform(obj *unstructured.Unstructured) error {
	if obj.GetKind() != "WorkspaceTemplate" {
		return nil
	}
	variable, _, _ := unstructured.NestedString(obj.Object, "spec", "protection", "variable")
	module, _, _ := unstructured.NestedString(obj.Object, "spec", "template", "spec", "forProvider", "module")
	if variable == "" || module == "" {
		return nil
	}
	v := regexp.QuoteMeta(variable)
	rule := regexp.MustCompile(`(?m)^[ \t]*lifecycle \{ prevent_destroy = var\.` + v + ` \}\n`)
	stripped := rule.ReplaceAllString(module, "")
	if regexp.MustCompile(`prevent_destroy\s*=\s*var\.` + v + `\b`).MatchString(stripped) {
		return fmt.Errorf("WorkspaceTemplate %s: a prevent_destroy on var.%s that is not on a line of its own; Terraform 1.5 would refuse it", obj.GetName(), variable)
	}
	return unstructured.SetNestedField(obj.Object, stripped, "spec", "template", "spec", "forProvider", "module")
}
