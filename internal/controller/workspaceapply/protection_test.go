package workspaceapply

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// protectedModule guards terraform_data.x with the protection variable; a new
// generation replaces it.
const protectedModule = `variable "capt_protect" {
  type    = bool
  default = false
}
variable "generation" { type = string }
variable "name" { default = "" }
resource "terraform_data" "x" {
  triggers_replace = var.generation
  lifecycle { prevent_destroy = var.capt_protect }
}
output "id" { value = terraform_data.x.id }
`

func protectedTemplate(ns string) *infrav1.WorkspaceTemplate {
	return &infrav1.WorkspaceTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "protected"},
		Spec: infrav1.WorkspaceTemplateSpec{
			Protection: &infrav1.WorkspaceProtection{Variable: "capt_protect"},
			Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
				ForProvider: infrav1.WorkspaceParameters{Source: "Inline", InlineFormat: "HCL", Module: protectedModule},
			}},
		},
	}
}

// setSynced writes the Workspace's Synced as provider-terraform does, Ready left True
// (provider-terraform never sets it False once True).
func setSynced(t *testing.T, api workspace.API, name string, status metav1.ConditionStatus, reason, message string, since time.Time) {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, "set the Workspace's Synced", func() error {
		u := api.NewObject()
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, u); err != nil {
			return err
		}
		at := since.UTC().Format(time.RFC3339)
		conds := []any{
			map[string]any{"type": "Synced", "status": string(status), "reason": reason, "message": message, "lastTransitionTime": at},
			map[string]any{"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": at},
		}
		if err := unstructured.SetNestedSlice(u.Object, conds, "status", "conditions"); err != nil {
			return err
		}
		return env.Client.Status().Update(ctx, u)
	})
}

// waitWorkspaceState waits for the Workspace's protection marker to be in state, and
// returns the Workspace.
func waitWorkspaceState(t *testing.T, api workspace.API, name, state string) *workspace.Workspace {
	t.Helper()
	var w *workspace.Workspace
	testenv.Eventually(t, "Workspace protection "+state, func() error {
		u := api.NewObject()
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: name}, u); err != nil {
			return err
		}
		var err error
		if w, err = workspace.FromUnstructured(u); err != nil {
			return err
		}
		if m := parseMarker(w.Annotations[infrav1.ProtectionAnnotation]); m.state != state {
			return fmt.Errorf("protection %q", w.Annotations[infrav1.ProtectionAnnotation])
		}
		return nil
	})
	return w
}

func protectedValue(t *testing.T, w *workspace.Workspace) bool {
	t.Helper()
	protect, ok := render.Protected(w.Spec.ForProvider, "capt_protect")
	if !ok {
		t.Fatalf("Workspace %s does not set capt_protect: varmap %s", w.Name, w.Spec.ForProvider.VarMap.Raw)
	}
	return protect
}

func annotateApproval(t *testing.T, ns, name, value string) {
	t.Helper()
	a := getApply(t, ns, name)
	patch := client.MergeFrom(a.DeepCopy())
	if a.Annotations == nil {
		a.Annotations = map[string]string{}
	}
	a.Annotations[infrav1.ApproveDestructiveChangeAnnotation] = value
	if err := env.Client.Patch(context.Background(), a, patch); err != nil {
		t.Fatal(err)
	}
}

// TestDestructiveChangeWaitsForItsApproval plays provider-terraform through a change
// its plan refuses for prevent_destroy: CAPT confirms the refusal with a pause, shows
// the addresses, the hash and the command on the apply (Ready a wait, not a failure),
// keeps the variable true under an approval of another change, lifts it for the
// approval of this one, and sets it true again once the Workspace applied the change.
func TestDestructiveChangeWaitsForItsApproval(t *testing.T) {
	api := workspace.DefaultAPI()
	startControllers(t, api)
	ns := newNamespace(t)
	create(t, protectedTemplate(ns), newApply(ns, "guarded", "protected", map[string]string{"generation": "1"}))
	name := render.WorkspaceName(api, ns, "guarded")

	w := waitWorkspaceState(t, api, name, protectedState)
	if !protectedValue(t, w) || !slices.Contains(w.Spec.ForProvider.DestroyArgs, "-var=capt_protect=false") {
		t.Fatalf("new Workspace: varmap %s, destroyArgs %q: want capt_protect true and the destroy unprotected", w.Spec.ForProvider.VarMap.Raw, w.Spec.ForProvider.DestroyArgs)
	}
	start := time.Now().Add(-time.Minute)
	setSynced(t, api, name, metav1.ConditionTrue, "ReconcileSuccess", "", start)
	waitCondition(t, ns, "guarded", infrav1.ReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason)
	waitCondition(t, ns, "guarded", infrav1.DestructiveChangePendingCondition, metav1.ConditionFalse, infrav1.NoDestructiveChangeReason)

	// A new generation: provider-terraform's plan refuses to replace terraform_data.x.
	a := getApply(t, ns, "guarded")
	a.Spec.Variables["generation"] = "2"
	if err := env.Client.Update(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	w = waitWorkspaceState(t, api, name, protectedState)
	testenv.Eventually(t, "the new generation written", func() error {
		w = waitWorkspaceState(t, api, name, protectedState)
		if varValue(w, "generation") != "2" {
			return fmt.Errorf("generation %s", varValue(w, "generation"))
		}
		return nil
	})
	if !protectedValue(t, w) {
		t.Fatal("the new spec is written unprotected")
	}
	setSynced(t, api, name, metav1.ConditionFalse, "ReconcileError", refusalMessage("terraform_data.x"), start.Add(time.Second))

	// Perhaps the refusal of the spec before: confirmed by a pause first.
	a = waitCondition(t, ns, "guarded", infrav1.DestructiveChangePendingCondition, metav1.ConditionTrue, infrav1.ConfirmingDestructiveChangeReason)
	if r := condition(a, infrav1.ReadyCondition); r.Reason != infrav1.ConfirmingDestructiveChangeReason {
		t.Errorf("Ready while confirming: %s (%s)", r.Reason, r.Message)
	}
	w = waitWorkspaceState(t, api, name, pausedState)
	if w.Annotations[infrav1.CrossplanePausedAnnotation] != "true" || !protectedValue(t, w) {
		t.Fatalf("confirming: annotations %v, varmap %s", w.Annotations, w.Spec.ForProvider.VarMap.Raw)
	}
	setSynced(t, api, name, metav1.ConditionFalse, reconcilePausedReason, "", start.Add(2*time.Second))
	w = waitWorkspaceState(t, api, name, resumedState)
	if _, paused := w.Annotations[infrav1.CrossplanePausedAnnotation]; paused {
		t.Fatal("the pause is not lifted once provider-terraform saw it")
	}
	refusedAt := start.Add(3 * time.Second)
	setSynced(t, api, name, metav1.ConditionFalse, "ReconcileError", refusalMessage("terraform_data.x"), refusedAt)

	a = waitCondition(t, ns, "guarded", infrav1.DestructiveChangePendingCondition, metav1.ConditionTrue, infrav1.DestructiveChangePendingReason)
	change := a.Status.DestructiveChange
	if change == nil || change.Hash == "" || !slices.Equal(change.Addresses, []string{"terraform_data.x"}) || change.Approved {
		t.Fatalf("status.destructiveChange %+v", change)
	}
	pending := condition(a, infrav1.DestructiveChangePendingCondition).Message
	command := fmt.Sprintf("kubectl annotate workspacetemplateapply -n %s guarded %s=%s --overwrite", ns, infrav1.ApproveDestructiveChangeAnnotation, change.Hash)
	if err := testenv.ContainsAll(pending, "terraform_data.x", command); err != nil {
		t.Error(err)
	}
	if r := condition(a, infrav1.ReadyCondition); r.Status != metav1.ConditionFalse || r.Reason != infrav1.DestructiveChangePendingReason || r.Message != pending {
		t.Errorf("Ready while pending: %s %s (%s), want the wait DestructiveChangePending", r.Status, r.Reason, r.Message)
	}

	// An approval of another change approves nothing.
	other := changeHash(change.SpecHash, change.Addresses, start.Add(time.Second))
	annotateApproval(t, ns, "guarded", other)
	testenv.Eventually(t, "the other approval is refused", func() error {
		c := condition(getApply(t, ns, "guarded"), infrav1.DestructiveChangePendingCondition)
		return testenv.ContainsAll(c.Message, other, "names another change and approves nothing")
	})
	if w = waitWorkspaceState(t, api, name, resumedState); !protectedValue(t, w) {
		t.Fatal("an approval of another change lifted the protection")
	}

	// The approval of this change: unprotected until the Workspace applied it.
	annotateApproval(t, ns, "guarded", change.Hash)
	w = waitWorkspaceState(t, api, name, approvedState)
	if protectedValue(t, w) {
		t.Fatal("approved, and still protected")
	}
	a = waitCondition(t, ns, "guarded", infrav1.DestructiveChangePendingCondition, metav1.ConditionTrue, infrav1.DestructiveChangeApprovedReason)
	if !a.Status.DestructiveChange.Approved || a.Status.DestructiveChange.Hash != change.Hash {
		t.Errorf("approved: status.destructiveChange %+v", a.Status.DestructiveChange)
	}
	if r := condition(a, infrav1.ReadyCondition); r.Reason != infrav1.DestructiveChangeApprovedReason {
		t.Errorf("Ready while the approved change is applied: %s (%s)", r.Reason, r.Message)
	}
	setSynced(t, api, name, metav1.ConditionTrue, "ReconcileSuccess", "", refusedAt.Add(time.Second))
	w = waitWorkspaceState(t, api, name, protectedState)
	if !protectedValue(t, w) {
		t.Fatal("the protection does not come back")
	}
	a = waitCondition(t, ns, "guarded", infrav1.DestructiveChangePendingCondition, metav1.ConditionFalse, infrav1.NoDestructiveChangeReason)
	if a.Status.DestructiveChange != nil {
		t.Errorf("status.destructiveChange %+v after the change was applied", a.Status.DestructiveChange)
	}
	waitCondition(t, ns, "guarded", infrav1.ReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason)

	// The same refusal later (drift, say) is another change: the approval left on the
	// apply does not let it through.
	setSynced(t, api, name, metav1.ConditionFalse, "ReconcileError", refusalMessage("terraform_data.x"), refusedAt.Add(time.Hour))
	waitWorkspaceState(t, api, name, pausedState)
	setSynced(t, api, name, metav1.ConditionFalse, reconcilePausedReason, "", refusedAt.Add(time.Hour+time.Second))
	waitWorkspaceState(t, api, name, resumedState)
	setSynced(t, api, name, metav1.ConditionFalse, "ReconcileError", refusalMessage("terraform_data.x"), refusedAt.Add(time.Hour+2*time.Second))
	a = waitCondition(t, ns, "guarded", infrav1.DestructiveChangePendingCondition, metav1.ConditionTrue, infrav1.DestructiveChangePendingReason)
	if h := a.Status.DestructiveChange.Hash; h == change.Hash || h == "" {
		t.Fatalf("the refusal met again has hash %q, the approved one's was %q", h, change.Hash)
	}
	testenv.Consistently(t, "the old approval lets nothing through", time.Second, func() error {
		if w := waitWorkspaceState(t, api, name, resumedState); !protectedValue(t, w) {
			return fmt.Errorf("unprotected")
		}
		return nil
	})
}

// TestDeletionIsNeverProtected deletes an apply while CAPT holds its Workspace paused to
// confirm a refusal: the pause is lifted, so that provider-terraform destroys, with
// -var=capt_protect=false in destroyArgs.
func TestDeletionIsNeverProtected(t *testing.T) {
	api := workspace.DefaultAPI()
	startControllers(t, api)
	ns := newNamespace(t)
	create(t, protectedTemplate(ns), newApply(ns, "doomed", "protected", map[string]string{"generation": "1"}))
	name := render.WorkspaceName(api, ns, "doomed")
	waitWorkspaceState(t, api, name, protectedState)
	setWorkspaceFinalizers(t, api, name, []string{testenv.ProviderFinalizer})
	setSynced(t, api, name, metav1.ConditionFalse, "ReconcileError", refusalMessage("terraform_data.x"), time.Now())
	waitWorkspaceState(t, api, name, pausedState)

	waitCondition(t, ns, "doomed", infrav1.DestructiveChangePendingCondition, metav1.ConditionTrue, infrav1.ConfirmingDestructiveChangeReason)
	if err := env.Client.Delete(context.Background(), getApply(t, ns, "doomed")); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the Workspace deleted, CAPT's pause lifted", func() error {
		w := getWorkspace(t, api, ns, name)
		switch {
		case w == nil:
			return fmt.Errorf("gone: the provider's finalizer was not kept")
		case w.DeletionTimestamp == nil:
			return fmt.Errorf("not deleted")
		case w.Annotations[infrav1.CrossplanePausedAnnotation] == "true":
			return fmt.Errorf("still paused: provider-terraform would not destroy")
		case !slices.Contains(w.Spec.ForProvider.DestroyArgs, "-var=capt_protect=false"):
			return fmt.Errorf("destroyArgs %q", w.Spec.ForProvider.DestroyArgs)
		}
		return nil
	})
	testenv.Eventually(t, "nothing waits for an approval on an apply being deleted", func() error {
		a := getApply(t, ns, "doomed")
		if c := condition(a, infrav1.DestructiveChangePendingCondition); c.Status != metav1.ConditionFalse || a.Status.DestructiveChange != nil {
			return fmt.Errorf("DestructiveChangePending %s (%s), status.destructiveChange %+v", c.Status, c.Reason, a.Status.DestructiveChange)
		}
		return nil
	})
	setWorkspaceFinalizers(t, api, name, nil)
	testenv.Eventually(t, "the apply gone", func() error {
		return gone(&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "doomed"}})
	})
}

// TestProtectionVariableMustBeDeclared: an Inline module that does not declare the
// protection variable is not applied: a destroy would refuse the -var.
func TestProtectionVariableMustBeDeclared(t *testing.T) {
	api := workspace.DefaultAPI()
	startControllers(t, api)
	ns := newNamespace(t)
	tmpl := protectedTemplate(ns)
	tmpl.Spec.Protection.Variable = "protect"
	create(t, tmpl, newApply(ns, "undeclared", "protected", map[string]string{"generation": "1"}))
	a := waitCondition(t, ns, "undeclared", infrav1.TemplateValidCondition, metav1.ConditionFalse, infrav1.TemplateInvalidReason)
	if err := testenv.ContainsAll(condition(a, infrav1.TemplateValidCondition).Message, "spec.protection.variable protect", "does not declare"); err != nil {
		t.Error(err)
	}
	if getWorkspace(t, api, ns, render.WorkspaceName(api, ns, "undeclared")) != nil {
		t.Error("a Workspace was created")
	}
}
