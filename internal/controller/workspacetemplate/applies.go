package workspacetemplate

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/cluster-api/util/conditions"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// applyTemplateIndex indexes WorkspaceTemplateApplies by the template they render, for
// the rollout's count. The apply controller has an index of its own on the same field:
// controllers share no code, and an index name can be registered once per manager.
const applyTemplateIndex = "workspacetemplate.spec.templateRef"

// setRollout sets tmpl's status.rollout from its applies as the cache shows them; a slot
// whose apply the cache does not show (gone, being deleted, moved to another template) is
// confirmed with the API server before it is freed. A template without a policy has no
// rollout status, and its pass lists nothing. On an error the rollout is left as it was.
func (r *Reconciler) setRollout(ctx context.Context, tmpl *infrav1.WorkspaceTemplate) error {
	policy := tmpl.Spec.Rollout
	if policy == nil {
		tmpl.Status.Rollout = nil
		return nil
	}
	key := client.ObjectKeyFromObject(tmpl)
	list := &infrav1.WorkspaceTemplateApplyList{}
	if err := r.Client.List(ctx, list, client.MatchingFields{applyTemplateIndex: key.String()}); err != nil {
		return fmt.Errorf("listing the WorkspaceTemplateApplies of WorkspaceTemplate %s: %w", key, err)
	}
	selector, selErr := metav1.LabelSelectorAsSelector(policy.CanarySelector)
	in := rolloutInput{
		Policy: *policy, Status: tmpl.Status.Rollout, UID: tmpl.UID, Generation: tmpl.Generation,
		Resume: tmpl.Annotations[infrav1.ResumeRolloutAnnotation], Applies: map[string]applyState{},
		SelectorErr: selErr, Now: metav1.Now(),
	}
	deleting := map[string]bool{}
	for i := range list.Items {
		a := &list.Items[i]
		if !a.DeletionTimestamp.IsZero() {
			// A deletion never waits for a slot, and one that began cannot be undone.
			deleting[applyKey(a)] = true
			continue
		}
		in.Applies[applyKey(a)] = stateOf(a, selector, tmpl.Generation)
	}
	if tmpl.Status.Rollout != nil {
		for _, s := range tmpl.Status.Rollout.Slots {
			if _, listed := in.Applies[s.Apply]; listed || deleting[s.Apply] {
				continue
			}
			a, err := r.liveApply(ctx, s.Apply)
			if err != nil {
				return err
			}
			if a != nil && a.DeletionTimestamp.IsZero() && templateOf(a) == key {
				// The cache is behind: the apply is there, and keeps its slot.
				in.Applies[s.Apply] = stateOf(a, selector, tmpl.Generation)
			}
		}
	}
	tmpl.Status.Rollout = allocate(in)
	return nil
}

// liveApply reads the apply named "namespace/name" from the API server; nil when it does
// not exist.
func (r *Reconciler) liveApply(ctx context.Context, name string) (*infrav1.WorkspaceTemplateApply, error) {
	ns, n, _ := strings.Cut(name, "/")
	a := &infrav1.WorkspaceTemplateApply{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: n}, a); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading WorkspaceTemplateApply %s: %w", name, err)
	}
	return a, nil
}

// applyKey is how the rollout names an apply: "namespace/name".
func applyKey(a *infrav1.WorkspaceTemplateApply) string {
	return client.ObjectKeyFromObject(a).String()
}

// stateOf is what the rollout reads of an apply: its status.rollout (whether it rendered
// the template's generation), and its Ready condition when it reports on its current
// generation.
func stateOf(a *infrav1.WorkspaceTemplateApply, canaries labels.Selector, generation int64) applyState {
	s := applyState{Canary: canaries != nil && canaries.Matches(labels.Set(a.Labels))}
	if a.Status.Rollout != nil {
		s.Pending, s.Hash = a.Status.Rollout.PendingHash, a.Status.Rollout.Hash
		s.Rendered = a.Status.Rollout.TemplateGeneration >= generation
	}
	if c := conditions.Get(a, infrav1.ReadyCondition); c != nil && c.ObservedGeneration == a.Generation {
		s.Ready = c.Status == metav1.ConditionTrue
		s.Failing = c.Status == metav1.ConditionFalse && c.Reason == infrav1.WorkspaceNotSyncedReason
	}
	return s
}

// rolloutApplyEvents maps an apply's events to its template, for templates with a
// rollout (a policy, or a rollout status left to clear), and only the events that change
// what the rollout reads: creation and deletion, templateRef, labels (canaries), the
// deletion timestamp, status.rollout and Ready. A template without a policy gets no pass
// from its applies at all.
func (r *Reconciler) rolloutApplyEvents() handler.EventHandler {
	enqueue := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], objs ...client.Object) {
		seen := map[client.ObjectKey]bool{}
		for _, o := range objs {
			a, ok := o.(*infrav1.WorkspaceTemplateApply)
			if !ok {
				continue
			}
			key := templateOf(a)
			if seen[key] {
				continue
			}
			seen[key] = true
			tmpl := &infrav1.WorkspaceTemplate{}
			if err := r.Client.Get(ctx, key, tmpl); err != nil {
				if !apierrors.IsNotFound(err) {
					ctrl.LoggerFrom(ctx).Error(err, "Reading the WorkspaceTemplate of an apply", "template", key)
				}
				continue
			}
			if tmpl.Spec.Rollout != nil || tmpl.Status.Rollout != nil {
				q.Add(reconcile.Request{NamespacedName: key})
			}
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, e.Object)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if rolloutRelevant(e.ObjectOld, e.ObjectNew) {
				enqueue(ctx, q, e.ObjectOld, e.ObjectNew)
			}
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, e.Object)
		},
	}
}

// rolloutRelevant says an update of an apply changes what the rollout reads of it.
func rolloutRelevant(oldObj, newObj client.Object) bool {
	o, ok1 := oldObj.(*infrav1.WorkspaceTemplateApply)
	n, ok2 := newObj.(*infrav1.WorkspaceTemplateApply)
	if !ok1 || !ok2 {
		return true
	}
	return templateOf(o) != templateOf(n) ||
		!equality.Semantic.DeepEqual(o.Labels, n.Labels) ||
		o.DeletionTimestamp.IsZero() != n.DeletionTimestamp.IsZero() ||
		!equality.Semantic.DeepEqual(o.Status.Rollout, n.Status.Rollout) ||
		readyOf(o) != readyOf(n)
}

// readyOf is what of Ready the rollout reads.
func readyOf(a *infrav1.WorkspaceTemplateApply) string {
	c := conditions.Get(a, infrav1.ReadyCondition)
	if c == nil {
		return ""
	}
	return fmt.Sprintf("%s/%s/%d/%d", c.Status, c.Reason, c.ObservedGeneration, a.Generation)
}
