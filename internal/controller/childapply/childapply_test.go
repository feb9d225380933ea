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
		step := deletionStep(tc.apply, "Own", "own wait")
		if step.Reason != tc.wantReason || !strings.Contains(step.Message, tc.wantMessage) || step.Stalled != tc.wantStalled {
			t.Errorf("%s: %+v", tc.name, step)
		}
	}
}

// TestWaitMessage: an owner says one message for its apply's whole wait, but the wait for
// shared Terraform state after clusterctl move, which only a person ends, with the
// apply's own words; a report on an older generation is not the current one.
func TestWaitMessage(t *testing.T) {
	apply := func(reason, msg string, observed int64) *infrav1.WorkspaceTemplateApply {
		a := &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Name: "c-vpc", Generation: 2}}
		a.Status.Conditions = []metav1.Condition{{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse,
			Reason: reason, Message: msg, ObservedGeneration: observed}}
		return a
	}
	generic := "Waiting for WorkspaceTemplateApply c-vpc to apply its Workspace"
	shared := "Waiting for ProviderConfig aws to declare its Terraform state shared before creating Workspace w"
	cases := []struct {
		name  string
		apply *infrav1.WorkspaceTemplateApply
		want  string
	}{
		{"not reported", &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Name: "c-vpc"}}, generic},
		{"a step of the apply", apply(infrav1.WorkspaceNotReadyReason, "Workspace w: Creating", 2), generic},
		{"waiting for shared state", apply(infrav1.WaitingForSharedStateReason, shared, 2), "WorkspaceTemplateApply c-vpc: " + shared},
		{"shared state of an older generation", apply(infrav1.WaitingForSharedStateReason, shared, 1), generic},
	}
	for _, c := range cases {
		if got := WaitMessage(c.apply); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
