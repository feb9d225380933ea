package controlplane

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cluster-api/util/conditions"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/endpoint"
)

// observation is what one reconcile found; the status is computed from it alone.
type observation struct {
	// waitingForInfra names the infrastructure the control plane waits for.
	waitingForInfra string
	// apply is the control plane's WorkspaceTemplateApply, nil before it exists.
	apply *infrav1.WorkspaceTemplateApply
	// endpointChecked says the outputs were read; endpoint is then the problem, or nil.
	endpointChecked bool
	endpoint        *problem
	// endpointPersisted says spec.controlPlaneEndpoint already held the endpoint when
	// this pass began: the deferred patch writes conditions before the spec, so a new
	// endpoint is reported ready on the pass its spec update brings.
	endpointPersisted bool
	// secretsChecked says the secrets were written or verified; secrets is the problem.
	secretsChecked bool
	secrets        *problem
	// versionApplied says the Workspace applied spec.version.
	versionApplied bool
}

// failureReasons are the reasons that mean something is wrong, as opposed to not done yet.
var failureReasons = []string{
	controlplanev1.EndpointOutputMissingReason, controlplanev1.EndpointInvalidReason, controlplanev1.EndpointUpdateFailedReason,
	controlplanev1.CAOutputMissingReason, controlplanev1.CAInvalidReason, controlplanev1.KubeconfigInvalidReason,
	controlplanev1.SecretOwnedByOtherReason, controlplanev1.SecretsNotReadyReason,
	infrav1.WorkspaceNotSyncedReason, infrav1.TemplateInvalidReason, infrav1.TemplateNotFoundReason, infrav1.WorkspaceOwnedByOtherReason,
}

func isFailure(c metav1.Condition) bool {
	return c.Status == metav1.ConditionFalse && slices.Contains(failureReasons, c.Reason)
}

// setStatus writes every status field from obs. Ready and an error never coexist: Ready
// is computed from the same conditions that carry the errors.
func setStatus(cp *controlplanev1.CAPTControlPlane, obs observation) {
	wsReady := workspaceReadyCondition(obs)
	endpointReady := endpointReadyCondition(obs, cp)
	secretsReady := secretsReadyCondition(obs)
	available := availableCondition(wsReady, endpointReady, secretsReady)
	ready := readyCondition(available, wsReady, obs.versionApplied, cp.Spec.Version)
	for _, c := range []metav1.Condition{wsReady, endpointReady, secretsReady, available, ready} {
		conditions.Set(cp, c)
	}
	conditions.Set(cp, metav1.Condition{Type: infrav1.DeletingCondition, Status: metav1.ConditionFalse, Reason: infrav1.NotDeletingReason})

	cp.Status.SecretsReady = secretsReady.Status == metav1.ConditionTrue
	initialized := ptr.Deref(cp.Status.Initialization.ControlPlaneInitialized, false) ||
		endpointReady.Status == metav1.ConditionTrue && cp.Status.SecretsReady
	cp.Status.Initialization.ControlPlaneInitialized = ptr.To(initialized)
	cp.Status.Initialized = initialized
	cp.Status.Ready = available.Status == metav1.ConditionTrue
	cp.Status.ExternalManagedControlPlane = ptr.To(true)
	if obs.versionApplied {
		cp.Status.Version = cp.Spec.Version
	}
	cp.Status.Phase = phase(initialized, ready, wsReady, endpointReady, secretsReady)
	cp.Status.Endpoint = endpoint.HostPort(cp.Spec.ControlPlaneEndpoint.Host, cp.Spec.ControlPlaneEndpoint.Port)
}

func workspaceReadyCondition(obs observation) metav1.Condition {
	c := metav1.Condition{Type: controlplanev1.WorkspaceReadyCondition, Status: metav1.ConditionFalse}
	switch {
	case obs.waitingForInfra != "":
		c.Reason, c.Message = controlplanev1.WaitingForInfrastructureReason, "Waiting for "+obs.waitingForInfra
	case obs.apply == nil:
		c.Reason, c.Message = controlplanev1.WaitingForWorkspaceReason, "WorkspaceTemplateApply not created yet"
	default:
		mirrored := conditions.Get(obs.apply, infrav1.ReadyCondition)
		if mirrored == nil || mirrored.ObservedGeneration != obs.apply.Generation {
			// A change the WorkspaceTemplateApply has not seen yet: an update if it was Ready.
			c.Reason = controlplanev1.WaitingForWorkspaceReason
			if mirrored != nil && mirrored.Status == metav1.ConditionTrue {
				c.Reason = controlplanev1.WorkspaceUpdatingReason
			}
			c.Message = fmt.Sprintf("WorkspaceTemplateApply %s has not reported on its current spec yet", obs.apply.Name)
			return c
		}
		c.Status, c.Reason = mirrored.Status, mirrored.Reason
		if mirrored.Message != "" {
			c.Message = fmt.Sprintf("WorkspaceTemplateApply %s: %s", obs.apply.Name, mirrored.Message)
		}
	}
	return c
}

func endpointReadyCondition(obs observation, cp *controlplanev1.CAPTControlPlane) metav1.Condition {
	switch {
	case obs.endpoint != nil:
		return metav1.Condition{Type: controlplanev1.EndpointReadyCondition, Status: metav1.ConditionFalse, Reason: obs.endpoint.reason, Message: obs.endpoint.message}
	case obs.endpointChecked && !obs.endpointPersisted:
		return metav1.Condition{Type: controlplanev1.EndpointReadyCondition, Status: metav1.ConditionFalse,
			Reason: controlplanev1.SettingEndpointReason, Message: "Writing spec.controlPlaneEndpoint"}
	case obs.endpointChecked || !cp.Spec.ControlPlaneEndpoint.IsZero():
		return metav1.Condition{Type: controlplanev1.EndpointReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ReadyReason}
	default:
		return metav1.Condition{Type: controlplanev1.EndpointReadyCondition, Status: metav1.ConditionFalse,
			Reason: controlplanev1.WaitingForWorkspaceReason, Message: "Waiting for the Workspace's outputs"}
	}
}

func secretsReadyCondition(obs observation) metav1.Condition {
	switch {
	case obs.secrets != nil:
		return metav1.Condition{Type: controlplanev1.SecretsReadyCondition, Status: metav1.ConditionFalse, Reason: obs.secrets.reason, Message: obs.secrets.message}
	case obs.secretsChecked:
		return metav1.Condition{Type: controlplanev1.SecretsReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ReadyReason}
	default:
		return metav1.Condition{Type: controlplanev1.SecretsReadyCondition, Status: metav1.ConditionFalse,
			Reason: controlplanev1.WaitingForWorkspaceReason, Message: "Waiting for the endpoint and the Workspace's outputs"}
	}
}

// availableCondition: the control plane serves when its endpoint and secrets are in
// place and its Workspace is Ready or applying a change (an upgrade keeps it serving).
// A failure is reported before anything that only waits, so that a failed apply, not
// the endpoint waiting for it, is what Available (and the Cluster's
// ControlPlaneAvailable, which Cluster API mirrors from it) says.
func availableCondition(ws, ep, secrets metav1.Condition) metav1.Condition {
	wsOK := ws.Status == metav1.ConditionTrue || ws.Reason == controlplanev1.WorkspaceUpdatingReason
	notOK := func(c metav1.Condition) bool {
		return c.Status != metav1.ConditionTrue && (c.Type != ws.Type || !wsOK)
	}
	all := []metav1.Condition{ep, secrets, ws}
	for _, failuresOnly := range []bool{true, false} {
		for _, c := range all {
			if notOK(c) && (!failuresOnly || isFailure(c)) {
				return metav1.Condition{Type: controlplanev1.AvailableCondition, Status: metav1.ConditionFalse, Reason: c.Reason, Message: c.Message}
			}
		}
	}
	return metav1.Condition{Type: controlplanev1.AvailableCondition, Status: metav1.ConditionTrue, Reason: controlplanev1.AvailableReason}
}

func readyCondition(available, ws metav1.Condition, versionApplied bool, version string) metav1.Condition {
	switch {
	case available.Status != metav1.ConditionTrue:
		return metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: available.Reason, Message: available.Message}
	case ws.Status != metav1.ConditionTrue:
		return metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: ws.Reason, Message: ws.Message}
	case !versionApplied:
		return metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: controlplanev1.WorkspaceUpdatingReason,
			Message: "Applying version " + version}
	}
	return metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ReadyReason}
}

func phase(initialized bool, ready metav1.Condition, all ...metav1.Condition) string {
	for _, c := range all {
		if isFailure(c) {
			return controlplanev1.PhaseFailed
		}
	}
	switch {
	case ready.Status == metav1.ConditionTrue:
		return controlplanev1.PhaseReady
	case initialized:
		return controlplanev1.PhaseUpdating
	default:
		return controlplanev1.PhaseCreating
	}
}

// setDeletingStatus says which step of CAPTEP-0041 deletion is running and what is left.
func setDeletingStatus(cp *controlplanev1.CAPTControlPlane, reason, message string) {
	conditions.Set(cp, metav1.Condition{Type: infrav1.DeletingCondition, Status: metav1.ConditionTrue, Reason: reason, Message: message})
	conditions.Set(cp, metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: infrav1.DeletingReason, Message: message})
	conditions.Set(cp, metav1.Condition{Type: controlplanev1.AvailableCondition, Status: metav1.ConditionFalse, Reason: infrav1.DeletingReason, Message: message})
	cp.Status.Ready = false
	cp.Status.Phase = controlplanev1.PhaseDeleting
	cp.Status.Endpoint = endpoint.HostPort(cp.Spec.ControlPlaneEndpoint.Host, cp.Spec.ControlPlaneEndpoint.Port)
}

// transition is an event for a condition that changed state.
type transition struct {
	eventType, reason, note string
}

// transitions lists one event per condition that changed: Normal when it became true,
// Warning when it became false for a failure. Waiting states make no event.
func transitions(before, after []metav1.Condition) []transition {
	var out []transition
	for _, t := range []string{controlplanev1.WorkspaceReadyCondition, controlplanev1.EndpointReadyCondition, controlplanev1.SecretsReadyCondition, controlplanev1.AvailableCondition} {
		b, a := find(before, t), find(after, t)
		if a == nil || (b != nil && b.Status == a.Status && b.Reason == a.Reason) {
			continue
		}
		switch {
		case a.Status == metav1.ConditionTrue && t == controlplanev1.AvailableCondition:
			// The other conditions turning true already have their event (EndpointSet,
			// SecretsWritten); one more per condition was a fifth of all writes at scale.
			out = append(out, transition{"Normal", t, "The control plane is available"})
		case isFailure(*a):
			out = append(out, transition{"Warning", a.Reason, fmt.Sprintf("%s is false: %s", t, a.Message)})
		}
	}
	return out
}

func find(cs []metav1.Condition, t string) *metav1.Condition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}

// emitTransitions records the events of this pass's transitions.
func (r *Reconciler) emitTransitions(before, after *controlplanev1.CAPTControlPlane) {
	for _, t := range transitions(before.Status.Conditions, after.Status.Conditions) {
		r.Recorder.Eventf(after, nil, t.eventType, t.reason, "Reconcile", "%s", t.note)
	}
}
