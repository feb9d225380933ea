package workspaceapply

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/redact"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestDestroyWait: what a deleting apply says, and when its wait counts as stalled, from
// the apply's and the Workspace's timestamps alone.
func TestDestroyWait(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: t0.Add(d)} }
	synced := func(status metav1.ConditionStatus, msg string, when time.Duration) workspace.Condition {
		return workspace.Condition{Type: workspace.ConditionSynced, Status: status, Reason: "ReconcileError", Message: msg, LastTransitionTime: *at(when)}
	}
	const timeout = 30 * time.Minute
	cases := []struct {
		name          string
		annotation    string
		wsDeleted     *metav1.Time
		conds         []workspace.Condition
		now           time.Duration
		wantReason    string
		wantInMessage string
		wantStalled   bool
		wantRemaining time.Duration
	}{
		{name: "waiting", wsDeleted: at(0), now: 10 * time.Minute,
			wantReason: infrav1.WaitingForWorkspaceDeletionReason, wantInMessage: "deleting since 2026-11-26T12:00:00Z", wantRemaining: 20 * time.Minute},
		{name: "destroy failed", wsDeleted: at(0), conds: []workspace.Condition{synced(metav1.ConditionFalse, "delete failed: boom secret-x", time.Minute)}, now: 2 * time.Minute,
			wantReason: infrav1.WorkspaceDestroyFailedReason, wantInMessage: "delete failed: boom [redacted]", wantRemaining: 29 * time.Minute},
		{name: "apply error from before the deletion is no destroy failure", wsDeleted: at(5 * time.Minute), conds: []workspace.Condition{synced(metav1.ConditionFalse, "apply failed", -time.Hour)},
			now: 6 * time.Minute, wantReason: infrav1.WaitingForWorkspaceDeletionReason, wantRemaining: 29 * time.Minute},
		{name: "stalled", wsDeleted: at(0), conds: []workspace.Condition{synced(metav1.ConditionFalse, "delete failed: boom", time.Minute)}, now: 31 * time.Minute,
			wantReason: infrav1.WorkspaceDestroyFailedReason, wantStalled: true},
		{name: "progress restarts the clock", wsDeleted: at(0), conds: []workspace.Condition{synced(metav1.ConditionFalse, "delete failed: other", 20*time.Minute)}, now: 31 * time.Minute,
			wantReason: infrav1.WorkspaceDestroyFailedReason, wantRemaining: 19 * time.Minute},
		{name: "wrong abandon UID", annotation: "nope", wsDeleted: at(0), now: time.Minute,
			wantReason: infrav1.AbandonIgnoredReason, wantInMessage: `"nope" ignored: it is not the UID of Workspace ws`, wantRemaining: 29 * time.Minute},
	}
	for _, tc := range cases {
		apply := &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Name: "a", DeletionTimestamp: at(0)}}
		if tc.annotation != "" {
			apply.Annotations = map[string]string{infrav1.AbandonWorkspaceAnnotation: tc.annotation}
		}
		w := &workspace.Workspace{}
		w.Name, w.UID, w.DeletionTimestamp = "ws", "uid-1", tc.wsDeleted
		w.Status.Conditions = tc.conds
		step, remaining := destroyWait(apply, w, t0.Add(tc.now), timeout, redact.New("secret-x"))
		if step.Reason != tc.wantReason || !strings.Contains(step.Message, tc.wantInMessage) {
			t.Errorf("%s: step %+v", tc.name, step)
		}
		if (step.Stalled != "") != tc.wantStalled || remaining != tc.wantRemaining {
			t.Errorf("%s: stalled %q, remaining %s, want stalled %v, remaining %s", tc.name, step.Stalled, remaining, tc.wantStalled, tc.wantRemaining)
		}
		if tc.wantStalled && !strings.Contains(step.Stalled, infrav1.AbandonWorkspaceAnnotation) {
			t.Errorf("%s: the stall does not say how to abandon: %s", tc.name, step.Stalled)
		}
	}
}
