package controlplane

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cluster-api/util/conditions"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/childapply"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/endpoint"
)

// isFailure says c reports something wrong, as opposed to not done yet or not checked.
func isFailure(c metav1.Condition) bool {
	return c.Status == metav1.ConditionFalse &&
		(slices.Contains(controlplanev1.FailureReasons, c.Reason) || childapply.IsFailure(c.Reason))
}

// setStatus writes every status field from the pass's scope. Ready and an error never
// coexist: Ready is computed from the same conditions that carry the errors. A condition
// the pass could not check is Unknown; Available, Ready and the contract's fields then
// keep what they said, so that a transient failure never reaches the Cluster.
func setStatus(s *scope) {
	if s.Finished {
		return
	}
	cp := s.cp
	cp.Status.ExternalManagedControlPlane = ptr.To(true)
	cp.Status.Endpoint = endpoint.HostPort(cp.Spec.ControlPlaneEndpoint.Host, cp.Spec.ControlPlaneEndpoint.Port)
	if !cp.DeletionTimestamp.IsZero() {
		setDeletingStatus(s)
		return
	}
	wsReady := workspaceReadyCondition(s)
	endpointReady := endpointReadyCondition(s)
	secretsReady := secretsReadyCondition(s)
	tokenReady := tokenReadyCondition(s)
	for _, c := range []metav1.Condition{wsReady, endpointReady, secretsReady, tokenReady} {
		conditions.Set(cp, c)
	}
	if s.eksOutputs != nil {
		cp.Status.EKS = eksStatus(s.eksOutputs, WantedAddons(cp), s.heldAddons)
	}
	if s.published != nil && s.published.kubeconfig != nil {
		cp.Status.Kubeconfig = s.published.kubeconfig
	}
	conditions.Set(cp, metav1.Condition{Type: infrav1.DeletingCondition, Status: metav1.ConditionFalse, Reason: infrav1.NotDeletingReason})
	if !observed.IsUnknown(secretsReady) {
		cp.Status.SecretsReady = secretsReady.Status == metav1.ConditionTrue
	}
	initialized := ptr.Deref(cp.Status.Initialization.ControlPlaneInitialized, false) ||
		endpointReady.Status == metav1.ConditionTrue && secretsReady.Status == metav1.ConditionTrue
	cp.Status.Initialization.ControlPlaneInitialized = ptr.To(initialized)
	cp.Status.Initialized = initialized
	if s.runningVersion != "" {
		cp.Status.Version = s.runningVersion
	}
	rollingOut := rollingOutCondition(initialized, cp.Spec.Version, cp.Status.Version, s.applyingVersion, s.versionUnconfirmed)
	conditions.Set(cp, rollingOut)
	if observed.AnyUnknown(wsReady, endpointReady, secretsReady, tokenReady) {
		observed.Keep(cp, controlplanev1.AvailableCondition, wsReady, endpointReady, secretsReady)
		observed.Keep(cp, infrav1.ReadyCondition, wsReady, endpointReady, secretsReady, tokenReady)
		return
	}
	available := availableCondition(wsReady, endpointReady, secretsReady)
	ready := readyCondition(available, wsReady, tokenReady, rollingOut, cp.Status.Version == cp.Spec.Version, cp.Spec.Version)
	conditions.Set(cp, available)
	conditions.Set(cp, ready)
	cp.Status.Ready = available.Status == metav1.ConditionTrue
	cp.Status.Phase = phase(initialized, ready, wsReady, endpointReady, secretsReady, tokenReady)
}

func workspaceReadyCondition(s *scope) metav1.Condition {
	c := metav1.Condition{Type: controlplanev1.WorkspaceReadyCondition, Status: metav1.ConditionFalse}
	switch {
	case s.waitingForInfra != "":
		c.Reason, c.Message = controlplanev1.WaitingForInfrastructureReason, "Waiting for "+s.waitingForInfra
	case s.apply == nil && s.Err != nil:
		return observed.Unknown(c.Type, s.Err)
	case s.apply == nil:
		c.Reason, c.Message = controlplanev1.WaitingForWorkspaceReason, "WorkspaceTemplateApply not created yet"
	default:
		mirrored := childapply.Ready(s.apply)
		if mirrored == nil {
			// A change the WorkspaceTemplateApply has not seen yet: an update if it was Ready.
			c.Reason = controlplanev1.WaitingForWorkspaceReason
			if conditions.IsTrue(s.apply, infrav1.ReadyCondition) {
				c.Reason = controlplanev1.WorkspaceUpdatingReason
			}
			c.Message = childapply.WaitMessage(s.apply)
			return c
		}
		if mirrored.Status == metav1.ConditionFalse && !childapply.IsFailure(mirrored.Reason) && !ptr.Deref(s.cp.Status.Initialization.ControlPlaneInitialized, false) {
			// Still creating: the same wait as before the apply reported, whatever step it
			// is at (the apply's conditions name it).
			c.Reason, c.Message = controlplanev1.WaitingForWorkspaceReason, childapply.WaitMessage(s.apply)
			return c
		}
		c.Status, c.Reason = mirrored.Status, mirrored.Reason
		if mirrored.Message != "" {
			c.Message = fmt.Sprintf("WorkspaceTemplateApply %s: %s", s.apply.Name, mirrored.Message)
		}
		if len(s.heldAddons) > 0 && c.Message == "" {
			c.Message = heldAddonsMessage(s.heldAddons)
		}
	}
	return c
}

// heldAddonsMessage says which add-ons wait for Nodes, on a Workspace that is otherwise
// applied.
func heldAddonsMessage(held []string) string {
	return fmt.Sprintf("Add-ons %s wait for the Cluster's first node group: without Nodes EKS reports them degraded", strings.Join(held, ", "))
}

func endpointReadyCondition(s *scope) metav1.Condition {
	switch {
	case s.endpointProblem != nil:
		return metav1.Condition{Type: controlplanev1.EndpointReadyCondition, Status: metav1.ConditionFalse, Reason: s.endpointProblem.Reason, Message: s.endpointProblem.Message}
	case s.endpointChecked:
		return metav1.Condition{Type: controlplanev1.EndpointReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ReadyReason}
	case s.Err != nil:
		return observed.Unknown(controlplanev1.EndpointReadyCondition, s.Err)
	case !s.cp.Spec.ControlPlaneEndpoint.IsZero():
		// Set by an earlier pass; this one stopped before the outputs (a wait).
		return metav1.Condition{Type: controlplanev1.EndpointReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ReadyReason}
	default:
		return metav1.Condition{Type: controlplanev1.EndpointReadyCondition, Status: metav1.ConditionFalse,
			Reason: controlplanev1.WaitingForWorkspaceReason, Message: "Waiting for the Workspace's outputs"}
	}
}

func secretsReadyCondition(s *scope) metav1.Condition {
	p := s.published
	switch {
	case p != nil && p.problem != nil:
		return metav1.Condition{Type: controlplanev1.SecretsReadyCondition, Status: metav1.ConditionFalse, Reason: p.problem.Reason, Message: p.problem.Message}
	case p != nil && p.checked:
		return metav1.Condition{Type: controlplanev1.SecretsReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ReadyReason}
	case s.Err != nil:
		return observed.Unknown(controlplanev1.SecretsReadyCondition, s.Err)
	default:
		return metav1.Condition{Type: controlplanev1.SecretsReadyCondition, Status: metav1.ConditionFalse,
			Reason: controlplanev1.WaitingForWorkspaceReason, Message: "Waiting for the endpoint and the Workspace's outputs"}
	}
}

// tokenReadyCondition says where the kubeconfig's credentials come from and whether the
// EKS token is current. Its message names no time, so a refresh changes no status. A
// pass that did not get to the secrets keeps what an earlier pass found: the published
// secret is still there.
func tokenReadyCondition(s *scope) metav1.Condition {
	c := metav1.Condition{Type: controlplanev1.TokenReadyCondition, Status: metav1.ConditionTrue}
	p := s.published
	if p == nil {
		p = &published{}
	}
	switch {
	case p.tokenProblem != nil:
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, p.tokenProblem.Reason, p.tokenProblem.Message
	case p.kubeconfig != nil && p.kubeconfig.Source == controlplanev1.KubeconfigSourceModule:
		c.Reason, c.Message = controlplanev1.KubeconfigFromModuleReason, fmt.Sprintf(
			"The module outputs its own kubeconfig (%v), published as is: CAPT mints no token", controlplanev1.KubeconfigOutputs)
	case p.kubeconfig != nil:
		c.Reason, c.Message = controlplanev1.TokenMintedReason, fmt.Sprintf(
			"The kubeconfig carries a token for EKS cluster %s signed with %s, replaced every %s", p.eksName, p.kubeconfig.Identity, p.tokenInterval)
	case s.Err != nil:
		return observed.Unknown(c.Type, s.Err)
	default:
		if kept := conditions.Get(s.cp, c.Type); kept != nil {
			return *kept
		}
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, controlplanev1.WaitingForWorkspaceReason, "Waiting for the endpoint and the Workspace's outputs"
	}
	return c
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

// readyCondition: available, its Workspace Ready, its token current, and running spec.version (rollingOut
// says where an upgrade is).
func readyCondition(available, ws, token, rollingOut metav1.Condition, versionApplied bool, version string) metav1.Condition {
	switch {
	case available.Status != metav1.ConditionTrue:
		return metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: available.Reason, Message: available.Message}
	case token.Status != metav1.ConditionTrue:
		// The published token still works until it expires; the control plane serves
		// (Available) but is not well.
		return metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: token.Reason, Message: token.Message}
	case ws.Status != metav1.ConditionTrue:
		return metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: ws.Reason, Message: ws.Message}
	case !versionApplied && rollingOut.Status == metav1.ConditionTrue:
		return metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: controlplanev1.RollingOutReason, Message: rollingOut.Message}
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

// setDeletingStatus says which step of CAPTEP-0041 deletion the pass reached, and how it
// failed if it did. The control plane stops being available the moment deletion starts.
func setDeletingStatus(s *scope) {
	cp := s.cp
	observed.SetDeleting(cp, s.Deletion, s.Err, controlplanev1.AvailableCondition)
	cp.Status.Initialization.ControlPlaneInitialized = nil
	cp.Status.Initialized = false
	cp.Status.Ready = false
	cp.Status.Phase = controlplanev1.PhaseDeleting
}

// transition is an event for a condition that changed state.
type transition struct {
	eventType, reason, note string
}

// transitions lists one event per condition that changed: Normal when it became true,
// Warning when it became false for a failure. Waiting states make no event.
func transitions(before, after []metav1.Condition, url string) []transition {
	var out []transition
	for _, t := range []string{controlplanev1.WorkspaceReadyCondition, controlplanev1.EndpointReadyCondition, controlplanev1.SecretsReadyCondition, controlplanev1.TokenReadyCondition, controlplanev1.AvailableCondition} {
		b, a := meta.FindStatusCondition(before, t), meta.FindStatusCondition(after, t)
		if a == nil || (b != nil && b.Status == a.Status && b.Reason == a.Reason) {
			continue
		}
		switch {
		case a.Status == metav1.ConditionTrue && t == controlplanev1.AvailableCondition:
			// The one event of a creation that went well: the cluster can be used. The
			// steps before it (apply created, endpoint set, secrets written) are in the
			// conditions; an event each was a seventh of all writes at scale.
			out = append(out, transition{"Normal", t, "The control plane is available at " + url})
		case isFailure(*a):
			out = append(out, transition{"Warning", a.Reason, fmt.Sprintf("%s is false: %s", t, a.Message)})
		}
	}
	return out
}

// emitTransitions records the events of this pass's transitions.
func (r *Reconciler) emitTransitions(before, after *controlplanev1.CAPTControlPlane) {
	ep := after.Spec.ControlPlaneEndpoint
	for _, t := range transitions(before.Status.Conditions, after.Status.Conditions, endpoint.URL(ep.Host, ep.Port)) {
		r.Recorder.Eventf(after, nil, t.eventType, t.reason, "Reconcile", "%s", t.note)
	}
}
