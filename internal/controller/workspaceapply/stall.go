package workspaceapply

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/redact"
	"github.com/capt-dev/capt/internal/workspace"
)

// DefaultDeletionStallTimeout is how long a Workspace's destroy may make no progress
// before DeletionStalled turns true (--deletion-stall-timeout).
const DefaultDeletionStallTimeout = 30 * time.Minute

// destroyWait is what a deleting apply says while its Workspace is not gone yet, from
// what the pass read: the provider's destroy failure as soon as it reports one, since
// when the deletion waits, whether it stalled, and an abandon annotation it ignored. It
// also returns how long until the wait counts as stalled (0 once it has), the one
// deadline no watch event marks.
func destroyWait(apply *infrav1.WorkspaceTemplateApply, w *workspace.Workspace, now time.Time, timeout time.Duration, redactor *redact.Redactor) (observed.Step, time.Duration) {
	since := apply.DeletionTimestamp.UTC().Format(time.RFC3339)
	step := observed.Step{
		Reason:  infrav1.WaitingForWorkspaceDeletionReason,
		Message: fmt.Sprintf("Waiting for Workspace %s to be destroyed by its provider (deleting since %s)", w.Name, since),
	}
	cause := "its provider has not reported a failure"
	if failure := destroyFailure(w); failure != "" {
		cause = "its provider reports: " + redactor.Message(failure)
		step.Reason = infrav1.WorkspaceDestroyFailedReason
		step.Message = fmt.Sprintf("Workspace %s is not destroyed (deleting since %s): %s", w.Name, since, cause)
	}
	if uid, ok := apply.Annotations[infrav1.AbandonWorkspaceAnnotation]; ok {
		step.Reason = infrav1.AbandonIgnoredReason
		step.Message = fmt.Sprintf("Annotation %s=%q ignored: it is not the UID of Workspace %s; %s",
			infrav1.AbandonWorkspaceAnnotation, uid, w.Name, step.Message)
	}

	progress := lastProgress(apply, w)
	remaining := progress.Add(timeout).Sub(now)
	if remaining > 0 {
		return step, remaining
	}
	step.Stalled = fmt.Sprintf("No progress destroying Workspace %s since %s (%s); %s. Fix the cause and the provider's next try goes on; "+
		"or abandon the Workspace, leaving its cloud resources and Terraform state in place: annotate this WorkspaceTemplateApply with %s=<the Workspace's metadata.uid>",
		w.Name, progress.UTC().Format(time.RFC3339), timeout, cause, infrav1.AbandonWorkspaceAnnotation)
	return step, 0
}

// destroyFailure is the provider's report that the destroy failed, expanded; "" when
// there is none. Crossplane reports a failed delete as Synced=False, set after the
// Workspace's deletion began (an apply error from before it does not count).
func destroyFailure(w *workspace.Workspace) string {
	c := w.Condition(workspace.ConditionSynced)
	if w.DeletionTimestamp.IsZero() || c == nil || c.Status != metav1.ConditionFalse || c.LastTransitionTime.Before(w.DeletionTimestamp) {
		return ""
	}
	return workspace.ProviderMessage(c.Message)
}

// lastProgress is the last time the deletion moved: the apply's deletion, the
// Workspace's, or a change of the Workspace's conditions (the provider sets a condition's
// transition time when its state or message changes, not at each retry of the same
// failure).
func lastProgress(apply *infrav1.WorkspaceTemplateApply, w *workspace.Workspace) time.Time {
	t := apply.DeletionTimestamp.Time
	if w.DeletionTimestamp != nil && w.DeletionTimestamp.After(t) {
		t = w.DeletionTimestamp.Time
	}
	for _, c := range w.Status.Conditions {
		if c.LastTransitionTime.After(t) {
			t = c.LastTransitionTime.Time
		}
	}
	return t
}
