package childapply

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// TestDeletionStep: an owner says its own wait unless its apply reports a destroy failure
// or an abandon, which it carries with the apply's reason and message; a stalled apply
// stalls the owner.
func TestDeletionStep(t *testing.T) {
	apply := func(reason, msg string, stalled bool) *infrav1.WorkspaceTemplateApply {
		a := &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Name: "c-vpc"}}
		a.Status.Conditions = []metav1.Condition{{Type: infrav1.DeletingCondition, Status: metav1.ConditionTrue, Reason: reason, Message: msg}}
		if stalled {
			a.Status.Conditions = append(a.Status.Conditions, metav1.Condition{Type: infrav1.DeletionStalledCondition, Status: metav1.ConditionTrue,
				Reason: infrav1.DeletionStalledReason, Message: "No progress"})
		}
		return a
	}
	cases := []struct {
		name        string
		apply       *infrav1.WorkspaceTemplateApply
		wantReason  string
		wantMessage string
		wantStalled string
	}{
		{"plain wait", apply(infrav1.WaitingForWorkspaceDeletionReason, "Waiting", false), "Own", "own wait", ""},
		{"destroy failed", apply(infrav1.WorkspaceDestroyFailedReason, "boom", false), infrav1.WorkspaceDestroyFailedReason, "WorkspaceTemplateApply c-vpc: boom", ""},
		{"abandon ignored", apply(infrav1.AbandonIgnoredReason, "wrong uid", false), infrav1.AbandonIgnoredReason, "WorkspaceTemplateApply c-vpc: wrong uid", ""},
		{"stalled", apply(infrav1.WorkspaceDestroyFailedReason, "boom", true), infrav1.WorkspaceDestroyFailedReason, "boom", "WorkspaceTemplateApply c-vpc: No progress"},
		{"not deleting yet", &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Name: "c-vpc"}}, "Own", "own wait", ""},
	}
	for _, tc := range cases {
		step := DeletionStep(tc.apply, "Own", "own wait")
		if step.Reason != tc.wantReason || !strings.Contains(step.Message, tc.wantMessage) || step.Stalled != tc.wantStalled {
			t.Errorf("%s: %+v", tc.name, step)
		}
	}
}
