package workspaceapply

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/cluster-api/util/conditions"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// Drift reverted (docs/workspaces.md, docs/architecture.md). provider-terraform v0.21.2
// plans every Workspace at each poll and applies any difference in the same reconcile,
// recording one UpdatedExternalResource event per successful apply; client-go's recorder
// keeps one Event object per Workspace and provider process and patches its count. An
// apply is either the first one after a change of the Workspace's spec (a new
// generation) or one no spec change explains: something outside Terraform changed what
// the module manages or reads, and Terraform set it back. Each generation explains at
// most one apply, so an apply counts as drift only when the updates seen since the last
// accounting outnumber the generations since then: an exact lower bound, whatever the
// order in which the two watches deliver them.

// +kubebuilder:rbac:groups="",resources=events,verbs=list;watch

// involvedUIDIndex indexes the provider's update events by the Workspace they are about.
const involvedUIDIndex = "involvedObject.uid"

// maxAccountedEvents bounds status.drift.accounted.events (the CRD's maxItems): one Event
// per provider process that updated the Workspace within the API server's event TTL (1 h
// by default). Past it the oldest are forgotten, and each would count once if updated again.
const maxAccountedEvents = 16

// driftEvents starts a cache of the provider's update events only (field selectors on
// reason and source, in the namespaces they are recorded in: "default" for cluster-scoped
// Workspaces, as client-go records events of cluster-scoped objects there), indexed by
// Workspace, and returns the source that maps them to their applies. The manager's own
// cache would hold every Event of the cluster.
func (r *Reconciler) driftEvents(ctx context.Context, mgr ctrl.Manager) (source.Source, error) {
	namespaces := map[string]cache.Config{cache.AllNamespaces: {}}
	switch {
	case !r.API.Namespaced():
		namespaces = map[string]cache.Config{metav1.NamespaceDefault: {}}
	case r.WatchNamespace != "":
		namespaces = map[string]cache.Config{r.WatchNamespace: {}}
	}
	events, err := cache.New(mgr.GetConfig(), cache.Options{
		HTTPClient: mgr.GetHTTPClient(), Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(),
		DefaultNamespaces: namespaces,
		ByObject: map[client.Object]cache.ByObject{&corev1.Event{}: {Field: fields.SelectorFromSet(fields.Set{
			"reason": workspace.EventReasonUpdated, "source": r.API.EventSource(),
		})}},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the cache of the provider's update events: %w", err)
	}
	if err := events.IndexField(ctx, &corev1.Event{}, involvedUIDIndex, func(o client.Object) []string {
		return []string{string(o.(*corev1.Event).InvolvedObject.UID)}
	}); err != nil {
		return nil, fmt.Errorf("indexing the provider's update events: %w", err)
	}
	if err := mgr.Add(events); err != nil {
		return nil, fmt.Errorf("adding the cache of the provider's update events: %w", err)
	}
	r.events = events
	// A new update event or a higher count brings a pass; an Event's expiry does not.
	counted := predicate.TypedFuncs[*corev1.Event]{
		CreateFunc: func(e event.TypedCreateEvent[*corev1.Event]) bool { return r.API.IsUpdateEvent(e.Object) },
		UpdateFunc: func(e event.TypedUpdateEvent[*corev1.Event]) bool {
			return r.API.IsUpdateEvent(e.ObjectNew) && e.ObjectNew.Count != e.ObjectOld.Count
		},
		DeleteFunc:  func(event.TypedDeleteEvent[*corev1.Event]) bool { return false },
		GenericFunc: func(event.TypedGenericEvent[*corev1.Event]) bool { return false },
	}
	return source.Kind(events, &corev1.Event{}, handler.TypedEnqueueRequestsFromMapFunc(r.eventToApply), counted), nil
}

// eventToApply maps an update event to the owner of its Workspace (the owner annotation).
func (r *Reconciler) eventToApply(ctx context.Context, e *corev1.Event) []reconcile.Request {
	u := r.API.NewObject()
	key := client.ObjectKey{Name: e.InvolvedObject.Name}
	if r.API.Namespaced() {
		key.Namespace = e.InvolvedObject.Namespace
	}
	if err := r.Client.Get(ctx, key, u); err != nil {
		return nil
	}
	if u.GetUID() != e.InvolvedObject.UID {
		return nil
	}
	ns, name, ok := strings.Cut(u.GetAnnotations()[infrav1.WorkspaceTemplateApplyAnnotation], "/")
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}}
}

// driftObservation is what a pass learned about drift: the status to write and how many
// reverts it counted.
type driftObservation struct {
	status   *infrav1.WorkspaceDrift
	reverted int32
}

// observeDrift brings status.drift up to date with the provider's update events on ws,
// the apply's own Workspace as the pass read it before writing it. A pass that would
// count drift first reads the Workspace's generation from the API server: a cache that
// has not seen a change yet would take the change's own update for drift.
func (r *Reconciler) observeDrift(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, ws *workspace.Workspace) (*driftObservation, error) {
	if r.events == nil || ws == nil || !ws.DeletionTimestamp.IsZero() {
		return nil, nil
	}
	list := &corev1.EventList{}
	if err := r.events.List(ctx, list, client.MatchingFields{involvedUIDIndex: string(ws.UID)}); err != nil {
		return nil, fmt.Errorf("listing the update events of Workspace %s: %w", ws.Name, err)
	}
	updates := make([]updateEvent, 0, len(list.Items))
	for i := range list.Items {
		if e := &list.Items[i]; r.API.IsUpdateEvent(e) {
			updates = append(updates, updateEvent{name: e.Name, count: e.Count, time: workspace.EventTime(e)})
		}
	}
	next, reverted := account(apply.Status.Drift, ws.UID, ws.Generation, ws.IsReady(), updates)
	if reverted > 0 {
		live, err := r.getWorkspaceLive(ctx, apply, ws.Name)
		if err != nil {
			return nil, err
		}
		if live == nil || live.UID != ws.UID {
			return nil, nil
		}
		next, reverted = account(apply.Status.Drift, ws.UID, live.Generation, ws.IsReady(), updates)
	}
	return &driftObservation{status: next, reverted: reverted}, nil
}

// updateEvent is one of the provider's update events on a Workspace.
type updateEvent struct {
	name  string
	count int32
	time  metav1.Time
}

// account computes status.drift from the previous one, the Workspace (UID, generation,
// Ready) and its update events, and returns how many reverts it counted. It returns prev
// itself when nothing needs writing: updates that the Workspace's new generations
// explain are left to the next accounting, which finds them again, so that a change of
// the spec and its update cost no write. The accounting starts when the Workspace is
// first Ready: updates before it (a failed creation finished by an update) are the
// creation's. An Event not accounted before counts once, whatever its count: it is a new
// provider process's first update, or an expired Event recorded again.
func account(prev *infrav1.WorkspaceDrift, uid types.UID, generation int64, ready bool, events []updateEvent) (*infrav1.WorkspaceDrift, int32) {
	if prev == nil || prev.Accounted == nil || prev.Accounted.WorkspaceUID != uid {
		if !ready {
			return prev, 0
		}
		next := &infrav1.WorkspaceDrift{}
		if prev != nil {
			// The count of an earlier Workspace of this apply stays: it is history.
			next.Count, next.LastRevertedTime = prev.Count, prev.LastRevertedTime
		}
		next.Accounted = &infrav1.DriftAccounting{WorkspaceUID: uid, WorkspaceGeneration: generation, Events: accounted(events)}
		return next, 0
	}
	acc := prev.Accounted
	var updates int64
	var newEvents bool
	var last metav1.Time
	for _, e := range events {
		i := slices.IndexFunc(acc.Events, func(a infrav1.AccountedEvent) bool { return a.Name == e.name })
		switch {
		case i < 0:
			updates++
			newEvents = true
		case e.count > acc.Events[i].Count:
			updates += int64(e.count - acc.Events[i].Count)
		default:
			continue
		}
		if e.time.After(last.Time) {
			last = e.time
		}
	}
	explained := acc.UnmatchedChanges + max(0, generation-acc.WorkspaceGeneration)
	if updates <= explained && !newEvents {
		return prev, 0
	}
	next := prev.DeepCopy()
	next.Accounted.WorkspaceGeneration = generation
	next.Accounted.Events = accounted(events)
	if updates <= explained {
		next.Accounted.UnmatchedChanges = explained - updates
		return next, 0
	}
	reverted := int32(min(updates-explained, math.MaxInt32)) //nolint:gosec // bounded by the min
	next.Accounted.UnmatchedChanges = 0
	next.Count += reverted
	next.LastRevertedTime = &last
	return next, reverted
}

// accounted lists events as accounted for, the newest maxAccountedEvents, by name.
func accounted(events []updateEvent) []infrav1.AccountedEvent {
	events = slices.Clone(events)
	slices.SortFunc(events, func(a, b updateEvent) int { return b.time.Compare(a.time.Time) })
	events = events[:min(len(events), maxAccountedEvents)]
	if len(events) == 0 {
		return nil
	}
	out := make([]infrav1.AccountedEvent, 0, len(events))
	for _, e := range events {
		out = append(out, infrav1.AccountedEvent{Name: e.name, Count: e.count})
	}
	slices.SortFunc(out, func(a, b infrav1.AccountedEvent) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// setDriftStatus writes what the pass accounted and DriftReverted: absent while no
// revert was counted, true while the count is above the one a person acknowledged,
// false once acknowledged. Ready does not depend on it: Terraform repaired the drift.
func setDriftStatus(apply *infrav1.WorkspaceTemplateApply, obs *driftObservation) {
	if obs != nil {
		apply.Status.Drift = obs.status
	}
	d := apply.Status.Drift
	if d == nil || d.Count == 0 {
		return
	}
	when := "an unknown time"
	if d.LastRevertedTime != nil {
		when = d.LastRevertedTime.UTC().Format(time.RFC3339)
	}
	acknowledged, err := strconv.ParseInt(apply.Annotations[infrav1.DriftAcknowledgedAnnotation], 10, 32)
	if err != nil || int64(d.Count) > acknowledged {
		conditions.Set(apply, metav1.Condition{Type: infrav1.DriftRevertedCondition, Status: metav1.ConditionTrue, Reason: infrav1.DriftRevertedReason,
			Message: fmt.Sprintf("provider-terraform applied Workspace %s %d time(s) without a change of its spec, the last at %s: "+
				"something outside Terraform changed what the module manages or reads, and Terraform set it back; "+
				"annotate %s=%d once looked at", apply.Status.WorkspaceName, d.Count, when, infrav1.DriftAcknowledgedAnnotation, d.Count)})
		return
	}
	conditions.Set(apply, metav1.Condition{Type: infrav1.DriftRevertedCondition, Status: metav1.ConditionFalse, Reason: infrav1.DriftAcknowledgedReason,
		Message: fmt.Sprintf("%d drift revert(s) of Workspace %s acknowledged, the last at %s", d.Count, apply.Status.WorkspaceName, when)})
}

// recordDrift records one Warning event for the reverts a pass counted and wrote.
func (r *Reconciler) recordDrift(apply *infrav1.WorkspaceTemplateApply, obs *driftObservation) {
	if obs == nil || obs.reverted == 0 || r.Recorder == nil || obs.status.LastRevertedTime == nil {
		return
	}
	r.Recorder.Eventf(apply, nil, corev1.EventTypeWarning, infrav1.DriftRevertedReason, "Reconcile",
		"provider-terraform applied Workspace %s without a change of its spec (%d more, %d in all, the last at %s): "+
			"something outside Terraform changed what the module manages or reads, and Terraform set it back",
		apply.Status.WorkspaceName, obs.reverted, obs.status.Count, obs.status.LastRevertedTime.UTC().Format(time.RFC3339))
}
