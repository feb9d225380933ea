package childapply

import (
	"context"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/workspace"
)

// Child is what an owner's pass observed of its WorkspaceTemplateApply.
type Child struct {
	// Apply is the apply as this pass wrote or found it.
	Apply *infrav1.WorkspaceTemplateApply
	// Ready is the apply's Ready condition for its current generation; nil when it has
	// not reported on it yet (a change it has not seen, or a new apply).
	Ready *metav1.Condition
	// Workspace is the apply's Workspace, nil when it does not exist.
	Workspace *workspace.Workspace
}

// Observe writes the owner's apply as want says (ensure) and reads its Workspace: one
// call per pass for what every owner needs before it reads its outputs.
func Observe(ctx context.Context, c client.Client, reader client.Reader, api workspace.API, owner client.Object, want Spec) (Child, error) {
	apply, err := ensure(ctx, c, reader, owner, want)
	if err != nil {
		return Child{}, err
	}
	ws, err := readWorkspace(ctx, c, api, apply)
	if err != nil {
		return Child{Apply: apply}, err
	}
	return Child{Apply: apply, Ready: Ready(apply), Workspace: ws}, nil
}

// Words are an owner's reasons for its child's states, and what it calls the child in a
// message ("VPC", "node group").
type Words struct {
	Waiting, Failed, Child string
}

// State says, in the owner's words, what keeps the child from being ready: a failure
// (the apply reports one: words.Failed, with the apply's message), a wait (words.Waiting:
// one message for the whole wait, WaitMessage), or, when the apply could not tell (its
// own pass failed to read), unknown with the apply's reason. Both nil: the apply is
// Ready for its current spec and its Workspace exists, so the owner may read its outputs.
func (c Child) State(words Words) (problem, unknown *observed.Problem) {
	ready := c.Ready
	switch {
	case ready == nil:
		return &observed.Problem{Reason: words.Waiting, Message: WaitMessage(c.Apply)}, nil
	case ready.Status == metav1.ConditionUnknown:
		return nil, &observed.Problem{Reason: ready.Reason, Message: fmt.Sprintf("WorkspaceTemplateApply %s: %s", c.Apply.Name, ready.Message)}
	case ready.Status != metav1.ConditionTrue && IsFailure(ready.Reason):
		return &observed.Problem{Reason: words.Failed, Message: fmt.Sprintf("WorkspaceTemplateApply %s: %s", c.Apply.Name, ready.Message)}, nil
	case ready.Status != metav1.ConditionTrue:
		return &observed.Problem{Reason: words.Waiting, Message: WaitMessage(c.Apply)}, nil
	case c.Workspace == nil:
		return &observed.Problem{Reason: words.Waiting, Message: fmt.Sprintf("Waiting for the %s Workspace", words.Child)}, nil
	}
	return nil, nil
}

// Ready is the apply's Ready condition when it reports on its current generation; nil
// when it has not yet (a change it has not seen, or a new apply).
func Ready(apply *infrav1.WorkspaceTemplateApply) *metav1.Condition {
	c := conditions.Get(apply, infrav1.ReadyCondition)
	if c == nil || c.ObservedGeneration != apply.Generation {
		return nil
	}
	return c
}

// WaitMessage is what an owner says while its apply has not reported on its current spec,
// or reports not Ready without a failure: one message for the whole wait, whatever step
// the apply is at (its own conditions name the step), so that the owner's status changes
// once when the wait begins and once when it ends, not at each step of the apply. The
// waits that are not the apply's own work are said with the apply's own message, so that
// they show up to the Cluster: the waits only a person ends, a moved apply's wait for
// shared Terraform state and a destructive change waiting for approval (its addresses
// and how to approve it), a wait for a slot in its template's rollout, and an adoption's
// waits for its state or for a person (docs/adopt.md).
func WaitMessage(apply *infrav1.WorkspaceTemplateApply) string {
	if c := Ready(apply); c != nil && (c.Reason == infrav1.WaitingForSharedStateReason || c.Reason == infrav1.DestructiveChangePendingReason ||
		c.Reason == infrav1.WaitingForRolloutSlotReason || slices.Contains(infrav1.AdoptionWaitReasons, c.Reason)) {
		return fmt.Sprintf("WorkspaceTemplateApply %s: %s", apply.Name, c.Message)
	}
	return fmt.Sprintf("Waiting for WorkspaceTemplateApply %s to apply its Workspace", apply.Name)
}

// IsFailure says a Ready=False reason of an apply is a failure, not a wait.
func IsFailure(reason string) bool {
	return slices.Contains(infrav1.WorkspaceTemplateApplyFailureReasons, reason)
}
