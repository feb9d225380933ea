// Package tfmodule reads what a Terraform module declares (its variables and outputs)
// without running Terraform: enough to check that a template fits what CAPT passes and
// reads.
package tfmodule

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
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
		file, diags := hclsyntax.ParseConfig(src, f, hcl.InitialPos)
		if diags.HasErrors() {
			return nil, fmt.Errorf("parsing %s: %s", f, diags.Error())
		}
		body, ok := file.Body.(*hclsyntax.Body)
		if !ok {
			return nil, fmt.Errorf("parsing %s: not native syntax", f)
		}
		for _, b := range body.Blocks {
			if len(b.Labels) != 1 {
				continue
			}
			switch b.Type {
			case "variable":
				_, hasDefault := b.Body.Attributes["default"]
				m.Variables[b.Labels[0]] = !hasDefault
			case "output":
				m.Outputs[b.Labels[0]] = true
			}
		}
	}
	return m, nil
}

// Check reports what does not fit: a variable passed but not declared (Terraform only
// warns, and the value is silently unused), a required variable not passed, an output
// read but not declared. Each
// entry of read is a group of names CAPT accepts for one output; one must be declared.
func (m *Module) Check(passed []string, read ...[]string) error {
	var problems []string
	given := map[string]bool{}
	for _, v := range passed {
		given[v] = true
		if _, ok := m.Variables[v]; !ok {
			problems = append(problems, "variable "+v+" is passed but not declared")
		}
	}
	for v, required := range m.Variables {
		if required && !given[v] {
			problems = append(problems, "variable "+v+" is required but not passed")
		}
	}
	for _, group := range read {
		declared := false
		for _, o := range group {
			declared = declared || m.Outputs[o]
		}
		if !declared {
			problems = append(problems, fmt.Sprintf("none of the outputs %v is declared", group))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return fmt.Errorf("%s", strings.Join(problems, "; "))
}
