package awsmodules

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// shippedModules are the modules of templates/aws.
var shippedModules = []string{"vpc", "eks", "nodegroup"}

// moduleConfig is what these tests read of a module's own source, whatever its variables
// (a resource with count = 0 in a plan is still declared).
type moduleConfig struct {
	// resources and dataSources are the types declared, sorted, each once.
	resources, dataSources []string
	// awsSource and awsVersion are required_providers' aws entry.
	awsSource, awsVersion string
}

// readModule parses every .tf file of templates/aws/<name> with HCL's own parser.
func readModule(t *testing.T, name string) *moduleConfig {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "templates", "aws", name, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("templates/aws/%s: no .tf files (%v)", name, err)
	}
	c := &moduleConfig{}
	p := hclparse.NewParser()
	for _, f := range files {
		file, diags := p.ParseHCLFile(f)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", f, diags)
		}
		for _, b := range file.Body.(*hclsyntax.Body).Blocks {
			switch {
			case b.Type == "resource" && len(b.Labels) == 2:
				c.resources = append(c.resources, b.Labels[0])
			case b.Type == "data" && len(b.Labels) == 2:
				c.dataSources = append(c.dataSources, b.Labels[0])
			case b.Type == "terraform":
				c.readRequiredProviders(t, f, b.Body)
			}
		}
	}
	slices.Sort(c.resources)
	slices.Sort(c.dataSources)
	c.resources, c.dataSources = slices.Compact(c.resources), slices.Compact(c.dataSources)
	return c
}

func (c *moduleConfig) readRequiredProviders(t *testing.T, file string, body *hclsyntax.Body) {
	t.Helper()
	for _, rp := range body.Blocks {
		if rp.Type != "required_providers" {
			continue
		}
		attr, ok := rp.Body.Attributes["aws"]
		if !ok {
			continue
		}
		v, diags := attr.Expr.Value(&hcl.EvalContext{})
		if diags.HasErrors() {
			t.Fatalf("%s: required_providers.aws: %s", file, diags)
		}
		if !v.Type().IsObjectType() || !v.Type().HasAttribute("source") || !v.Type().HasAttribute("version") {
			t.Fatalf("%s: required_providers.aws is not {source, version}", file)
		}
		c.awsSource, c.awsVersion = v.GetAttr("source").AsString(), v.GetAttr("version").AsString()
	}
}
