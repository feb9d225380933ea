// Package tfmodule reads what a Terraform module declares (its variables and outputs)
// without running Terraform: enough to check that a module fits what CAPT passes and
// reads. It reads the module's text only: nothing is fetched, nothing is evaluated.
package tfmodule

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
)

// Module is a module's interface.
type Module struct {
	// Variables maps each declared variable to whether it is required (no default).
	Variables map[string]bool
	// Outputs are the declared outputs' names.
	Outputs map[string]bool
}

// Read parses every .tf file in dir.
func Read(dir string) (*Module, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .tf file in %s", dir)
	}
	sort.Strings(files)
	m := &Module{Variables: map[string]bool{}, Outputs: map[string]bool{}}
	for _, f := range files {
		src, err := os.ReadFile(f) //nolint:gosec // the module directory is the caller's own
		if err != nil {
			return nil, err
		}
		file, err := Parse(f, src)
		if err != nil {
			return nil, err
		}
		maps.Copy(m.Variables, file.Variables)
		maps.Copy(m.Outputs, file.Outputs)
	}
	return m, nil
}

// Parse reads one file of a module from its text: Terraform's JSON syntax when filename
// ends in .json (main.tf.json), its native syntax otherwise. The error names the first
// syntax error's position and summary.
func Parse(filename string, src []byte) (*Module, error) {
	var file *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(filename, ".json") {
		file, diags = hcljson.Parse(src, filename)
	} else {
		file, diags = hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("parsing %s: %w", filename, firstError(diags))
	}
	// The blocks Terraform's own loader reads these from; every other block (resource,
	// locals, terraform, ...) is left alone.
	content, _, diags := file.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "output", LabelNames: []string{"name"}},
	}})
	if diags.HasErrors() {
		return nil, fmt.Errorf("parsing %s: %w", filename, firstError(diags))
	}
	m := &Module{Variables: map[string]bool{}, Outputs: map[string]bool{}}
	for _, b := range content.Blocks {
		switch b.Type {
		case "variable":
			// A default, even null, makes the variable optional.
			attrs, _, diags := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "default"}}})
			if diags.HasErrors() {
				return nil, fmt.Errorf("parsing %s: %w", filename, firstError(diags))
			}
			_, hasDefault := attrs.Attributes["default"]
			m.Variables[b.Labels[0]] = !hasDefault
		case "output":
			m.Outputs[b.Labels[0]] = true
		}
	}
	return m, nil
}

// firstError is the first error of diags, as "file:line,column: summary": the detail
// may quote the module's text, which a caller may not want to repeat.
func firstError(diags hcl.Diagnostics) error {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if d.Subject != nil {
			return fmt.Errorf("%s:%d,%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, d.Summary)
		}
		return fmt.Errorf("%s", d.Summary)
	}
	return diags
}

// Undeclared are the names in given that the module declares no variable for, sorted:
// Terraform warns about such a value in a variables file and ignores it.
func (m *Module) Undeclared(given []string) []string {
	var out []string
	for _, v := range given {
		if _, ok := m.Variables[v]; !ok {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Unset are the module's required variables (no default) that given does not name,
// sorted: Terraform stops at plan with "No value for required variable".
func (m *Module) Unset(given []string) []string {
	var out []string
	for v, required := range m.Variables {
		if required && !slices.Contains(given, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// Check reports what does not fit: a variable passed but not declared (Terraform only
// warns, and the value is silently unused), a required variable not passed, an output
// read but not declared. Each entry of read is a group of names CAPT accepts for one
// output; one must be declared.
func (m *Module) Check(passed []string, read ...[]string) error {
	var problems []string
	for _, v := range m.Undeclared(passed) {
		problems = append(problems, "variable "+v+" is passed but not declared")
	}
	for _, v := range m.Unset(passed) {
		problems = append(problems, "variable "+v+" is required but not passed")
	}
	for _, group := range read {
		if !slices.ContainsFunc(group, func(o string) bool { return m.Outputs[o] }) {
			problems = append(problems, fmt.Sprintf("none of the outputs %v is declared", group))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return errors.New(strings.Join(problems, "; "))
}
