package workspaceapply

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cluster-api/util/conditions"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/redact"
	"github.com/capt-dev/capt/internal/workspace"
)

// observation is what one reconcile found; the status is computed from it alone.
type observation struct {
	// problem is why the template cannot be rendered or run (reason TemplateNotFound,
	// TemplateInvalid or RequiredVariablesUnset), or nil.
	problem *observed.Problem
	// note is what TemplateValid says of a template that renders but whose Inline module
	// ignores a variable or could not be read (VariablesIgnored, ModuleUnreadable), or nil.
	note *observed.Problem
	// waitingFor lists unmet dependencies, e.g. "Secret ns/name".
	waitingFor []string
	// waitReason is WaitingForSecrets or WaitingForWorkspaces.
	waitReason string
	// workspaceName is the Workspace's name, whether or not it exists.
	workspaceName string
	// workspace is the Workspace as last read or written, nil when it does not exist.
	workspace *workspace.Workspace
	// ownedByOther is true when a Workspace of that name is not ours.
	ownedByOther bool
	// redactor masks variable values in mirrored messages.
	redactor *redact.Redactor
	// now is the time of this reconcile.
	now metav1.Time

	// workspaceRead, templateRead and dependenciesChecked say how far the pass got: a
	// condition whose input it did not read is Unknown when the pass failed (err).
	workspaceRead, templateRead, dependenciesChecked bool
	// drift is what the pass accounted of the provider's updates (drift.go), or nil.
	drift *driftObservation
	// protection is what the pass found of a protected template's Workspace; nil when
	// it did not get there. held is the apply's Ready while protection holds a change.
	protection *protection
	held       *metav1.Condition
	// rollout is the apply's part in its template's rollout (rollout.go).
	rollout rolloutObservation
	// adoption is how far an apply with spec.adopt got (adopt.go); nil without it, or
	// when the pass did not get there.
	adoption *adoption
	// deletion is what a deleting pass waits for.
	deletion *observed.Step
	// err is what the pass failed to read or write.
	err error
}

// setStatus writes every status field from obs. Conditions keep their transition time
// unless their state changes, so a pass that finds nothing new changes nothing. A pass
// that failed leaves Ready as it was (its owners read Ready for the current generation,
// so a kept Ready of an older generation reads as "not reported yet"), and the
// conditions it did not get to are Unknown.
func setStatus(apply *infrav1.WorkspaceTemplateApply, obs *observation) {
	apply.Status.WorkspaceName = obs.workspaceName
	if !apply.DeletionTimestamp.IsZero() {
		setDeletingStatus(apply, obs)
		return
	}
	setRolloutStatus(apply, obs)
	parts := []metav1.Condition{
		templateValidCondition(obs),
		dependenciesCondition(obs),
		mirroredCondition(obs, workspace.ConditionSynced, infrav1.WorkspaceSyncedCondition),
		mirroredCondition(obs, workspace.ConditionReady, infrav1.WorkspaceReadyCondition),
	}
	for _, c := range parts {
		conditions.Set(apply, c)
	}
	setProtectionStatus(apply, obs)
	conditions.Set(apply, metav1.Condition{Type: infrav1.DeletingCondition, Status: metav1.ConditionFalse, Reason: infrav1.NotDeletingReason})
	setDriftStatus(apply, obs.drift)
	setAdoptionStatus(apply, obs)
	if obs.err != nil {
		observed.Keep(apply, infrav1.ReadyCondition, append(parts, observed.Unknown(infrav1.ReadyCondition, obs.err))...)
		return
	}
	ready := readyCondition(obs)
	conditions.Set(apply, ready)
	setApplied(apply, ready.Status == metav1.ConditionTrue, obs.now)
}

// setApplied records the first pass that finds the current spec applied.
func setApplied(apply *infrav1.WorkspaceTemplateApply, applied bool, now metav1.Time) {
	if applied && !apply.Status.Applied {
		apply.Status.LastAppliedTime = &now
	}
	apply.Status.Applied = applied
}

func templateValidCondition(obs *observation) metav1.Condition {
	switch {
	case obs.problem != nil:
		return metav1.Condition{Type: infrav1.TemplateValidCondition, Status: metav1.ConditionFalse,
			Reason: obs.problem.Reason, Message: obs.redactor.Message(obs.problem.Message)}
	case !obs.templateRead && obs.err != nil:
		return observed.Unknown(infrav1.TemplateValidCondition, obs.err)
	case obs.note != nil:
		return metav1.Condition{Type: infrav1.TemplateValidCondition, Status: metav1.ConditionTrue,
			Reason: obs.note.Reason, Message: obs.redactor.Message(obs.note.Message)}
	}
	return metav1.Condition{Type: infrav1.TemplateValidCondition, Status: metav1.ConditionTrue, Reason: infrav1.ValidReason}
}

func dependenciesCondition(obs *observation) metav1.Condition {
	switch {
	case len(obs.waitingFor) > 0:
		return metav1.Condition{Type: infrav1.DependenciesReadyCondition, Status: metav1.ConditionFalse,
			Reason: obs.waitReason, Message: "Waiting for " + strings.Join(obs.waitingFor, ", ")}
	case !obs.dependenciesChecked && obs.err != nil:
		return observed.Unknown(infrav1.DependenciesReadyCondition, obs.err)
	}
	return metav1.Condition{Type: infrav1.DependenciesReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.DependenciesReadyReason}
}

// mirroredCondition copies a Workspace condition, with its message redacted.
func mirroredCondition(obs *observation, from, to string) metav1.Condition {
	if !obs.workspaceRead && obs.err != nil {
		return observed.Unknown(to, obs.err)
	}
	if obs.workspace == nil || obs.ownedByOther {
		return metav1.Condition{Type: to, Status: metav1.ConditionUnknown, Reason: infrav1.WorkspaceNotFoundReason,
			Message: fmt.Sprintf("Workspace %s does not exist yet", obs.workspaceName)}
	}
	c := obs.workspace.Condition(from)
	if c == nil {
		return metav1.Condition{Type: to, Status: metav1.ConditionUnknown, Reason: infrav1.WorkspaceConditionUnknownReason,
			Message: fmt.Sprintf("Workspace %s has not reported %s yet", obs.workspaceName, from)}
	}
	reason := c.Reason
	if reason == "" {
		reason = infrav1.WorkspaceConditionUnknownReason
	}
	return metav1.Condition{Type: to, Status: c.Status, Reason: reason, Message: obs.redactor.Message(workspace.ProviderMessage(c.Message))}
}

// readyCondition summarises: the first thing that keeps the Workspace from being
// applied, or Ready.
func readyCondition(obs *observation) metav1.Condition {
	notReady := func(reason, format string, args ...any) metav1.Condition {
		return metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: reason,
			Message: obs.redactor.Message(fmt.Sprintf(format, args...))}
	}
	w := obs.workspace
	switch {
	case obs.ownedByOther:
		return notReady(infrav1.WorkspaceOwnedByOtherReason,
			"Workspace %s exists but belongs to another owner (annotation %s); it is left alone",
			obs.workspaceName, infrav1.WorkspaceTemplateApplyAnnotation)
	case w == nil && obs.problem != nil:
		return notReady(obs.problem.Reason, "%s", obs.problem.Message)
	case w == nil && len(obs.waitingFor) > 0:
		return notReady(obs.waitReason, "Waiting for %s before creating Workspace %s", strings.Join(obs.waitingFor, ", "), obs.workspaceName)
	case w == nil:
		return notReady(infrav1.WorkspaceNotFoundReason, "Workspace %s is being created", obs.workspaceName)
	case obs.problem != nil:
		// The Workspace exists and keeps its last good spec until the template is fixed.
		return notReady(obs.problem.Reason, "%s; Workspace %s keeps its last applied spec", obs.problem.Message, obs.workspaceName)
	case obs.held != nil:
		return *obs.held
	case obs.adoption != nil && obs.adoption.reason == infrav1.AdoptionConflictReason:
		return notReady(obs.adoption.reason, "%s", obs.adoption.message)
	case adoptionHeld(obs):
		c, _ := adoptionHold(obs)
		return c
	case w.SyncFailed():
		c := w.Condition(workspace.ConditionSynced)
		return notReady(infrav1.WorkspaceNotSyncedReason, "Workspace %s: %s: %s", obs.workspaceName, c.Reason, workspace.ProviderMessage(c.Message))
	case obs.rollout.waiting != "":
		// The Workspace keeps its spec, and its state, until the slot is granted.
		return notReady(infrav1.WaitingForRolloutSlotReason, "%s", obs.rollout.waiting)
	case !w.IsTrue(workspace.ConditionReady):
		if c := w.Condition(workspace.ConditionReady); c != nil {
			return notReady(infrav1.WorkspaceNotReadyReason, "Workspace %s: %s: %s", obs.workspaceName, c.Reason, workspace.ProviderMessage(c.Message))
		}
		return notReady(infrav1.WorkspaceNotReadyReason, "Workspace %s has not reported Ready yet", obs.workspaceName)
	case !w.ObservedCurrentSpec():
		return notReady(infrav1.WorkspaceUpdatingReason, "Workspace %s has not applied generation %d yet", obs.workspaceName, w.Generation)
	}
	return metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ReadyReason}
}

// setDeletingStatus says what deletion waits for, and how it failed if it did. The
// Workspace's conditions are mirrored while it exists, so that WorkspaceSynced shows its
// provider's destroy error as Deleting does, not the last apply's success.
func setDeletingStatus(apply *infrav1.WorkspaceTemplateApply, obs *observation) {
	if obs.workspace != nil {
		conditions.Set(apply, mirroredCondition(obs, workspace.ConditionSynced, infrav1.WorkspaceSyncedCondition))
		conditions.Set(apply, mirroredCondition(obs, workspace.ConditionReady, infrav1.WorkspaceReadyCondition))
	}
	observed.SetDeleting(apply, obs.deletion, obs.err)
	apply.Status.Applied = false
	endProtection(apply)
}
