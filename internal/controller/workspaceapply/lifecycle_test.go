package workspaceapply

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestCreateMirrorUpdateAndRest follows one apply from creation to Ready, through a
// template change and a variable change, and checks that a pass with nothing to do
// writes nothing.
func TestCreateMirrorUpdateAndRest(t *testing.T) {
	ctx := context.Background()
	api := workspace.DefaultAPI()
	writes := startControllers(t, api)
	ns := newNamespace(t)
	tmpl := newTemplate(ns, "vpc")
	apply := newApply(ns, "demo-vpc", "vpc", map[string]string{"region": "ap-northeast-1"})
	apply.Labels = map[string]string{"cluster.x-k8s.io/cluster-name": "demo"}
	create(t, tmpl, apply)

	// Created: rendered from the template, variables as data, labelled back.
	w := waitWorkspace(t, api, ns, "demo-vpc")
	if w.Spec.ForProvider.Module != moduleHCL || varValue(w, "region") != "ap-northeast-1" || varValue(w, "name") != "demo-vpc" {
		t.Errorf("Workspace spec = %+v", w.Spec.ForProvider)
	}
	if ref := w.Spec.WriteConnectionSecretToRef; ref == nil || ref.Name != "demo-vpc-outputs" || ref.Namespace != ns {
		t.Errorf("connection secret = %+v", ref)
	}
	for k, v := range map[string]string{"team": "platform", "cluster.x-k8s.io/cluster-name": "demo", infrav1.WorkspaceTemplateApplyNamespaceLabel: ns} {
		if w.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, w.Labels[k], v)
		}
	}
	a := waitCondition(t, ns, "demo-vpc", infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.WorkspaceNotReadyReason)
	if a.Status.WorkspaceName != w.Name || a.Status.Applied {
		t.Errorf("status = %+v", a.Status)
	}

	// provider-terraform applies it: the apply mirrors Ready and Synced by watch.
	playProvider(t, api, w, metav1.ConditionTrue, metav1.ConditionTrue, "", "", map[string]string{"vpc_id": "vpc-1"})
	a = waitCondition(t, ns, "demo-vpc", infrav1.ReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason)
	if !a.Status.Applied || a.Status.LastAppliedTime == nil {
		t.Errorf("applied = %v at %v", a.Status.Applied, a.Status.LastAppliedTime)
	}
	if c := condition(a, infrav1.WorkspaceSyncedCondition); c.Status != metav1.ConditionTrue || c.Reason != "ReconcileSuccess" {
		t.Errorf("WorkspaceSynced = %+v", c)
	}

	// At rest: a reconcile with nothing to do writes nothing.
	writes.Settle(time.Second)
	before := testenv.ReconcileTotal(controllerName)
	writes.Reset()
	testenv.Eventually(t, "touch the apply", func() error {
		cur := getApply(t, ns, "demo-vpc")
		// Added beside CAPT's own annotations (block-move), which a pass would put back.
		cur.Annotations["touch"] = "1"
		return env.Client.Update(ctx, cur)
	})
	testenv.Eventually(t, "a reconcile ran", func() error {
		if testenv.ReconcileTotal(controllerName) <= before {
			return fmt.Errorf("no reconcile yet")
		}
		return nil
	})
	time.Sleep(500 * time.Millisecond)
	if writes.Total() != 0 {
		t.Errorf("a pass with nothing to do wrote: %s", writes)
	}

	// A template change reaches the Workspace.
	testenv.Eventually(t, "update template", func() error {
		cur := &infrav1.WorkspaceTemplate{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tmpl), cur); err != nil {
			return err
		}
		cur.Spec.Template.Spec.ForProvider.Module = moduleHCL + "# v2\n"
		return env.Client.Update(ctx, cur)
	})
	testenv.Eventually(t, "module updated", func() error {
		if got := getWorkspace(t, api, ns, w.Name).Spec.ForProvider.Module; got != moduleHCL+"# v2\n" {
			return fmt.Errorf("module = %q", got)
		}
		return nil
	})

	// A variable change reaches the Workspace; the apply is not Ready until the
	// provider has observed the new generation.
	testenv.Eventually(t, "update variables", func() error {
		cur := getApply(t, ns, "demo-vpc")
		cur.Spec.Variables["region"] = "eu-west-1"
		return env.Client.Update(ctx, cur)
	})
	testenv.Eventually(t, "variable updated", func() error {
		if got := varValue(getWorkspace(t, api, ns, w.Name), "region"); got != "eu-west-1" {
			return fmt.Errorf("region = %q", got)
		}
		return nil
	})
	waitCondition(t, ns, "demo-vpc", infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.WorkspaceUpdatingReason)
	playProvider(t, api, getWorkspace(t, api, ns, w.Name), metav1.ConditionTrue, metav1.ConditionTrue, "", "", nil)
	waitCondition(t, ns, "demo-vpc", infrav1.ReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason)

	// Drift: a field CAPT sets, changed by someone else, is set back.
	testenv.Eventually(t, "drift the Workspace", func() error {
		u := api.NewObject()
		if err := env.Client.Get(ctx, client.ObjectKey{Name: w.Name}, u); err != nil {
			return err
		}
		u.Object["spec"].(map[string]any)["forProvider"].(map[string]any)["module"] = "# hijacked"
		return env.Client.Update(ctx, u)
	})
	testenv.Eventually(t, "drift corrected", func() error {
		if got := getWorkspace(t, api, ns, w.Name).Spec.ForProvider.Module; got != moduleHCL+"# v2\n" {
			return fmt.Errorf("module = %q", got)
		}
		return nil
	})
}

// TestFailureIsMirroredRedactedAndClears checks a failing apply: the condition carries
// the provider's reason and message with the sensitive variables' values masked, by the
// apply's mark and by the template's, and identifiers readable: the value "local" of a
// variable nobody marked stays in "local-apiserver" (issue #18: it read
// "[redacted]-apiserver"). It clears when the Workspace recovers.
func TestFailureIsMirroredRedactedAndClears(t *testing.T) {
	api := workspace.DefaultAPI()
	startControllers(t, api)
	ns := newNamespace(t)
	const canary, templateCanary = "canary-s3cr3t-value-42", "canary-t3mpl4te-value-17"
	tmpl := newTemplate(ns, "vpc")
	tmpl.Spec.SensitiveVariables = []string{"db_password"}
	apply := newApply(ns, "failing", "vpc", map[string]string{"password": canary, "db_password": templateCanary, "cluster_name": "local"})
	apply.Spec.SensitiveVariables = []string{"password"}
	create(t, tmpl, apply)
	w := waitWorkspace(t, api, ns, "failing")

	playProvider(t, api, w, metav1.ConditionFalse, metav1.ConditionFalse, "Creating",
		"apply failed: Error: invalid value "+canary+" for variable password; "+templateCanary+
			" for db_password; reading Secret local-apiserver of cluster local", nil)
	a := waitCondition(t, ns, "failing", infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.WorkspaceNotSyncedReason)
	for _, c := range a.Status.Conditions {
		for _, secret := range []string{canary, templateCanary} {
			if strings.Contains(c.Message, secret) {
				t.Errorf("condition %s leaks a sensitive value: %q", c.Type, c.Message)
			}
		}
	}
	if err := testenv.ContainsAll(condition(a, infrav1.ReadyCondition).Message, w.Name, "apply failed", "[redacted] for variable password",
		"[redacted] for db_password", "reading Secret local-apiserver of cluster local"); err != nil {
		t.Error(err)
	}

	playProvider(t, api, w, metav1.ConditionTrue, metav1.ConditionTrue, "", "", nil)
	waitCondition(t, ns, "failing", infrav1.ReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason)
}

// TestSameNameInTwoNamespaces checks that cluster-scoped Workspaces cannot collide.
func TestSameNameInTwoNamespaces(t *testing.T) {
	api := workspace.DefaultAPI()
	startControllers(t, api)
	nsA, nsB := newNamespace(t), newNamespace(t)
	create(t, newTemplate(nsA, "vpc"), newApply(nsA, "demo", "vpc", nil),
		newTemplate(nsB, "vpc"), newApply(nsB, "demo", "vpc", nil))
	wa, wb := waitWorkspace(t, api, nsA, "demo"), waitWorkspace(t, api, nsB, "demo")
	if wa.Name == wb.Name {
		t.Fatalf("both applies got Workspace %s", wa.Name)
	}
	if wa.Annotations[infrav1.WorkspaceTemplateApplyAnnotation] != nsA+"/demo" || wb.Annotations[infrav1.WorkspaceTemplateApplyAnnotation] != nsB+"/demo" {
		t.Errorf("owner annotations %v / %v", wa.Annotations, wb.Annotations)
	}
}

// TestTemplateProblems checks that a missing or unrenderable template is a condition on
// the apply (and on the template), and that fixing it recovers without deleting anything.
func TestTemplateProblems(t *testing.T) {
	ctx := context.Background()
	api := workspace.DefaultAPI()
	startControllers(t, api)
	ns := newNamespace(t)

	create(t, newApply(ns, "orphan", "missing", nil))
	a := waitCondition(t, ns, "orphan", infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.TemplateNotFoundReason)
	if err := testenv.ContainsAll(condition(a, infrav1.TemplateValidCondition).Message, "WorkspaceTemplate "+ns+"/missing not found"); err != nil {
		t.Error(err)
	}
	missing := newTemplate(ns, "missing")
	create(t, missing)
	waitWorkspace(t, api, ns, "orphan")

	// An unknown placeholder: the template is fine on its own, this apply cannot render it.
	bad := newTemplate(ns, "bad")
	bad.Spec.Template.Spec.ForProvider.Vars = append(bad.Spec.Template.Spec.ForProvider.Vars, infrav1.Var{Key: "owner", Value: "${owner}"})
	create(t, bad, newApply(ns, "unknown-var", "bad", nil))
	a = waitCondition(t, ns, "unknown-var", infrav1.TemplateValidCondition, metav1.ConditionFalse, infrav1.TemplateInvalidReason)
	if err := testenv.ContainsAll(condition(a, infrav1.TemplateValidCondition).Message, "placeholder ${owner} names no variable", "vars[1].value"); err != nil {
		t.Error(err)
	}
	if w := getWorkspace(t, api, ns, render.WorkspaceName(api, ns, "unknown-var")); w != nil {
		t.Errorf("Workspace created from an unrenderable template")
	}

	// A template broken for everyone: reported on the template and on the apply using it;
	// the existing Workspace keeps its last good spec; the fix recovers it.
	testenv.Eventually(t, "break template", func() error {
		cur := &infrav1.WorkspaceTemplate{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(missing), cur); err != nil {
			return err
		}
		cur.Spec.Template.Spec.ForProvider.Env = []infrav1.EnvVar{{Name: "X", Value: "${unterminated"}}
		return env.Client.Update(ctx, cur)
	})
	testenv.Eventually(t, "template reports itself invalid", func() error {
		cur := &infrav1.WorkspaceTemplate{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(missing), cur); err != nil {
			return err
		}
		for _, c := range cur.Status.Conditions {
			if c.Type == infrav1.TemplateValidCondition && c.Status == metav1.ConditionFalse {
				return testenv.ContainsAll(c.Message, "env[0].value has an unterminated")
			}
		}
		return fmt.Errorf("conditions %+v", cur.Status.Conditions)
	})
	a = waitCondition(t, ns, "orphan", infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.TemplateInvalidReason)
	if err := testenv.ContainsAll(condition(a, infrav1.ReadyCondition).Message, "keeps its last applied spec"); err != nil {
		t.Error(err)
	}
	testenv.Eventually(t, "fix template", func() error {
		cur := &infrav1.WorkspaceTemplate{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(missing), cur); err != nil {
			return err
		}
		cur.Spec.Template.Spec.ForProvider.Env = nil
		return env.Client.Update(ctx, cur)
	})
	waitCondition(t, ns, "orphan", infrav1.TemplateValidCondition, metav1.ConditionTrue, infrav1.ValidReason)
}
