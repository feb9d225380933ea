package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// rolloutModule keeps a value in its Terraform state and outputs it: the output changes
// only once OpenTofu applied the new value.
const rolloutModule = `variable "region" { type = string }
variable "name" {
  type    = string
  default = ""
}
resource "terraform_data" "this" { input = var.region }
output "region" { value = terraform_data.this.output }
`

// TestRolloutOnProviderTerraform: a staged rollout on the real provider-terraform
// v0.21.2, which reports no generation and keeps Ready True while it applies: three
// applies of a template with maxConcurrent 1. After the template's edit, by etcd
// revision, each Workspace gets the new spec only after the one before has the new value
// in its outputs, which only OpenTofu's apply puts there, and no Workspace ever shows
// the new spec with the Ready of the spec before.
func TestRolloutOnProviderTerraform(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const ns = "capt-e2e-rollout"
	if err := stack.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	tmpl := &infrav1.WorkspaceTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "staged"},
		Spec: infrav1.WorkspaceTemplateSpec{
			Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
				ProviderConfigRef: &infrav1.ProviderConfigReference{Name: "default"},
				ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: rolloutModule,
					Vars: []infrav1.Var{{Key: "region", Value: "v1"}}},
			}},
			Rollout: &infrav1.RolloutPolicy{MaxConcurrent: intstr.FromInt32(1), PauseAfterFailures: 1},
		},
	}
	if err := stack.Client.Create(ctx, tmpl); err != nil {
		t.Fatal(err)
	}
	api := workspace.DefaultAPI()
	names := []string{"r0", "r1", "r2"}
	for _, name := range names {
		a := &infrav1.WorkspaceTemplateApply{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: infrav1.WorkspaceTemplateApplySpec{TemplateRef: infrav1.WorkspaceTemplateReference{Name: "staged"},
				Variables: map[string]string{"name": name}},
		}
		if err := stack.Client.Create(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, name := range names {
			_ = stack.Client.Delete(context.Background(), &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})
		}
	})
	waitApplied := func(value string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Minute)
		for {
			err := func() error {
				for _, name := range names {
					a := &infrav1.WorkspaceTemplateApply{}
					get(t, client.ObjectKey{Namespace: ns, Name: name}, a)
					if c := conditions.Get(a, infrav1.ReadyCondition); c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != a.Generation {
						return fmt.Errorf("%s not Ready: %v", name, c)
					}
					u := api.NewObject()
					get(t, client.ObjectKey{Name: render.WorkspaceName(api, ns, name)}, u)
					if got := regionOutput(u); got != value {
						return fmt.Errorf("%s: output region %q", name, got)
					}
				}
				return nil
			}()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("never applied with %s: %v", value, err)
			}
			time.Sleep(time.Second)
		}
	}
	waitApplied("v1")

	env := &testenv.Env{Config: stack.Config, Scheme: stack.Client.Scheme()}
	log := env.WatchRevisions(t, "", api.NewList())
	patch := `{"spec":{"template":{"spec":{"forProvider":{"vars":[{"key":"region","value":"v2"}]}}}}}`
	if err := stack.Client.Patch(ctx, tmpl, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatal(err)
	}
	waitApplied("v2")

	type step struct {
		name          string
		written, done int64
	}
	steps := make([]step, 0, len(names))
	for _, name := range names {
		wsName := render.WorkspaceName(api, ns, name)
		s := step{name: name}
		log.Await(t, "Workspace "+wsName+" applied with v2", func(c testenv.Change) bool {
			u, ok := c.Object.(*unstructured.Unstructured)
			return ok && u.GetName() == wsName && regionOutput(u) == "v2"
		})
		s.written, _ = log.First(func(c testenv.Change) bool {
			u, ok := c.Object.(*unstructured.Unstructured)
			return ok && u.GetName() == wsName && regionVar(u) == "v2"
		})
		s.done, _ = log.First(func(c testenv.Change) bool {
			u, ok := c.Object.(*unstructured.Unstructured)
			return ok && u.GetName() == wsName && regionOutput(u) == "v2"
		})
		steps = append(steps, s)
	}
	for _, c := range log.Changes(api.NewList()) {
		u, ok := c.Object.(*unstructured.Unstructured)
		if !ok || u.GetLabels()[infrav1.WorkspaceTemplateApplyNamespaceLabel] != ns || regionVar(u) != "v2" || regionOutput(u) == "v2" {
			continue
		}
		if w, err := workspace.FromUnstructured(u); err == nil && w.IsTrue(workspace.ConditionReady) {
			t.Errorf("at revision %d, Workspace %s had the new spec with the Ready of the spec before", c.Revision, u.GetName())
		}
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].written < steps[j].written })
	for i := 1; i < len(steps); i++ {
		if prev := steps[i-1]; steps[i].written < prev.done {
			t.Errorf("%s's Workspace got the new spec at revision %d, before %s's was applied (revision %d)",
				steps[i].name, steps[i].written, prev.name, prev.done)
		}
	}
}

// regionOutput is the Workspace's output region, as provider-terraform reports it.
func regionOutput(u *unstructured.Unstructured) string {
	raw, _, _ := unstructured.NestedFieldNoCopy(u.Object, "status", "atProvider", "outputs", "region")
	switch v := raw.(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// regionVar is the Workspace's variable region.
func regionVar(u *unstructured.Unstructured) string {
	w, err := workspace.FromUnstructured(u)
	if err != nil {
		return ""
	}
	region, _ := w.Variable("region")
	return region
}
