package workspaceapply

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestDecideAdoption: where an adopting apply stands, from its status and its Workspace.
// Only Ready for the rendering written, or an approval of exactly the changes shown,
// adopts; anything else keeps the Workspace Observe-only and says why.
func TestDecideAdoption(t *testing.T) {
	const hash = "h1"
	ws := func(policies []infrav1.ManagementAction, hash string, conds ...workspace.Condition) *workspace.Workspace {
		w := &workspace.Workspace{}
		w.UID = "uid-1"
		w.Annotations = map[string]string{infrav1.RolloutHashAnnotation: hash}
		w.Spec.ManagementPolicies = policies
		w.Status.Conditions = conds
		return w
	}
	cond := func(typ string, s metav1.ConditionStatus, msg string) workspace.Condition {
		return workspace.Condition{Type: typ, Status: s, Message: msg}
	}
	readyTrue, readyFalse := cond(workspace.ConditionReady, metav1.ConditionTrue, ""), cond(workspace.ConditionReady, metav1.ConditionFalse, "")
	syncedTrue := cond(workspace.ConditionSynced, metav1.ConditionTrue, "")
	empty := cond(workspace.ConditionSynced, metav1.ConditionFalse, "cannot observe external resource: external resource does not exist")
	failed := cond(workspace.ConditionSynced, metav1.ConditionFalse, "observe failed: cannot diff")
	token := adoptionToken(ws(observeOnly, hash), hash)

	for _, tc := range []struct {
		name                          string
		status                        *infrav1.AdoptionStatus
		approval                      string
		current                       *workspace.Workspace
		phase                         infrav1.AdoptionPhase
		reason                        string
		adoptedNow, approved, changed bool
	}{
		{name: "no Workspace yet", phase: infrav1.AdoptionObserving, reason: infrav1.ObservingStateReason},
		{name: "adopted before", status: &infrav1.AdoptionStatus{Phase: infrav1.AdoptionAdopted, Approved: true},
			current: ws(nil, "old", readyFalse), phase: infrav1.AdoptionAdopted, approved: true},
		{name: "the Workspace has the template's policies", current: ws([]infrav1.ManagementAction{"*"}, hash), phase: infrav1.AdoptionAdopted},
		{name: "first plan awaited", current: ws(observeOnly, hash), phase: infrav1.AdoptionObserving, reason: infrav1.ObservingStateReason},
		{name: "plan changes nothing", current: ws(observeOnly, hash, syncedTrue, readyTrue), phase: infrav1.AdoptionAdopted, adoptedNow: true},
		{name: "Ready of another rendering", current: ws(observeOnly, "old", syncedTrue, readyTrue),
			phase: infrav1.AdoptionObserving, reason: infrav1.ObservingStateReason, changed: true},
		{name: "plan shows changes", current: ws(observeOnly, hash, syncedTrue), phase: infrav1.AdoptionChangesPending, reason: infrav1.AdoptionChangesPendingReason},
		{name: "plan shows changes, Ready False", current: ws(observeOnly, hash, syncedTrue, readyFalse), phase: infrav1.AdoptionChangesPending, reason: infrav1.AdoptionChangesPendingReason},
		{name: "another token approves nothing", approval: "0123456789abcdef", current: ws(observeOnly, hash, syncedTrue),
			phase: infrav1.AdoptionChangesPending, reason: infrav1.AdoptionChangesPendingReason},
		{name: "the token approves", approval: token, current: ws(observeOnly, hash, syncedTrue), phase: infrav1.AdoptionAdopted, adoptedNow: true, approved: true},
		{name: "empty state", current: ws(observeOnly, hash, empty), phase: infrav1.AdoptionObserving, reason: infrav1.AdoptionStateEmptyReason},
		{name: "plan failed", current: ws(observeOnly, hash, failed), phase: infrav1.AdoptionObserving, reason: infrav1.ObservingStateReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := decideAdoption(adoptionInput{adopt: &infrav1.Adoption{TerraformWorkspace: "team-vpc"}, status: tc.status,
				approval: tc.approval, current: tc.current, hash: hash}, "ws")
			if got.phase != tc.phase || got.reason != tc.reason || got.adoptedNow != tc.adoptedNow || got.approved != tc.approved || got.changed != tc.changed {
				t.Errorf("got phase %s reason %q adoptedNow %v approved %v changed %v, want %s %q %v %v %v",
					got.phase, got.reason, got.adoptedNow, got.approved, got.changed, tc.phase, tc.reason, tc.adoptedNow, tc.approved, tc.changed)
			}
			if tc.reason == infrav1.AdoptionChangesPendingReason && (got.token != token || !strings.Contains(got.message, token) ||
				!strings.Contains(got.message, "enableTerraformCLILogging") || !strings.Contains(got.message, infrav1.ApproveAdoptionChangesAnnotation)) {
				t.Errorf("pending changes: token %q (want %q), message %q", got.token, token, got.message)
			}
		})
	}
	if other := adoptionToken(ws(observeOnly, "h2"), "h2"); other == token {
		t.Error("another rendering has the same token")
	}
}
