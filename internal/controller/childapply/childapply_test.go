package childapply

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/workspace"
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
// shared Terraform state after clusterctl move, which only a person ends, and the wait
// for a slot in its template's rollout, with the apply's own words; a report on an older
// generation is not the current one.
func TestWaitMessage(t *testing.T) {
	apply := func(reason, msg string, observed int64) *infrav1.WorkspaceTemplateApply {
		a := &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Name: "c-vpc", Generation: 2}}
		a.Status.Conditions = []metav1.Condition{{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse,
			Reason: reason, Message: msg, ObservedGeneration: observed}}
		return a
	}
	generic := "Waiting for WorkspaceTemplateApply c-vpc to apply its Workspace"
	shared := "Waiting for ProviderConfig aws to declare its Terraform state shared before creating Workspace w"
	pending := "Workspace w: change 0123456789abcdef would destroy or replace protected resources ...: aws_vpc.this"
	slot := "Waiting for a rollout slot of WorkspaceTemplate ns/vpc before changing Workspace w"
	state := "Waiting for the Terraform state of workspace team-vpc: Secret crossplane-system/tfstate-team-vpc-s not found before creating Workspace w"
	changes := "the plan of Workspace w over the state of Terraform workspace team-vpc shows changes; ... approve-adoption-changes=0123456789abcdef --overwrite"
	cases := []struct {
		name  string
		apply *infrav1.WorkspaceTemplateApply
		want  string
	}{
		{"not reported", &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Name: "c-vpc"}}, generic},
		{"a step of the apply", apply(infrav1.WorkspaceNotReadyReason, "Workspace w: Creating", 2), generic},
		{"waiting for shared state", apply(infrav1.WaitingForSharedStateReason, shared, 2), "WorkspaceTemplateApply c-vpc: " + shared},
		{"shared state of an older generation", apply(infrav1.WaitingForSharedStateReason, shared, 1), generic},
		// What would be destroyed, and how to approve it, reaches the owner and the Cluster.
		{"a destructive change waiting for approval", apply(infrav1.DestructiveChangePendingReason, pending, 2), "WorkspaceTemplateApply c-vpc: " + pending},
		{"a destructive change being confirmed", apply(infrav1.ConfirmingDestructiveChangeReason, pending, 2), generic},
		{"waiting for a rollout slot", apply(infrav1.WaitingForRolloutSlotReason, slot, 2), "WorkspaceTemplateApply c-vpc: " + slot},
		// An adoption's waits for its state and for a person (docs/adopt.md); its own steps are the one wait.
		{"waiting for the state to adopt", apply(infrav1.WaitingForTerraformStateReason, state, 2), "WorkspaceTemplateApply c-vpc: " + state},
		{"adoption changes waiting for approval", apply(infrav1.AdoptionChangesPendingReason, changes, 2), "WorkspaceTemplateApply c-vpc: " + changes},
		{"an empty state", apply(infrav1.AdoptionStateEmptyReason, "empty", 2), "WorkspaceTemplateApply c-vpc: empty"},
		{"an adoption's first plan", apply(infrav1.ObservingStateReason, "Workspace w only plans", 2), generic},
	}
	for _, c := range cases {
		if got := WaitMessage(c.apply); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestState: an owner says its child's state in its own words: a failure of the apply
// with the apply's message, any other not-Ready (or not yet reported) as the one wait,
// Unknown with the apply's reason, and a Ready apply without its Workspace as a wait;
// only a Ready apply with a Workspace lets the owner read outputs.
func TestState(t *testing.T) {
	words := Words{Waiting: "Provisioning", Failed: "Failed", Child: "VPC"}
	apply := func(status metav1.ConditionStatus, reason string, observed int64) *infrav1.WorkspaceTemplateApply {
		a := &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Name: "c-vpc", Generation: 2}}
		a.Status.Conditions = []metav1.Condition{{Type: infrav1.ReadyCondition, Status: status, Reason: reason, Message: "m", ObservedGeneration: observed}}
		return a
	}
	child := func(a *infrav1.WorkspaceTemplateApply, ws bool) Child {
		c := Child{Apply: a, Ready: Ready(a)}
		if ws {
			c.Workspace = &workspace.Workspace{}
		}
		return c
	}
	wait := "Waiting for WorkspaceTemplateApply c-vpc to apply its Workspace"
	cases := []struct {
		name                 string
		child                Child
		reason, message      string
		unknown, unknownText string
	}{
		{"not reported", child(apply(metav1.ConditionTrue, infrav1.ReadyReason, 1), true), "Provisioning", wait, "", ""},
		{"a failure", child(apply(metav1.ConditionFalse, infrav1.WorkspaceTemplateApplyFailureReasons[0], 2), true), "Failed", "WorkspaceTemplateApply c-vpc: m", "", ""},
		{"a step", child(apply(metav1.ConditionFalse, infrav1.WorkspaceNotReadyReason, 2), true), "Provisioning", wait, "", ""},
		{"a rollout slot", child(apply(metav1.ConditionFalse, infrav1.WaitingForRolloutSlotReason, 2), true), "Provisioning", "WorkspaceTemplateApply c-vpc: m", "", ""},
		{"could not tell", child(apply(metav1.ConditionUnknown, infrav1.InternalErrorReason, 2), true), "", "", infrav1.InternalErrorReason, "WorkspaceTemplateApply c-vpc: m"},
		{"ready without Workspace", child(apply(metav1.ConditionTrue, infrav1.ReadyReason, 2), false), "Provisioning", "Waiting for the VPC Workspace", "", ""},
		{"ready", child(apply(metav1.ConditionTrue, infrav1.ReadyReason, 2), true), "", "", "", ""},
		{"a destructive change is a wait, said in the apply's words", child(apply(metav1.ConditionFalse, infrav1.DestructiveChangePendingReason, 2), true),
			"Provisioning", "WorkspaceTemplateApply c-vpc: m", "", ""},
	}
	for _, tc := range cases {
		problem, unknown := tc.child.State(words)
		if got, want := fmt.Sprint(problem), fmt.Sprint(want(tc.reason, tc.message)); got != want {
			t.Errorf("%s: problem %s, want %s", tc.name, got, want)
		}
		if got, want := fmt.Sprint(unknown), fmt.Sprint(want(tc.unknown, tc.unknownText)); got != want {
			t.Errorf("%s: unknown %s, want %s", tc.name, got, want)
		}
	}
}

func want(reason, message string) *observed.Problem {
	if reason == "" {
		return nil
	}
	return &observed.Problem{Reason: reason, Message: message}
}
