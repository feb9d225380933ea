package awsmodules

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// shippedTemplate is templates/aws/workspacetemplates.yaml's WorkspaceTemplate name.
func shippedTemplate(t *testing.T, name string) *infrav1.WorkspaceTemplate {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "templates", "aws", "workspacetemplates.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var tmpl infrav1.WorkspaceTemplate
		if err := dec.Decode(&tmpl); err != nil {
			t.Fatalf("no WorkspaceTemplate %s in templates/aws/workspacetemplates.yaml: %v", name, err)
		}
		if tmpl.Name == name {
			return &tmpl
		}
	}
}

// varFile renders the Workspace CAPT would create from the shipped template and an
// owner's variables, and writes its varmap and vars as provider-terraform does: a JSON
// variables file, where every value CAPT sends stays the string it is.
func varFile(t *testing.T, dir, template string, vars map[string]string) string {
	t.Helper()
	apply := &infrav1.WorkspaceTemplateApply{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "c1-" + template},
		Spec:       infrav1.WorkspaceTemplateApplySpec{Variables: vars},
	}
	ws, err := render.Workspace(workspace.DefaultAPI(), shippedTemplate(t, template), apply)
	if err != nil {
		t.Fatalf("rendering %s: %v", template, err)
	}
	all := map[string]any{}
	if vm := ws.Spec.ForProvider.VarMap; vm != nil {
		if err := json.Unmarshal(vm.Raw, &all); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range ws.Spec.ForProvider.Vars {
		all[v.Key] = v.Value
	}
	b, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "capt.tfvars.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// plan is what the tests read of `tofu show -json` of a saved plan.
type plan struct {
	ResourceChanges []resourceChange `json:"resource_changes"`
	OutputChanges   map[string]struct {
		Actions      []string        `json:"actions"`
		After        json.RawMessage `json:"after"`
		AfterUnknown json.RawMessage `json:"after_unknown"`
	} `json:"output_changes"`
}

type resourceChange struct {
	Address string `json:"address"`
	Type    string `json:"type"`
	Change  struct {
		Actions []string        `json:"actions"`
		After   json.RawMessage `json:"after"`
		// AfterUnknown marks what the provider computes: known only after apply.
		AfterUnknown json.RawMessage `json:"after_unknown"`
	} `json:"change"`
}

// planModule plans the shipped module with an owner's variables, as provider-terraform
// would on a new Workspace (no state yet), at every version under test, and returns
// the plan at the local stack's version. The plan at the module's floor must be the
// same wherever both versions have the attribute (samePlan), so what the tests check of
// the one holds of the other.
func planModule(t *testing.T, name, template string, vars map[string]string) *plan {
	t.Helper()
	versions := versionsUnderTest(t, name)
	plans := make([]*plan, len(versions))
	for i, v := range versions {
		plans[i] = planAt(t, name, template, vars, v)
	}
	for i, p := range plans[1:] {
		if diffs := samePlan(plans[0], p); len(diffs) > 0 {
			t.Errorf("templates/aws/%s plans otherwise at hashicorp/aws %s than at %s:\n%s", name, versions[i+1], versions[0], strings.Join(diffs, "\n"))
		}
	}
	return plans[0]
}

func planAt(t *testing.T, name, template string, vars map[string]string, version string) *plan {
	t.Helper()
	w := module(t, name, version)
	file := varFile(t, w.dir, template, vars)
	if out, err := w.tofu(t.Context(), "plan", "-input=false", "-no-color", "-var-file="+file, "-out=plan.bin"); err != nil {
		t.Fatalf("tofu plan of templates/aws/%s with CAPT's variables failed at hashicorp/aws %s: %v\n%s", name, version, err, out)
	}
	out, err := w.tofu(t.Context(), "show", "-json", "plan.bin")
	if err != nil {
		t.Fatalf("tofu show -json: %v\n%s", err, out)
	}
	var p plan
	if err := json.NewDecoder(bytes.NewReader([]byte(out))).Decode(&p); err != nil {
		t.Fatalf("reading the plan: %v", err)
	}
	for _, rc := range p.ResourceChanges {
		if strings.Join(rc.Change.Actions, ",") != "create" {
			t.Errorf("%s: actions %v on a new Workspace, want create", rc.Address, rc.Change.Actions)
		}
	}
	return &p
}

// after decodes what the plan creates at address into v; it fails the test when the plan
// has no such resource.
func (p *plan) after(t *testing.T, address string, v any) {
	t.Helper()
	for _, rc := range p.ResourceChanges {
		if rc.Address == address {
			if err := json.Unmarshal(rc.Change.After, v); err != nil {
				t.Fatalf("%s: %v", address, err)
			}
			return
		}
	}
	t.Fatalf("the plan creates no %s; it creates %v", address, p.addresses())
}

func (p *plan) addresses() []string {
	out := make([]string, 0, len(p.ResourceChanges))
	for _, rc := range p.ResourceChanges {
		out = append(out, rc.Address)
	}
	return out
}

// count is how many resources of a type the plan creates.
func (p *plan) count(typ string) int {
	n := 0
	for _, rc := range p.ResourceChanges {
		if rc.Type == typ {
			n++
		}
	}
	return n
}
