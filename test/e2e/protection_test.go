package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/dev"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestDestructiveChangeWaitsForApproval runs templates/local/protected on the whole stack
// (provider-terraform v0.21.2, OpenTofu 1.12.6): a variable change that would replace
// the guarded resource is held (its id in the Terraform state stays), the apply names
// the address, the change's hash and the command; an approval of an older change does
// nothing, the approval of the current one replaces the resource and the variable is
// true again; deleting the apply still destroys.
func TestDestructiveChangeWaitsForApproval(t *testing.T) {
	t.Parallel()
	start := time.Now()
	ctx := within(t, 8*time.Minute)
	const name = "local-protected"
	key := client.ObjectKey{Namespace: dev.Namespace, Name: name}
	// The sample of templates/local/protected: a template and an apply.
	objs, err := dev.ReadObjects(filepath.Join(root, "templates", "local", "protected", "protected.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objs {
		if err := stack.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		if obj.GetKind() == "WorkspaceTemplate" {
			t.Cleanup(func() { _ = stack.Client.Delete(context.Background(), obj) })
		}
	}
	api := workspace.DefaultAPI()
	wsKey := client.ObjectKey{Name: render.WorkspaceName(api, dev.Namespace, name)}

	waitApply(ctx, t, key, "Ready", func(a *infrav1.WorkspaceTemplateApply) error {
		return isCondition(a, infrav1.ReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason)
	})
	ws := api.NewObject()
	get(t, wsKey, ws)
	stateName := terraformWorkspace(t, ws)
	first := guardedID(t, stateName)

	t.Logf("applied in %s", time.Since(start).Round(time.Second))
	// A change that replaces the guarded resource: held, and shown.
	mark := time.Now()
	setGeneration(ctx, t, key, "2")
	older := waitPending(ctx, t, key, first, stateName)
	t.Logf("the change held and shown in %s", time.Since(mark).Round(time.Second))
	// Another change before any approval: another hash.
	setGeneration(ctx, t, key, "3")
	var current *infrav1.DestructiveChange
	waitApply(ctx, t, key, "the change to generation 3 pending", func(a *infrav1.WorkspaceTemplateApply) error {
		c := a.Status.DestructiveChange
		if c == nil || c.Hash == "" || c.SpecHash == older.SpecHash {
			return fmt.Errorf("status.destructiveChange %+v", c)
		}
		current = c
		return isCondition(a, infrav1.DestructiveChangePendingCondition, metav1.ConditionTrue, infrav1.DestructiveChangePendingReason)
	})
	if current.Hash == older.Hash {
		t.Fatalf("two changes, one hash %s", current.Hash)
	}

	// The approval of the older change does nothing, and says so.
	approve(ctx, t, key, older.Hash)
	waitApply(ctx, t, key, "the older approval refused", func(a *infrav1.WorkspaceTemplateApply) error {
		c := meta.FindStatusCondition(a.Status.Conditions, infrav1.DestructiveChangePendingCondition)
		if c == nil || c.Reason != infrav1.DestructiveChangePendingReason || !strings.Contains(c.Message, older.Hash+") names another change and approves nothing") {
			return fmt.Errorf("DestructiveChangePending %+v", c)
		}
		return nil
	})
	get(t, wsKey, ws)
	if protect, ok := protectionOf(t, ws); !ok || !protect {
		t.Fatalf("the older approval lifted the protection: %v %v", protect, ok)
	}
	if id := guardedID(t, stateName); id != first {
		t.Fatalf("the older approval replaced terraform_data.guarded: id %s, was %s", id, first)
	}

	// The approval of the current change: replaced, then protected again.
	mark = time.Now()
	approve(ctx, t, key, current.Hash)
	waitApply(ctx, t, key, "the approved change applied", func(a *infrav1.WorkspaceTemplateApply) error {
		if err := isCondition(a, infrav1.DestructiveChangePendingCondition, metav1.ConditionFalse, infrav1.NoDestructiveChangeReason); err != nil {
			return err
		}
		if a.Status.DestructiveChange != nil {
			return fmt.Errorf("status.destructiveChange %+v", a.Status.DestructiveChange)
		}
		// The approved change is CAPT's own change of the spec, not drift.
		if d := a.Status.Drift; d != nil && d.Count > 0 {
			return fmt.Errorf("the approved apply counted as drift: %+v", d)
		}
		return isCondition(a, infrav1.ReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason)
	})
	t.Logf("the approved change applied and protected again in %s", time.Since(mark).Round(time.Second))
	replaced := guardedID(t, stateName)
	if replaced == first {
		t.Fatalf("approved, and terraform_data.guarded was not replaced (id %s)", first)
	}
	get(t, wsKey, ws)
	if protect, ok := protectionOf(t, ws); !ok || !protect {
		t.Fatalf("the protection did not come back once applied: %v %v", protect, ok)
	}
	if out, _ := ws.UnstructuredContent()["status"].(map[string]any); out == nil || !strings.Contains(fmt.Sprint(out["atProvider"]), replaced) {
		t.Errorf("the Workspace's outputs do not give the new id %s: %v", replaced, out)
	}

	// Deleting the apply destroys, protection or not.
	mark = time.Now()
	if err := stack.Client.Delete(ctx, &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: dev.Namespace, Name: name}}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the apply and its Workspace gone", func() error {
		for _, obj := range []client.Object{&infrav1.WorkspaceTemplateApply{}, api.NewObject()} {
			k := key
			if _, ok := obj.(*infrav1.WorkspaceTemplateApply); !ok {
				k = wsKey
			}
			switch err := stack.Client.Get(ctx, k, obj); {
			case err == nil:
				return fmt.Errorf("%T %s still there", obj, k.Name)
			case !apierrors.IsNotFound(err):
				return err
			}
		}
		return nil
	})
	t.Logf("destroyed in %s", time.Since(mark).Round(time.Second))
	if resources, ok := readState(t, stateName); ok && len(resources) > 0 {
		t.Errorf("destroyed, and the state still holds %v", resources)
	}
	t.Logf("protected change held, approved, applied and the apply deleted in %s", time.Since(start).Round(time.Second))
}

// waitPending waits for the change to be held and shown, and checks that nothing was
// replaced meanwhile.
func waitPending(ctx context.Context, t *testing.T, key client.ObjectKey, id, stateName string) *infrav1.DestructiveChange {
	t.Helper()
	var change *infrav1.DestructiveChange
	waitApply(ctx, t, key, "a change pending approval", func(a *infrav1.WorkspaceTemplateApply) error {
		if err := isCondition(a, infrav1.DestructiveChangePendingCondition, metav1.ConditionTrue, infrav1.DestructiveChangePendingReason); err != nil {
			return err
		}
		change = a.Status.DestructiveChange
		if change == nil || change.Hash == "" || !slices.Equal(change.Addresses, []string{"terraform_data.guarded"}) {
			return fmt.Errorf("status.destructiveChange %+v", change)
		}
		pending := meta.FindStatusCondition(a.Status.Conditions, infrav1.DestructiveChangePendingCondition)
		command := fmt.Sprintf("kubectl annotate workspacetemplateapply -n %s %s %s=%s --overwrite", key.Namespace, key.Name, infrav1.ApproveDestructiveChangeAnnotation, change.Hash)
		if !strings.Contains(pending.Message, command) || !strings.Contains(pending.Message, "terraform_data.guarded") {
			return fmt.Errorf("DestructiveChangePending says %q", pending.Message)
		}
		// A wait for a person, not a failure.
		return isCondition(a, infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.DestructiveChangePendingReason)
	})
	if now := guardedID(t, stateName); now != id {
		t.Fatalf("held, and terraform_data.guarded was replaced anyway: id %s, was %s", now, id)
	}
	return change
}

func waitApply(ctx context.Context, t *testing.T, key client.ObjectKey, what string, check func(*infrav1.WorkspaceTemplateApply) error) {
	t.Helper()
	poll(ctx, t, what, func() error {
		a := &infrav1.WorkspaceTemplateApply{}
		if err := stack.Client.Get(ctx, key, a); err != nil {
			return err
		}
		if a.Status.ObservedGeneration != a.Generation {
			return fmt.Errorf("observedGeneration %d of %d", a.Status.ObservedGeneration, a.Generation)
		}
		return check(a)
	})
}

func poll(ctx context.Context, t *testing.T, what string, check func() error) {
	t.Helper()
	var err error
	for {
		if err = check(); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			logApply(t, client.ObjectKey{Namespace: dev.Namespace, Name: "local-protected"})
			t.Fatalf("%s: %v", what, err)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func isCondition(a *infrav1.WorkspaceTemplateApply, typ string, status metav1.ConditionStatus, reason string) error {
	c := meta.FindStatusCondition(a.Status.Conditions, typ)
	if c == nil || c.Status != status || c.Reason != reason {
		return fmt.Errorf("%s is %+v, want %s (%s)", typ, c, status, reason)
	}
	return nil
}

func setGeneration(ctx context.Context, t *testing.T, key client.ObjectKey, generation string) {
	t.Helper()
	a := &infrav1.WorkspaceTemplateApply{}
	get(t, key, a)
	patch := client.MergeFrom(a.DeepCopy())
	a.Spec.Variables["generation"] = generation
	if err := stack.Client.Patch(ctx, a, patch); err != nil {
		t.Fatal(err)
	}
}

func approve(ctx context.Context, t *testing.T, key client.ObjectKey, hash string) {
	t.Helper()
	a := &infrav1.WorkspaceTemplateApply{}
	get(t, key, a)
	patch := client.MergeFrom(a.DeepCopy())
	if a.Annotations == nil {
		a.Annotations = map[string]string{}
	}
	a.Annotations[infrav1.ApproveDestructiveChangeAnnotation] = hash
	if err := stack.Client.Patch(ctx, a, patch); err != nil {
		t.Fatal(err)
	}
}

// protectionOf is the capt_protect value the Workspace passes.
func protectionOf(t *testing.T, ws client.Object) (bool, bool) {
	t.Helper()
	w, err := workspaceOf(ws)
	if err != nil {
		t.Fatal(err)
	}
	return render.Protected(w.Spec.ForProvider, "capt_protect")
}

func workspaceOf(obj client.Object) (*workspace.Workspace, error) {
	u, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	w := &workspace.Workspace{}
	return w, json.Unmarshal(u, w)
}

// guardedID is terraform_data.guarded's id in the Terraform state of workspace name.
func guardedID(t *testing.T, name string) string {
	t.Helper()
	id := stateIDs(t, name)["terraform_data.guarded[0]"]
	if id == "" {
		t.Fatalf("no terraform_data.guarded in the state of %s", name)
	}
	return id
}
