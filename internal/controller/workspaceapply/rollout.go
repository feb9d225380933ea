package workspaceapply

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/lifecycle"
	"github.com/capt-dev/capt/internal/workspace"
)

// The apply's half of a staged rollout (the template's controller allocates the slots):
// every Workspace CAPT writes carries the hash of its rendering (RolloutHashAnnotation);
// when the template has a rollout policy, a Workspace that exists and would change to
// another rendering is written only once the template's status holds a slot for this
// apply and exactly that rendering. Until then the apply waits (WaitingForRolloutSlot)
// and says in status.rollout.pendingHash what for. Creating a Workspace never waits (a
// new cluster gets the newest template at once), nor does deleting one.

// rolloutObservation is what a pass found of the apply's part in its template's rollout.
type rolloutObservation struct {
	// policy says the template has a rollout policy.
	policy bool
	// templateGeneration is the template's generation, for a canary; 0 for the others.
	templateGeneration int64
	// pendingHash is the rollout hash the apply waits a slot for, and waiting what Ready
	// says meanwhile.
	pendingHash, waiting string
	// slotted says the pass changes the Workspace's rendering with its slot.
	slotted bool
}

// observeRollout is what the template read says of the apply's rollout, before the gate.
// A canary records the template generation it rendered: until every canary has, the
// template's rollout gives the other applies no slot, whatever order their passes run in.
// An invalid selector selects nothing here; the template's rollout grants nothing then.
func observeRollout(tmpl *infrav1.WorkspaceTemplate, apply *infrav1.WorkspaceTemplateApply) rolloutObservation {
	if tmpl == nil || tmpl.Spec.Rollout == nil {
		return rolloutObservation{}
	}
	o := rolloutObservation{policy: true}
	if sel, err := metav1.LabelSelectorAsSelector(tmpl.Spec.Rollout.CanarySelector); err == nil && sel.Matches(labels.Set(apply.Labels)) {
		o.templateGeneration = tmpl.Generation
	}
	return o
}

// rolloutGate annotates desired with the hash of its rendering and says whether the
// apply must wait for a slot before it writes desired over current. It records in obs
// what the apply's status.rollout says. Run after the rendering and its checks, before
// anything else sets fields on desired (a protection variable, destroyArgs): those are
// not in the hash, so a change of them alone needs no slot.
func rolloutGate(tmpl *infrav1.WorkspaceTemplate, apply *infrav1.WorkspaceTemplateApply, desired, current *workspace.Workspace, obs *observation) (bool, error) {
	hash, err := rolloutHash(desired)
	if err != nil {
		return false, err
	}
	if desired.Annotations == nil {
		desired.Annotations = map[string]string{}
	}
	desired.Annotations[infrav1.RolloutHashAnnotation] = hash
	if tmpl.Spec.Rollout == nil {
		return false, nil
	}
	change, err := needsSlot(current, desired, hash)
	if err != nil || !change {
		return false, err
	}
	if slotHash(tmpl, apply) == hash {
		obs.rollout.slotted = true
		return false, nil
	}
	obs.rollout.pendingHash = hash
	obs.rollout.waiting = fmt.Sprintf("Waiting for a rollout slot of WorkspaceTemplate %s before changing Workspace %s "+
		"(the template's status.rollout shows the rollout)", templateKey(apply), obs.workspaceName)
	return true, nil
}

// rolloutHash is the hash of the Workspace as rendered: everything CAPT sets on it at
// this point, but the hashes it records.
func rolloutHash(desired *workspace.Workspace) (string, error) {
	u, err := desired.ToUnstructured()
	if err != nil {
		return "", err
	}
	return specHash(rendering(u))
}

// needsSlot says whether writing desired (whose rendering hashes to hash) over current
// is a change a rollout stages: the Workspace exists and was written with another
// rendering. A Workspace CAPT wrote before it recorded rollout hashes is compared field
// by field with the rendering: only a difference is a change.
func needsSlot(current, desired *workspace.Workspace, hash string) (bool, error) {
	if current == nil {
		return false, nil
	}
	if have, ok := current.Annotations[infrav1.RolloutHashAnnotation]; ok {
		return have != hash, nil
	}
	want, err := desired.ToUnstructured()
	if err != nil {
		return false, err
	}
	have, err := current.ToUnstructured()
	if err != nil {
		return false, err
	}
	return !contains(have.Object, rendering(want).Object), nil
}

// rendering is u without what is not CAPT's rendering: status, creation time, the
// resourceVersion a write may carry as a precondition, and the hashes CAPT records.
func rendering(u *unstructured.Unstructured) *unstructured.Unstructured {
	c := u.DeepCopy()
	delete(c.Object, "status")
	unstructured.RemoveNestedField(c.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(c.Object, "metadata", "resourceVersion")
	unstructured.RemoveNestedField(c.Object, "metadata", "annotations", infrav1.RolloutHashAnnotation)
	unstructured.RemoveNestedField(c.Object, "metadata", "annotations", infrav1.SpecHashAnnotation)
	return c
}

// slotHash is the rendering the template's rollout allows apply to write, "" when it
// holds no slot; read from the cache, which can only be behind: a slot it still shows
// was granted for that hash, and a slot is given back only once the apply's Workspace
// is Ready with it, so writing that rendering again changes nothing.
func slotHash(tmpl *infrav1.WorkspaceTemplate, apply *infrav1.WorkspaceTemplateApply) string {
	if tmpl.Status.Rollout == nil {
		return ""
	}
	key := client.ObjectKeyFromObject(apply).String()
	for _, s := range tmpl.Status.Rollout.Slots {
		if s.Apply == key {
			return s.Hash
		}
	}
	return ""
}

// markChangePending makes a provider that reports no generation (provider-terraform
// v0.21: its Ready stays True while it applies a new spec, and its conditions say
// nothing of which spec they are about) tell when it has acted on a new rendering CAPT
// writes under a rollout slot. Right before the write (after every step that may hold
// it back), the Workspace's Ready turns False and Synced Unknown, reason ChangePending,
// with current's resourceVersion as a precondition; the write itself (desired) then
// carries the resourceVersion this patch returned, so that the new spec lands on top of
// the mark or not at all (a conflict: the next pass starts again). Every version of the
// Workspace with the new spec therefore has the mark or the provider's later word. The
// provider's next status write, which only a reconcile that read the new spec can make
// (crossplane-runtime writes status with the resourceVersion it read), replaces both:
// Ready after its plan or apply succeeded, Synced False with its error after a failure.
// Without the mark the apply would report Ready, and give its slot back, before OpenTofu
// ran. A provider that reports generations needs none of it.
func (r *Reconciler) markChangePending(ctx context.Context, obs *observation, current, desired *workspace.Workspace) error {
	if (!obs.rollout.slotted && (obs.adoption == nil || !obs.adoption.changed)) || reportsGenerations(current) {
		return nil
	}
	now := metav1.Now()
	conds := []workspace.Condition{
		{Type: workspace.ConditionReady, Status: metav1.ConditionFalse, Reason: changePendingReason, LastTransitionTime: now,
			Message: "CAPT is writing a new rendering of the template; provider-terraform has not reported on it yet"},
		{Type: workspace.ConditionSynced, Status: metav1.ConditionUnknown, Reason: changePendingReason, LastTransitionTime: now},
	}
	for _, c := range current.Status.Conditions {
		if c.Type != workspace.ConditionReady && c.Type != workspace.ConditionSynced {
			conds = append(conds, c)
		}
	}
	var body changePendingPatch
	body.Metadata.ResourceVersion = current.ResourceVersion
	body.Status.Conditions = conds
	patch, err := json.Marshal(body)
	if err != nil {
		return err
	}
	u := r.API.NewObject()
	u.SetName(current.Name)
	u.SetNamespace(current.Namespace)
	if err := r.Client.Status().Patch(ctx, u, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("marking Workspace %s's change pending: %w", current.Name, err)
	}
	desired.ResourceVersion = u.GetResourceVersion()
	return nil
}

// changePendingPatch is markChangePending's merge patch of the Workspace's status: its
// conditions (a merge patch replaces the list whole), on the resourceVersion it read.
type changePendingPatch struct {
	Metadata struct {
		ResourceVersion string `json:"resourceVersion"`
	} `json:"metadata"`
	Status struct {
		Conditions []workspace.Condition `json:"conditions"`
	} `json:"status"`
}

// changePendingReason is the reason of the Ready and Synced conditions markChangePending
// sets on a Workspace, until its provider reports on the new spec.
const changePendingReason = "ChangePending"

// reportsGenerations says the Workspace's provider says which generation its conditions
// are about (crossplane-runtime v2, the simulated provider of the tests).
func reportsGenerations(w *workspace.Workspace) bool {
	if w.AppliedGeneration() > 0 {
		return true
	}
	c := w.Condition(workspace.ConditionSynced)
	return c != nil && c.ObservedGeneration > 0
}

// setRolloutStatus sets status.rollout while the template has a rollout policy: the
// hash of the Workspace as last written or read, the one waiting for a slot, and for a
// canary the template generation it rendered. A pass that did not read the template
// leaves it as it was.
func setRolloutStatus(apply *infrav1.WorkspaceTemplateApply, obs *observation) {
	if !obs.templateRead {
		return
	}
	if !obs.rollout.policy {
		apply.Status.Rollout = nil
		return
	}
	r := &infrav1.ApplyRolloutStatus{PendingHash: obs.rollout.pendingHash, TemplateGeneration: obs.rollout.templateGeneration}
	if obs.workspace != nil && !obs.ownedByOther {
		r.Hash = obs.workspace.Annotations[infrav1.RolloutHashAnnotation]
	}
	apply.Status.Rollout = r
}

// templateEvents maps a template's events to its applies: all of them when it is
// created, deleted, or changed beyond its status (as before rollouts); for a change of
// its status, only the applies whose slot it granted or moved, so that a grant wakes
// the apply it is for and not the whole fleet, and a template without a rollout wakes
// none.
func (r *Reconciler) templateEvents() handler.EventHandler {
	all := handler.EnqueueRequestsFromMapFunc(r.byIndex(templateIndex))
	beyondStatus := lifecycle.ChangedBeyondStatus()
	return handler.Funcs{
		CreateFunc:  all.Create,
		DeleteFunc:  all.Delete,
		GenericFunc: all.Generic,
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if beyondStatus.Update(e) {
				all.Update(ctx, e, q)
				return
			}
			oldT, ok1 := e.ObjectOld.(*infrav1.WorkspaceTemplate)
			newT, ok2 := e.ObjectNew.(*infrav1.WorkspaceTemplate)
			if !ok1 || !ok2 {
				return
			}
			for _, key := range grantedSlots(oldT, newT) {
				q.Add(reconcile.Request{NamespacedName: key})
			}
		},
	}
}

// grantedSlots are the applies whose slot newT holds and oldT did not, or held for
// another rendering.
func grantedSlots(oldT, newT *infrav1.WorkspaceTemplate) []types.NamespacedName {
	if newT.Status.Rollout == nil {
		return nil
	}
	before := map[string]string{}
	if oldT.Status.Rollout != nil {
		for _, s := range oldT.Status.Rollout.Slots {
			before[s.Apply] = s.Hash
		}
	}
	var keys []types.NamespacedName
	for _, s := range newT.Status.Rollout.Slots {
		if h, ok := before[s.Apply]; ok && h == s.Hash {
			continue
		}
		if ns, name, ok := strings.Cut(s.Apply, "/"); ok {
			keys = append(keys, types.NamespacedName{Namespace: ns, Name: name})
		}
	}
	return keys
}
