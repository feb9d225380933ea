package workspaceapply

import (
	"encoding/json"
	"slices"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/redact"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// redactorFor masks what is secret in the messages the apply mirrors, and nothing else:
// the values of the variables the template or the apply marks sensitive (every string
// inside a JSON map or list value too), wherever the rendered Workspace passes them, and
// every inline environment value of the Terraform process, where provider credentials
// go. Other values are identifiers a person needs to read: masking a cluster name "local"
// turned the Secret "local-apiserver" into "[redacted]-apiserver". tmpl and desired are
// nil before the template is read and rendered.
func redactorFor(api workspace.API, apply *infrav1.WorkspaceTemplateApply, tmpl *infrav1.WorkspaceTemplate, desired *workspace.Workspace) *redact.Redactor {
	sensitive := slices.Clone(apply.Spec.SensitiveVariables)
	if tmpl != nil {
		sensitive = append(sensitive, tmpl.Spec.SensitiveVariables...)
	}
	var values []string
	for _, name := range sensitive {
		if v, ok := apply.Spec.Variables[name]; ok {
			values = append(values, v)
		}
	}
	if desired != nil {
		p := desired.Spec.ForProvider
		for _, v := range p.Vars {
			if slices.Contains(sensitive, v.Key) {
				values = append(values, v.Value)
			}
		}
		for _, e := range p.Env {
			values = append(values, e.Value)
		}
		if p.VarMap != nil {
			var varmap map[string]any
			if json.Unmarshal(p.VarMap.Raw, &varmap) == nil {
				for _, name := range sensitive {
					values = appendStrings(values, varmap[name])
				}
			}
		}
	}
	return redact.New(values...).Keep(apply.Namespace, apply.Name, render.WorkspaceName(api, apply.Namespace, apply.Name))
}

// appendStrings appends every string in a decoded JSON value.
func appendStrings(values []string, v any) []string {
	switch t := v.(type) {
	case string:
		return append(values, t)
	case map[string]any:
		for _, e := range t {
			values = appendStrings(values, e)
		}
	case []any:
		for _, e := range t {
			values = appendStrings(values, e)
		}
	}
	return values
}
