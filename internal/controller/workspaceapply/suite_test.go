package workspaceapply

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/workspacetemplate"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Run(m, func(e *testenv.Env) { env = e }, testenv.Reusable)
}

// startControllers runs the WorkspaceTemplate and WorkspaceTemplateApply controllers
// for the given Workspace API group and returns the counter of their writes.
func startControllers(t *testing.T, api workspace.API) *testenv.WriteCounter {
	return env.StartManager(t, controllers(api))
}

// controllers sets up the WorkspaceTemplate and WorkspaceTemplateApply controllers.
func controllers(api workspace.API) testenv.SetupFunc {
	return func(ctx context.Context, mgr ctrl.Manager, c client.Client) error {
		if err := (&workspacetemplate.Reconciler{Client: c, APIReader: mgr.GetAPIReader(), API: api}).SetupWithManager(mgr, controller.Options{}); err != nil {
			return err
		}
		return (&Reconciler{Client: c, APIReader: mgr.GetAPIReader(), API: api}).SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: 4})
	}
}

var nsCounter atomic.Int32

// newNamespace creates a namespace of its own for one test.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("wta-%d", nsCounter.Add(1))}}
	if err := env.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// moduleHCL declares the variables newTemplate and newApply set.
const moduleHCL = `variable "region" {}
variable "name" { default = "" }
output "vpc_id" { value = "vpc-${var.region}" }
`

func newTemplate(ns, name string) *infrav1.WorkspaceTemplate {
	return &infrav1.WorkspaceTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{
			Metadata: infrav1.ObjectMeta{Labels: map[string]string{"team": "platform"}},
			Spec: infrav1.WorkspaceSpec{
				ForProvider: infrav1.WorkspaceParameters{
					Source: "Inline", InlineFormat: "HCL", Module: moduleHCL,
					Vars: []infrav1.Var{{Key: "region", Value: "us-west-2"}},
				},
				WriteConnectionSecretToRef: &infrav1.SecretReference{Name: "${name}-outputs"},
			},
		}},
	}
}

func newApply(ns, name, template string, vars map[string]string) *infrav1.WorkspaceTemplateApply {
	if vars == nil {
		vars = map[string]string{}
	}
	vars["name"] = name
	return &infrav1.WorkspaceTemplateApply{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: infrav1.WorkspaceTemplateApplySpec{
			TemplateRef: infrav1.WorkspaceTemplateReference{Name: template},
			Variables:   vars,
		},
	}
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := env.Client.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

// getApply reads the apply from the API server.
func getApply(t *testing.T, ns, name string) *infrav1.WorkspaceTemplateApply {
	t.Helper()
	a := &infrav1.WorkspaceTemplateApply{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, a); err != nil {
		t.Fatalf("get WorkspaceTemplateApply: %v", err)
	}
	return a
}

// getWorkspace reads a Workspace from the API server; nil when it does not exist.
func getWorkspace(t *testing.T, api workspace.API, ns, name string) *workspace.Workspace {
	t.Helper()
	u := api.NewObject()
	key := client.ObjectKey{Name: name}
	if api.Namespaced() {
		key.Namespace = ns
	}
	if err := env.Client.Get(context.Background(), key, u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		t.Fatalf("get Workspace %s: %v", name, err)
	}
	w, err := workspace.FromUnstructured(u)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// waitWorkspace waits for the apply's Workspace to exist and returns it.
func waitWorkspace(t *testing.T, api workspace.API, ns, applyName string) *workspace.Workspace {
	t.Helper()
	name := render.WorkspaceName(api, ns, applyName)
	var w *workspace.Workspace
	testenv.Eventually(t, "Workspace "+name+" exists", func() error {
		if w = getWorkspace(t, api, ns, name); w == nil {
			return fmt.Errorf("not found")
		}
		return nil
	})
	return w
}

// condition returns the apply's condition of a type, or a zero condition.
func condition(a *infrav1.WorkspaceTemplateApply, conditionType string) metav1.Condition {
	for _, c := range a.Status.Conditions {
		if c.Type == conditionType {
			return c
		}
	}
	return metav1.Condition{}
}

// waitCondition waits until the apply's condition has the status and reason.
func waitCondition(t *testing.T, ns, name, conditionType string, status metav1.ConditionStatus, reason string) *infrav1.WorkspaceTemplateApply {
	t.Helper()
	var a *infrav1.WorkspaceTemplateApply
	testenv.Eventually(t, fmt.Sprintf("%s %s=%s (%s)", name, conditionType, status, reason), func() error {
		a = getApply(t, ns, name)
		c := condition(a, conditionType)
		if c.Status != status || c.Reason != reason {
			return fmt.Errorf("%s is %s (%s): %s", conditionType, c.Status, c.Reason, c.Message)
		}
		if a.Status.ObservedGeneration != a.Generation {
			return fmt.Errorf("observedGeneration %d, generation %d", a.Status.ObservedGeneration, a.Generation)
		}
		// The patch helper writes conditions before the rest of the status.
		if conditionType == infrav1.ReadyCondition && status == metav1.ConditionTrue && !a.Status.Applied {
			return fmt.Errorf("Ready but not yet applied")
		}
		return nil
	})
	return a
}

// playProvider sets the Workspace's status as provider-terraform would.
func playProvider(t *testing.T, api workspace.API, w *workspace.Workspace, ready, synced metav1.ConditionStatus, reason, message string, outputs map[string]string) {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, "set Workspace status", func() error {
		u := api.NewObject()
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: w.Namespace, Name: w.Name}, u); err != nil {
			return err
		}
		now := metav1.Now().UTC().Format("2006-01-02T15:04:05Z")
		conds := []any{
			map[string]any{"type": "Synced", "status": string(synced), "reason": reasonFor(synced, "ReconcileSuccess", "ReconcileError"), "message": message, "lastTransitionTime": now},
			map[string]any{"type": "Ready", "status": string(ready), "reason": reasonFor(ready, "Available", reason), "message": message, "lastTransitionTime": now, "observedGeneration": u.GetGeneration()},
		}
		if err := unstructured.SetNestedSlice(u.Object, conds, "status", "conditions"); err != nil {
			return err
		}
		out := map[string]any{}
		for k, v := range outputs {
			out[k] = v
		}
		if err := unstructured.SetNestedMap(u.Object, out, "status", "atProvider", "outputs"); err != nil {
			return err
		}
		return env.Client.Status().Update(ctx, u)
	})
}

func reasonFor(s metav1.ConditionStatus, ok, bad string) string {
	if s == metav1.ConditionTrue {
		return ok
	}
	return bad
}

// varValue returns a variable the Workspace passes to Terraform, from vars or varmap.
func varValue(w *workspace.Workspace, key string) string {
	if v, ok := w.Variable(key); ok {
		return v
	}
	return "<unset>"
}

func gone(obj client.Object) error { return env.Gone(obj) }
