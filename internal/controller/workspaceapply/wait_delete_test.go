package workspaceapply

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestWaitsAreReleasedByEvents checks waitForSecrets and waitForWorkspaces: no Workspace
// while waiting, a condition that names what is missing, and creation at the event that
// meets the dependency.
func TestWaitsAreReleasedByEvents(t *testing.T) {
	ctx := context.Background()
	api := workspace.DefaultAPI()
	startControllers(t, api)
	ns := newNamespace(t)

	base := newApply(ns, "base", "vpc", nil)
	dependent := newApply(ns, "dependent", "vpc", nil)
	dependent.Spec.WaitForSecrets = []infrav1.SecretReference{{Name: "aws-credentials"}}
	dependent.Spec.WaitForWorkspaces = []infrav1.WorkspaceReference{{Name: render.WorkspaceName(api, ns, "base")}}
	create(t, newTemplate(ns, "vpc"), dependent)

	a := waitCondition(t, ns, "dependent", infrav1.DependenciesReadyCondition, metav1.ConditionFalse, infrav1.WaitingForSecretsReason)
	if err := testenv.ContainsAll(condition(a, infrav1.ReadyCondition).Message, "Secret "+ns+"/aws-credentials"); err != nil {
		t.Error(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "aws-credentials"}, StringData: map[string]string{"k": "v"}}
	create(t, secret)
	a = waitCondition(t, ns, "dependent", infrav1.DependenciesReadyCondition, metav1.ConditionFalse, infrav1.WaitingForWorkspacesReason)
	if err := testenv.ContainsAll(condition(a, infrav1.DependenciesReadyCondition).Message, "(not found)"); err != nil {
		t.Error(err)
	}

	create(t, base)
	baseWS := waitWorkspace(t, api, ns, "base")
	waitCondition(t, ns, "dependent", infrav1.DependenciesReadyCondition, metav1.ConditionFalse, infrav1.WaitingForWorkspacesReason)
	if w := getWorkspace(t, api, ns, render.WorkspaceName(api, ns, "dependent")); w != nil {
		t.Fatal("Workspace created before its dependency was Ready")
	}
	playProvider(t, api, baseWS, metav1.ConditionTrue, metav1.ConditionTrue, "", "", nil)
	waitWorkspace(t, api, ns, "dependent")
	waitCondition(t, ns, "dependent", infrav1.DependenciesReadyCondition, metav1.ConditionTrue, infrav1.DependenciesReadyReason)

	// Once created, a Workspace is not taken back when a dependency goes away.
	if err := env.Client.Delete(ctx, secret); err != nil {
		t.Fatal(err)
	}
	testenv.Consistently(t, "dependent Workspace stays", time.Second, func() error {
		if getWorkspace(t, api, ns, render.WorkspaceName(api, ns, "dependent")) == nil {
			return fmt.Errorf("deleted")
		}
		return nil
	})
}

// TestDeleteWaitsForTheWorkspace plays a provider whose destroy takes a while: the apply
// keeps its finalizer and says what it waits for until the Workspace is really gone.
func TestDeleteWaitsForTheWorkspace(t *testing.T) {
	ctx := context.Background()
	api := workspace.DefaultAPI()
	startControllers(t, api)
	ns := newNamespace(t)
	create(t, newTemplate(ns, "vpc"), newApply(ns, "doomed", "vpc", nil))
	w := waitWorkspace(t, api, ns, "doomed")

	// provider-terraform's finalizer holds the Workspace until terraform destroy ends.
	const providerFinalizer = "finalizer.managedresource.crossplane.io"
	setWorkspaceFinalizers(t, api, w.Name, []string{providerFinalizer})
	if err := env.Client.Delete(ctx, getApply(t, ns, "doomed")); err != nil {
		t.Fatal(err)
	}
	a := waitCondition(t, ns, "doomed", infrav1.DeletingCondition, metav1.ConditionTrue, infrav1.WaitingForWorkspaceDeletionReason)
	if err := testenv.ContainsAll(condition(a, infrav1.DeletingCondition).Message, w.Name); err != nil {
		t.Error(err)
	}
	if got := getWorkspace(t, api, ns, w.Name); got == nil || got.DeletionTimestamp == nil {
		t.Fatalf("Workspace not being deleted: %+v", got)
	}
	testenv.Consistently(t, "apply held by its finalizer", time.Second, func() error {
		getApply(t, ns, "doomed")
		return nil
	})

	setWorkspaceFinalizers(t, api, w.Name, nil)
	testenv.Eventually(t, "apply gone after its Workspace", func() error {
		return gone(&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "doomed"}})
	})
}

// TestRetainedWorkspaceSurvives checks retainWorkspaceOnDelete: the apply goes at once
// and the Workspace stays, with nothing left that lets garbage collection take it.
func TestRetainedWorkspaceSurvives(t *testing.T) {
	ctx := context.Background()
	api := workspace.DefaultAPI()
	startControllers(t, api)
	ns := newNamespace(t)
	keep := newApply(ns, "keep", "vpc", nil)
	keep.Spec.RetainWorkspaceOnDelete = true
	create(t, newTemplate(ns, "vpc"), keep)
	w := waitWorkspace(t, api, ns, "keep")

	if err := env.Client.Delete(ctx, getApply(t, ns, "keep")); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "apply gone", func() error {
		return gone(&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "keep"}})
	})
	got := getWorkspace(t, api, ns, w.Name)
	if got == nil || got.DeletionTimestamp != nil {
		t.Fatalf("retained Workspace deleted: %+v", got)
	}
	if len(got.OwnerReferences) != 0 {
		t.Errorf("retained Workspace has owner references %v", got.OwnerReferences)
	}
}

func setWorkspaceFinalizers(t *testing.T, api workspace.API, name string, finalizers []string) {
	t.Helper()
	testenv.Eventually(t, "set Workspace finalizers", func() error {
		u := api.NewObject()
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: name}, u); err != nil {
			return err
		}
		u.SetFinalizers(finalizers)
		return env.Client.Update(context.Background(), u)
	})
}
