package workspaceapply

import (
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cluster-api/util/conditions"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/redact"
	"github.com/capt-dev/capt/internal/workspace"
)

func ws(generation int64, conds ...workspace.Condition) *workspace.Workspace {
	w := &workspace.Workspace{}
	w.Name = "ws"
	w.Generation = generation
	w.Status.Conditions = conds
	return w
}

func cond(t string, s metav1.ConditionStatus, reason, msg string, observed int64) workspace.Condition {
	return workspace.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: observed}
}

func TestReadyCondition(t *testing.T) {
	ready := cond("Ready", metav1.ConditionTrue, "Available", "", 2)
	synced := cond("Synced", metav1.ConditionTrue, "ReconcileSuccess", "", 2)
	cases := []struct {
		name       string
		obs        *observation
		wantStatus metav1.ConditionStatus
		wantReason string
		wantInMsg  string
	}{
		{"owned by another", &observation{ownedByOther: true, workspace: ws(1)}, metav1.ConditionFalse, infrav1.WorkspaceOwnedByOtherReason, "belongs to another owner"},
		{"template missing, nothing created", &observation{problem: &observed.Problem{Reason: infrav1.TemplateNotFoundReason, Message: "WorkspaceTemplate a/b not found"}}, metav1.ConditionFalse, infrav1.TemplateNotFoundReason, "a/b not found"},
		{"waiting", &observation{waitingFor: []string{"Secret a/creds"}, waitReason: infrav1.WaitingForSecretsReason}, metav1.ConditionFalse, infrav1.WaitingForSecretsReason, "Secret a/creds"},
		{"being created", &observation{}, metav1.ConditionFalse, infrav1.WorkspaceNotFoundReason, "being created"},
		{"template broken after creation", &observation{workspace: ws(2, ready, synced), problem: &observed.Problem{Reason: infrav1.TemplateInvalidReason, Message: "bad"}}, metav1.ConditionFalse, infrav1.TemplateInvalidReason, "keeps its last applied spec"},
		{"sync failed", &observation{workspace: ws(2, ready, cond("Synced", metav1.ConditionFalse, "ReconcileError", "connect failed", 2))}, metav1.ConditionFalse, infrav1.WorkspaceNotSyncedReason, "connect failed"},
		{"not ready", &observation{workspace: ws(2, cond("Ready", metav1.ConditionFalse, "Creating", "applying", 2))}, metav1.ConditionFalse, infrav1.WorkspaceNotReadyReason, "Creating: applying"},
		{"no conditions yet", &observation{workspace: ws(1)}, metav1.ConditionFalse, infrav1.WorkspaceNotReadyReason, "has not reported Ready"},
		{"new generation not observed", &observation{workspace: ws(3, ready, synced)}, metav1.ConditionFalse, infrav1.WorkspaceUpdatingReason, "generation 3"},
		{"ready", &observation{workspace: ws(2, ready, synced)}, metav1.ConditionTrue, infrav1.ReadyReason, ""},
		{"ready, provider reports no generation", &observation{workspace: ws(5, cond("Ready", metav1.ConditionTrue, "Available", "", 0))}, metav1.ConditionTrue, infrav1.ReadyReason, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.obs.workspaceName = "ws"
			got := readyCondition(tc.obs)
			if got.Status != tc.wantStatus || got.Reason != tc.wantReason {
				t.Fatalf("got %s/%s (%s), want %s/%s", got.Status, got.Reason, got.Message, tc.wantStatus, tc.wantReason)
			}
			if tc.wantInMsg != "" && !strings.Contains(got.Message, tc.wantInMsg) {
				t.Errorf("message %q lacks %q", got.Message, tc.wantInMsg)
			}
		})
	}
}

func TestMirroredConditionRedacts(t *testing.T) {
	obs := &observation{workspaceName: "ws", redactor: redact.New("topsecret"),
		workspace: ws(1, cond("Synced", metav1.ConditionFalse, "ReconcileError", "bad value topsecret", 1))}
	got := mirroredCondition(obs, "Synced", infrav1.WorkspaceSyncedCondition)
	if got.Status != metav1.ConditionFalse || got.Reason != "ReconcileError" || got.Message != "bad value [redacted]" {
		t.Errorf("got %+v", got)
	}
	if got := mirroredCondition(&observation{workspaceName: "ws"}, "Ready", infrav1.WorkspaceReadyCondition); got.Status != metav1.ConditionUnknown || got.Reason != infrav1.WorkspaceNotFoundReason {
		t.Errorf("missing Workspace: %+v", got)
	}
	if got := mirroredCondition(&observation{workspaceName: "ws", workspace: ws(1)}, "Ready", infrav1.WorkspaceReadyCondition); got.Reason != infrav1.WorkspaceConditionUnknownReason {
		t.Errorf("no condition: %+v", got)
	}
}

func TestDependenciesCondition(t *testing.T) {
	if got := dependenciesCondition(&observation{}); got.Status != metav1.ConditionTrue {
		t.Errorf("no waits: %+v", got)
	}
	got := dependenciesCondition(&observation{waitingFor: []string{"Secret a/b", "Secret a/c"}, waitReason: infrav1.WaitingForSecretsReason})
	if got.Status != metav1.ConditionFalse || got.Message != "Waiting for Secret a/b, Secret a/c" {
		t.Errorf("waits: %+v", got)
	}
}

func TestSetAppliedKeepsTheFirstTime(t *testing.T) {
	first := metav1.NewTime(time.Unix(100, 0))
	later := metav1.NewTime(time.Unix(200, 0))
	a := &infrav1.WorkspaceTemplateApply{}
	setApplied(a, true, first)
	setApplied(a, true, later)
	if !a.Status.Applied || !a.Status.LastAppliedTime.Equal(&first) {
		t.Errorf("status = %+v", a.Status)
	}
	setApplied(a, false, later)
	setApplied(a, true, later)
	if !a.Status.LastAppliedTime.Equal(&later) {
		t.Errorf("re-applied at %v, want %v", a.Status.LastAppliedTime, later)
	}
}

// TestFailedPassKeepsReady: a pass that failed to read the Workspace reports the mirrored
// conditions Unknown (InternalError), not "does not exist yet", and leaves Ready and
// Applied as they were; a deleting apply says Deleting whatever the pass did.
func TestFailedPassKeepsReady(t *testing.T) {
	ready := cond("Ready", metav1.ConditionTrue, "Available", "", 2)
	synced := cond("Synced", metav1.ConditionTrue, "ReconcileSuccess", "", 2)
	a := &infrav1.WorkspaceTemplateApply{}
	setStatus(a, &observation{workspaceName: "ws", workspace: ws(2, ready, synced), workspaceRead: true, templateRead: true, dependenciesChecked: true})
	if !a.Status.Applied || !conditions.IsTrue(a, infrav1.ReadyCondition) {
		t.Fatalf("set-up: %+v", a.Status)
	}
	setStatus(a, &observation{workspaceName: "ws", err: errors.New("getting Workspace ws: Timeout")})
	for _, typ := range []string{infrav1.WorkspaceReadyCondition, infrav1.WorkspaceSyncedCondition, infrav1.TemplateValidCondition, infrav1.DependenciesReadyCondition} {
		if c := conditions.Get(a, typ); c.Status != metav1.ConditionUnknown || c.Reason != infrav1.InternalErrorReason {
			t.Errorf("%s = %+v, want Unknown/InternalError", typ, c)
		}
	}
	if !a.Status.Applied || !conditions.IsTrue(a, infrav1.ReadyCondition) {
		t.Errorf("a failed read changed Ready or Applied: %+v", a.Status)
	}

	now := metav1.Now()
	a.DeletionTimestamp = &now
	setStatus(a, &observation{workspaceName: "ws", err: errors.New("getting Workspace ws: Timeout")})
	if d := conditions.Get(a, infrav1.DeletingCondition); d.Status != metav1.ConditionTrue || !strings.Contains(d.Message, "Timeout") ||
		conditions.IsTrue(a, infrav1.ReadyCondition) || a.Status.Applied {
		t.Errorf("deleting apply: Deleting %+v, Ready %v, Applied %v", d, conditions.Get(a, infrav1.ReadyCondition), a.Status.Applied)
	}
}
