package lifecycle

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// TestOwnedConditionsWinConflicts: another writer changes a condition the controller
// owns between the controller's read and its patch; the controller's value wins, with no
// conflict error (the pass's observation is the newest truth about what it owns).
func TestOwnedConditionsWinConflicts(t *testing.T) {
	ctx := context.Background()
	a := &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "owned-conditions"},
		Spec: infrav1.WorkspaceTemplateApplySpec{TemplateRef: infrav1.WorkspaceTemplateReference{Name: "t"}}}
	if err := env.Client.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	var writes LastWrites
	writer := writes.Begin(env.Client, env.Client, a)
	other := &infrav1.WorkspaceTemplateApply{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(a), other); err != nil {
		t.Fatal(err)
	}
	conditions.Set(other, metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: "SomeoneElse"})
	if err := env.Client.Status().Update(ctx, other); err != nil {
		t.Fatal(err)
	}

	conditions.Set(a, metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ReadyReason})
	if err := writer.Patch(ctx, a, []string{infrav1.ReadyCondition}, true); err != nil {
		t.Fatalf("patch with an owned condition changed by another writer: %v", err)
	}
	got := &infrav1.WorkspaceTemplateApply{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(a), got); err != nil {
		t.Fatal(err)
	}
	if c := conditions.Get(got, infrav1.ReadyCondition); c == nil || c.Reason != infrav1.ReadyReason {
		t.Errorf("Ready = %+v, want the controller's", c)
	}
}
