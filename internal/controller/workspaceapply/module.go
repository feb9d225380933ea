package workspaceapply

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/tfmodule"
)

// checkModule compares the variables an Inline module declares with those the rendered
// Workspace's parameters p set, as provider-terraform passes them: the varmap as a
// variables file (a value for an undeclared variable is a warning and is ignored), vars
// as -var flags, env entries TF_VAR_<name> in Terraform's environment.
//
// problem is a required variable (no default) nothing sets: Terraform would stop at plan
// with "No value for required variable", so the Workspace is not written. note, which
// does not hold the apply back, is a varmap variable the module does not declare (a
// user's setting Terraform would drop; a module may also ignore a variable on purpose),
// or a module that does not parse (Terraform will say why). Only names are quoted, never
// values. A Remote or Flux module is not fetched: nothing is checked.
func (m *modules) check(key client.ObjectKey, p infrav1.WorkspaceParameters) (problem, note *observed.Problem) {
	if p.Source != "Inline" {
		return nil, nil
	}
	module, err := m.parse(p.InlineFormat, p.Module)
	if err != nil {
		return nil, &observed.Problem{Reason: infrav1.ModuleUnreadableReason, Message: fmt.Sprintf(
			"the variables of WorkspaceTemplate %s's Inline module were not checked: %v; Terraform will report it", key, err)}
	}
	varmap := varmapNames(p)
	ignored := module.Undeclared(varmap)
	var unset []string
	if valuesKnown(p) {
		unset = module.Unset(slices.Concat(varmap, setElsewhere(p)))
	}
	if len(unset) > 0 {
		msg := fmt.Sprintf("WorkspaceTemplate %s's Inline module requires %s, which nothing sets "+
			"(the apply's variables, the template's vars or varmap, an env TF_VAR_<name>): Terraform would stop at plan with \"No value for required variable\"",
			key, variables(unset))
		if len(ignored) > 0 {
			// Most likely a typo on one side.
			msg += fmt.Sprintf("; it declares no %s, which the varmap sets", variables(ignored))
		}
		return &observed.Problem{Reason: infrav1.RequiredVariablesUnsetReason, Message: msg}, nil
	}
	if len(ignored) > 0 {
		return nil, &observed.Problem{Reason: infrav1.VariablesIgnoredReason, Message: fmt.Sprintf(
			"WorkspaceTemplate %s's Inline module declares no %s: Terraform ignores the value set (declare it, with a default if the module does not use it)",
			key, variables(ignored))}
	}
	return nil, nil
}

// variables is "variable a" or "variables a, b".
func variables(names []string) string {
	if len(names) == 1 {
		return "variable " + names[0]
	}
	return "variables " + strings.Join(names, ", ")
}

// varmapNames are the variables the rendered varmap sets: the apply's variables and the
// template's varmap entries.
func varmapNames(p infrav1.WorkspaceParameters) []string {
	if p.VarMap == nil {
		return nil
	}
	var varmap map[string]json.RawMessage
	if json.Unmarshal(p.VarMap.Raw, &varmap) != nil {
		return nil
	}
	return slices.Sorted(maps.Keys(varmap))
}

// setElsewhere are the variables set other than by the varmap: the template's vars, and
// the environment's TF_VAR_<name>, whether given inline or from a ConfigMap or Secret.
func setElsewhere(p infrav1.WorkspaceParameters) []string {
	var out []string
	for _, v := range p.Vars {
		out = append(out, v.Key)
	}
	for _, e := range p.Env {
		if name, ok := strings.CutPrefix(e.Name, "TF_VAR_"); ok {
			out = append(out, name)
		}
	}
	return out
}

// valuesKnown says whether every value the Workspace gives a variable is in its
// parameters: not so with varFiles (a ConfigMap's or Secret's contents) or -var and
// -var-file arguments, given directly or through TF_CLI_ARGS. A variable provider-
// terraform's own environment sets (TF_VAR_ in its pod) is not seen either; the docs say
// so.
func valuesKnown(p infrav1.WorkspaceParameters) bool {
	if len(p.VarFiles) > 0 {
		return false
	}
	for _, arg := range slices.Concat(p.PlanArgs, p.ApplyArgs) {
		if strings.HasPrefix(strings.TrimLeft(arg, "-"), "var") {
			return false
		}
	}
	for _, e := range p.Env {
		if strings.HasPrefix(e.Name, "TF_CLI_ARGS") {
			return false
		}
	}
	return true
}

// modules remembers what Inline modules declare, by their text: a template's module is
// parsed once, not on each pass of each apply rendered from it (a 2 KB module costs
// about 0.3 ms and 130 KB of allocations).
type modules struct {
	mu   sync.Mutex
	read map[[sha256.Size]byte]parsed
}

type parsed struct {
	module *tfmodule.Module
	err    error
}

// maxModules bounds the memory: a module edited many times leaves an entry per text.
const maxModules = 256

// parse reads an Inline module of the format (HCL or JSON) through the cache.
func (m *modules) parse(format, text string) (*tfmodule.Module, error) {
	// provider-terraform's file names for an Inline module.
	filename := "main.tf"
	if format == "JSON" {
		filename = "main.tf.json"
	}
	key := sha256.Sum256([]byte(filename + "\x00" + text))
	m.mu.Lock()
	p, ok := m.read[key]
	m.mu.Unlock()
	if ok {
		return p.module, p.err
	}
	module, err := tfmodule.Parse(filename, []byte(text))
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.read == nil || len(m.read) >= maxModules {
		m.read = map[[sha256.Size]byte]parsed{}
	}
	m.read[key] = parsed{module, err}
	return module, err
}

// newlyIgnored is the message of a VariablesIgnored TemplateValid that before did not
// say, or "": the one Warning event of a list of ignored variables, when it appears or
// changes, not on every pass that finds it again.
func newlyIgnored(before metav1.Condition, after *metav1.Condition) string {
	if after == nil || after.Status != metav1.ConditionTrue || after.Reason != infrav1.VariablesIgnoredReason {
		return ""
	}
	if before.Reason == after.Reason && before.Message == after.Message {
		return ""
	}
	return after.Message
}
