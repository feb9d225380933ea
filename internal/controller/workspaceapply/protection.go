package workspaceapply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cluster-api/util/conditions"
	ctrl "sigs.k8s.io/controller-runtime"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// No destroy or replace without approval (docs/architecture.md, "Protected resources").
// A protected template's module guards resources with
// lifecycle { prevent_destroy = var.<variable> }; the renderer sets the variable true,
// and -var=<variable>=false in destroyArgs so that a deletion's destroy goes through.
// provider-terraform plans before it applies, so a change that would destroy or replace
// such a resource fails at plan and nothing is applied: its Workspace reports Synced
// False with OpenTofu's refusal, which names each resource instance. The apply shows the
// change (DestructiveChangePending, status.destructiveChange) and renders the variable
// false only when the approval annotation carries the change's hash, until the
// Workspace is Ready; then the variable is true again.
//
// provider-terraform v0.21 says of no condition which generation of the Workspace it is
// about, and a plan that fails as the one before leaves the Workspace untouched. So a
// refusal on a Workspace CAPT has just written could be the previous spec's: approved,
// it would let through a plan of the new spec that destroys more than was shown. Before
// it shows a change that can be approved, CAPT pauses the Workspace (Crossplane's pause
// annotation) and lifts the pause once provider-terraform reports ReconcilePaused: the
// refusal read after that is of a plan of the current spec. (Its status writes carry the
// resourceVersion they read, so a reconcile of an older spec cannot land after CAPT's
// write.) That costs two Workspace writes per refused change, none for others.
//
// Where the protection stands is recorded on the Workspace itself
// (ProtectionAnnotation: state and spec hash, written with the spec), so a restart
// resumes where it was:
const (
	// protectedState: the spec was written with the variable true; a refusal shown
	// may predate it.
	protectedState = "protected"
	// pausedState: CAPT paused the Workspace, and waits for provider-terraform to say
	// so (Synced reason ReconcilePaused).
	pausedState = "paused"
	// resumedState: the pause was lifted after provider-terraform saw it: every refusal
	// from now on is of this spec.
	resumedState = "resumed"
	// approvedState: the approval named the change; the variable is false until the
	// Workspace is Ready.
	approvedState = "approved"
)

// reconcilePausedReason is crossplane-runtime's Synced reason for a paused resource.
const reconcilePausedReason = "ReconcilePaused"

// Phases of a protected apply, as its status shows them.
const (
	phaseNone       = ""
	phaseConfirming = "confirming"
	phasePending    = "pending"
	phaseApproved   = "approved"
)

// marker is the ProtectionAnnotation's value: "<state>:<spec hash>[:<change hash>]".
type marker struct {
	state, spec, change string
}

func parseMarker(s string) marker {
	parts := strings.SplitN(s, ":", 3)
	m := marker{state: parts[0]}
	if len(parts) > 1 {
		m.spec = parts[1]
	}
	if len(parts) > 2 {
		m.change = parts[2]
	}
	return m
}

func (m marker) String() string {
	if m.change != "" {
		return m.state + ":" + m.spec + ":" + m.change
	}
	return m.state + ":" + m.spec
}

// protectionInput is what a pass knows for the decision.
type protectionInput struct {
	// spec is the hash of the rendered spec (with the variable true).
	spec string
	// exists says the Workspace exists; marker and the rest are then read from it.
	exists bool
	marker marker
	// synced is the Workspace's Synced condition, nil when none.
	synced *workspace.Condition
	// applied says the Workspace applied its spec (Ready, and its last reconcile
	// succeeded).
	applied bool
	// pausedByOther says someone else paused the Workspace.
	pausedByOther bool
	// approval is the apply's approval annotation, "" when none.
	approval string
	// previous is the change the apply's status records, nil when none.
	previous *infrav1.DestructiveChange
}

// protectionDecision is what the pass writes on the Workspace and says on the apply.
type protectionDecision struct {
	marker  marker
	protect bool
	pause   bool
	phase   string
	// change is the change held back (not yet redacted); nil in phaseNone.
	change *infrav1.DestructiveChange
	// complete is false when the refusal's addresses could not all be read.
	complete bool
}

// decideProtection is the state machine of a protected Workspace, a pure function of
// what the pass read: which marker, which variable value and whether the pause to
// write, and what the apply says.
func decideProtection(in protectionInput) protectionDecision {
	m := in.marker
	protected := protectionDecision{marker: marker{state: protectedState, spec: in.spec}, protect: true}
	if !in.exists || m.spec != in.spec {
		// A new Workspace or a new spec: protected; an approval of another spec lapses.
		return protected
	}
	var refusal *workspace.Refusal
	if in.synced != nil && in.synced.Status == metav1.ConditionFalse {
		refusal = workspace.PreventedDestroy(in.synced.Message)
	}
	switch m.state {
	case approvedState:
		if in.applied {
			// The approved change is applied: the variable is true again (a plan without
			// any change).
			return protected
		}
		change := &infrav1.DestructiveChange{Hash: m.change, SpecHash: in.spec, Approved: true}
		if in.previous != nil && in.previous.Hash == m.change {
			change.Addresses = in.previous.Addresses
		}
		return protectionDecision{marker: m, protect: false, phase: phaseApproved, change: change, complete: true}
	case pausedState:
		d := protectionDecision{marker: m, protect: true, pause: true, phase: phaseConfirming, change: unconfirmed(in, refusal)}
		if in.synced != nil && in.synced.Reason == reconcilePausedReason {
			// provider-terraform saw the pause: lift it; its next plan is of this spec.
			d.marker, d.pause = marker{state: resumedState, spec: in.spec}, false
		}
		return d
	case resumedState:
		if refusal == nil {
			return protectionDecision{marker: m, protect: true}
		}
		change := &infrav1.DestructiveChange{Addresses: refusal.Addresses, SpecHash: in.spec}
		if refusal.Complete {
			change.Hash = changeHash(in.spec, refusal.Addresses, in.synced.LastTransitionTime.Time)
		}
		if change.Hash != "" && strings.TrimSpace(in.approval) == change.Hash {
			change.Approved = true
			return protectionDecision{marker: marker{state: approvedState, spec: in.spec, change: change.Hash},
				protect: false, phase: phaseApproved, change: change, complete: true}
		}
		return protectionDecision{marker: m, protect: true, phase: phasePending, change: change, complete: refusal.Complete}
	default:
		if refusal == nil {
			return protected
		}
		confirming := protectionDecision{marker: protected.marker, protect: true, phase: phaseConfirming, change: unconfirmed(in, refusal)}
		if in.pausedByOther {
			// Someone else's pause is waited out: CAPT's own, lifted later, would lift
			// theirs with it.
			return confirming
		}
		// A refusal, perhaps of an earlier spec: confirm it with a plan of this one.
		confirming.marker, confirming.pause = marker{state: pausedState, spec: in.spec}, true
		return confirming
	}
}

// unconfirmed is the change shown while CAPT confirms a refusal: its addresses as last
// read, nothing to approve.
func unconfirmed(in protectionInput, refusal *workspace.Refusal) *infrav1.DestructiveChange {
	change := &infrav1.DestructiveChange{SpecHash: in.spec}
	switch {
	case refusal != nil:
		change.Addresses = refusal.Addresses
	case in.previous != nil && in.previous.SpecHash == in.spec:
		change.Addresses = in.previous.Addresses
	}
	return change
}

// changeHash names a refused change: the spec, the addresses, and when the plan first
// refused them (the Synced condition's transition), so that the same refusal met again
// later, after the approved one was applied, is another change to approve.
func changeHash(spec string, addresses []string, since time.Time) string {
	// JSON: one encoding per list, whatever the addresses hold.
	b, _ := json.Marshal([]any{spec, since.UTC().Format(time.RFC3339), addresses})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// renderedSpecHash is a hash of the rendered spec: what Terraform is given.
func renderedSpecHash(desired *workspace.Workspace) (string, error) {
	b, err := json.Marshal(desired.Spec)
	if err != nil {
		return "", fmt.Errorf("hashing the rendered Workspace spec: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8]), nil
}

// protection is what the pass found of a protected template's Workspace, for the status.
type protection struct {
	// declared says the template declares spec.protection.
	declared bool
	variable string
	phase    string
	change   *infrav1.DestructiveChange
	complete bool
	// approval is the apply's approval annotation when it names no pending change.
	strayApproval string
}

// protect applies the protection of a template declaring spec.protection to the desired
// Workspace: the variable's value, the marker and CAPT's pause. It runs after every gate
// that may hold a change back, on the Workspace about to be written, and changes only
// the variable and the Workspace's annotations, never what a rollout compares. problem is
// an Inline module that does not declare the variable: a deletion's destroy would then
// fail on its -var.
func (r *Reconciler) protect(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, tmpl *infrav1.WorkspaceTemplate,
	desired, current *workspace.Workspace, obs *observation) (*observed.Problem, error) {
	if tmpl.Spec.Protection == nil {
		obs.protection = &protection{}
		return nil, nil
	}
	variable := tmpl.Spec.Protection.Variable
	if p := r.undeclaredProtection(templateKey(apply), desired.Spec.ForProvider, variable); p != nil {
		return p, nil
	}
	spec, err := renderedSpecHash(desired)
	if err != nil {
		return nil, err
	}
	in := protectionInput{spec: spec, exists: current != nil, approval: apply.Annotations[infrav1.ApproveDestructiveChangeAnnotation],
		previous: apply.Status.DestructiveChange}
	if current != nil {
		in.marker = parseMarker(current.Annotations[infrav1.ProtectionAnnotation])
		in.synced = current.Condition(workspace.ConditionSynced)
		in.applied = current.IsReady()
		in.pausedByOther = current.Annotations[infrav1.CrossplanePausedAnnotation] == "true" && in.marker.state != pausedState
	}
	d := decideProtection(in)
	if err := render.SetProtection(&desired.Spec.ForProvider, variable, d.protect); err != nil {
		return nil, err
	}
	desired.Annotations[infrav1.ProtectionAnnotation] = d.marker.String()
	if d.pause {
		desired.Annotations[infrav1.CrossplanePausedAnnotation] = "true"
	}
	if d.marker != in.marker && in.exists {
		ctrl.LoggerFrom(ctx).V(2).Info("Protection of the Workspace", "workspace", obs.workspaceName, "from", in.marker.state, "to", d.marker.state)
	}
	obs.protection = &protection{declared: true, variable: variable, phase: d.phase, change: d.change, complete: d.complete}
	if a := in.approval; a != "" && (d.change == nil || a != d.change.Hash) {
		obs.protection.strayApproval = a
	}
	return nil, nil
}

// undeclaredProtection is the problem of an Inline module that does not declare the
// protection variable: the destroy's -var=<variable>=false would be refused ("Value for
// undeclared variable"), and no deletion would go through. A Remote module is not read.
func (r *Reconciler) undeclaredProtection(key fmt.Stringer, p infrav1.WorkspaceParameters, variable string) *observed.Problem {
	if p.Source != "Inline" {
		return nil
	}
	module, err := r.modules.parse(p.InlineFormat, p.Module)
	if err != nil || len(module.Undeclared([]string{variable})) == 0 {
		// A module that does not parse is reported by TemplateValid already.
		return nil
	}
	return &observed.Problem{Reason: infrav1.TemplateInvalidReason, Message: fmt.Sprintf(
		"WorkspaceTemplate %s declares spec.protection.variable %s, which its Inline module does not declare: "+
			"a destroy would be refused (Value for undeclared variable)", key, variable)}
}

// liftProtectionPause lifts CAPT's own pause from a Workspace about to be destroyed:
// provider-terraform destroys nothing while it is paused.
func (r *Reconciler) liftProtectionPause(ctx context.Context, w *workspace.Workspace) error {
	if parseMarker(w.Annotations[infrav1.ProtectionAnnotation]).state != pausedState || w.Annotations[infrav1.CrossplanePausedAnnotation] != "true" {
		return nil
	}
	if err := r.annotateWorkspace(ctx, w, map[string]any{
		infrav1.CrossplanePausedAnnotation: nil,
		infrav1.ProtectionAnnotation:       marker{state: protectedState, spec: parseMarker(w.Annotations[infrav1.ProtectionAnnotation]).spec}.String(),
	}); err != nil {
		return fmt.Errorf("lifting CAPT's pause of Workspace %s before its destroy: %w", w.Name, err)
	}
	return nil
}

// maxListedAddresses bounds the addresses a message names; the status lists them all.
const maxListedAddresses = 10

// setProtectionStatus writes DestructiveChangePending and status.destructiveChange. A
// pass that did not get to the protection (its template unread, a gate holding it)
// leaves them as they were.
func setProtectionStatus(apply *infrav1.WorkspaceTemplateApply, obs *observation) {
	p := obs.protection
	if p == nil {
		return
	}
	if !p.declared {
		conditions.Delete(apply, infrav1.DestructiveChangePendingCondition)
		apply.Status.DestructiveChange = nil
		return
	}
	var change *infrav1.DestructiveChange
	if p.change != nil {
		change = p.change.DeepCopy()
		for i, a := range change.Addresses {
			change.Addresses[i] = obs.redactor.Message(a)
		}
	}
	apply.Status.DestructiveChange = change
	c := metav1.Condition{Type: infrav1.DestructiveChangePendingCondition, Status: metav1.ConditionFalse, Reason: infrav1.NoDestructiveChangeReason}
	switch p.phase {
	case phaseConfirming:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, infrav1.ConfirmingDestructiveChangeReason, p.confirmingMessage(obs)
	case phasePending:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, infrav1.DestructiveChangePendingReason, p.pendingMessage(apply, obs)
	case phaseApproved:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, infrav1.DestructiveChangeApprovedReason, p.approvedMessage(obs)
	}
	conditions.Set(apply, c)
	if held, ok := protectionReady(apply, obs); ok {
		obs.held = &held
	}
}

// endProtection says, on an apply being deleted, that nothing waits for an approval
// any more: the destroy is never protected.
func endProtection(apply *infrav1.WorkspaceTemplateApply) {
	apply.Status.DestructiveChange = nil
	if conditions.Has(apply, infrav1.DestructiveChangePendingCondition) {
		conditions.Set(apply, metav1.Condition{Type: infrav1.DestructiveChangePendingCondition, Status: metav1.ConditionFalse,
			Reason: infrav1.NoDestructiveChangeReason, Message: "Being deleted: the destroy is not protected"})
	}
}

func (p *protection) confirmingMessage(obs *observation) string {
	return obs.redactor.Message(fmt.Sprintf(
		"provider-terraform's last plan of Workspace %s would destroy or replace protected resources (%s); "+
			"CAPT is having it plan the current spec again (a pause of the Workspace) before it shows the change to approve",
		obs.workspaceName, listAddresses(p.change)))
}

func (p *protection) pendingMessage(apply *infrav1.WorkspaceTemplateApply, obs *observation) string {
	if p.change.Hash == "" {
		return obs.redactor.Message(fmt.Sprintf(
			"Workspace %s: a change would destroy or replace protected resources, more than CAPT could read from OpenTofu's error, "+
				"so it cannot be approved; change the template or variables so that it destroys fewer: %s",
			obs.workspaceName, listAddresses(p.change)))
	}
	msg := fmt.Sprintf("Workspace %s: change %s would destroy or replace protected resources (prevent_destroy on variable %s); "+
		"approve it with: kubectl annotate workspacetemplateapply -n %s %s %s=%s --overwrite; it would destroy or replace: %s",
		obs.workspaceName, p.change.Hash, p.variable, apply.Namespace, apply.Name, infrav1.ApproveDestructiveChangeAnnotation, p.change.Hash,
		listAddresses(p.change))
	if p.strayApproval != "" {
		msg = fmt.Sprintf("annotation %s (%s) names another change and approves nothing. %s", infrav1.ApproveDestructiveChangeAnnotation, p.strayApproval, msg)
	}
	return obs.redactor.Message(msg)
}

func (p *protection) approvedMessage(obs *observation) string {
	return obs.redactor.Message(fmt.Sprintf(
		"Change %s was approved: Workspace %s runs without protection until it is Ready, then protection comes back; it destroys or replaces: %s",
		p.change.Hash, obs.workspaceName, listAddresses(p.change)))
}

// listAddresses names the first addresses, and how many more.
func listAddresses(change *infrav1.DestructiveChange) string {
	if change == nil || len(change.Addresses) == 0 {
		return "addresses not known"
	}
	a := change.Addresses
	if len(a) <= maxListedAddresses {
		return strings.Join(a, ", ")
	}
	return fmt.Sprintf("%s and %d more (status.destructiveChange.addresses)", strings.Join(a[:maxListedAddresses], ", "), len(a)-maxListedAddresses)
}

// protectionReady is the apply's Ready while a protected change is held back: a wait
// that says why (confirming it, waiting for the approval, or applying an approved
// change the Workspace still refuses), not the Workspace's failure. ok is false when
// the protection holds nothing back. A pass that did not get to the protection reads
// what the apply said before.
func protectionReady(apply *infrav1.WorkspaceTemplateApply, obs *observation) (metav1.Condition, bool) {
	w := obs.workspace
	if w == nil || w.IsReady() {
		return metav1.Condition{}, false
	}
	phase, message := phaseNone, ""
	if p := obs.protection; p != nil {
		if !p.declared {
			return metav1.Condition{}, false
		}
		phase = p.phase
	} else if c := conditions.Get(apply, infrav1.DestructiveChangePendingCondition); c != nil && c.Status == metav1.ConditionTrue {
		phase, message = map[string]string{infrav1.ConfirmingDestructiveChangeReason: phaseConfirming,
			infrav1.DestructiveChangePendingReason: phasePending, infrav1.DestructiveChangeApprovedReason: phaseApproved}[c.Reason], c.Message
	}
	if message == "" {
		if c := conditions.Get(apply, infrav1.DestructiveChangePendingCondition); c != nil {
			message = c.Message
		}
	}
	ready := metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse}
	synced := w.Condition(workspace.ConditionSynced)
	refused := synced != nil && synced.Status == metav1.ConditionFalse && workspace.PreventedDestroy(synced.Message) != nil
	switch {
	case phase == phasePending:
		ready.Reason = infrav1.DestructiveChangePendingReason
	case phase == phaseConfirming:
		ready.Reason = infrav1.ConfirmingDestructiveChangeReason
	case phase == phaseApproved && (refused || synced == nil || synced.Status != metav1.ConditionFalse):
		// Still the refusal of before the approval, or not reported yet: a wait. A
		// failure of the approved run is the Workspace's failure.
		ready.Reason = infrav1.DestructiveChangeApprovedReason
	default:
		return metav1.Condition{}, false
	}
	ready.Message = message
	return ready, true
}
