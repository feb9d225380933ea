package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// SetProtection gives a protected template's protection variable its value in the
// Workspace's parameters: in the varmap, over any value the template or the apply gives
// it (the varmap is passed after vars, so it wins over a -var too), and false in
// destroyArgs, which provider-terraform appends after the variables files, so that a
// destroy (a deletion) is never refused whatever the varmap says. CAPT renders true; only
// an approved change runs with false.
func SetProtection(p *infrav1.WorkspaceParameters, variable string, protect bool) error {
	varmap := map[string]any{}
	if p.VarMap != nil && len(p.VarMap.Raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(p.VarMap.Raw))
		dec.UseNumber() // numbers stay as written
		if err := dec.Decode(&varmap); err != nil {
			return &FieldError{Field: "spec.template.spec.forProvider.varmap", Reason: "must be a JSON object of variables"}
		}
	}
	varmap[variable] = protect
	raw, err := json.Marshal(varmap)
	if err != nil {
		return fmt.Errorf("encoding varmap: %w", err)
	}
	p.VarMap = &apiextensionsv1.JSON{Raw: raw}
	if unprotected := DestroyArg(variable); !slices.Contains(p.DestroyArgs, unprotected) {
		p.DestroyArgs = append(slices.Clone(p.DestroyArgs), unprotected)
	}
	return nil
}

// DestroyArg is the destroy argument that lifts the protection for a deletion.
func DestroyArg(variable string) string {
	return "-var=" + variable + "=false"
}

// Protected reports the value the parameters give the protection variable; ok is false
// when the varmap does not set it to a boolean.
func Protected(p infrav1.WorkspaceParameters, variable string) (protect, ok bool) {
	if p.VarMap == nil {
		return false, false
	}
	var varmap map[string]json.RawMessage
	if json.Unmarshal(p.VarMap.Raw, &varmap) != nil {
		return false, false
	}
	err := json.Unmarshal(varmap[variable], &protect)
	return protect, err == nil && varmap[variable] != nil
}
