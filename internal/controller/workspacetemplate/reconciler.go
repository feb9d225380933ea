// Package workspacetemplate reconciles WorkspaceTemplates: a template that cannot render
// for any WorkspaceTemplateApply says so in its TemplateValid condition (every apply
// using it reports the same problem in its own conditions), and a template with a
// rollout policy allocates the slots its applies change their Workspaces in (rollout.go).
package workspacetemplate

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/cluster-api/util/predicates"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/lifecycle"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// Reconciler validates WorkspaceTemplates and allocates their rollouts' slots.
type Reconciler struct {
	Client client.Client
	// APIReader reads a template afresh after a status write conflict, and confirms that
	// the apply of a slot is gone before the slot is freed.
	APIReader        client.Reader
	API              workspace.API
	WatchFilterValue string

	writes lifecycle.LastWrites
}

// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=workspacetemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=workspacetemplates/status,verbs=patch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=workspacetemplateapplies,verbs=get;list;watch

// Reconcile sets TemplateValid and, for a template with a rollout policy, the rollout. A
// template has no finalizer: deleting one only makes its applies report
// TemplateNotFound, and their Workspaces stay as they are.
//
// The status is written with the template's resourceVersion as a precondition and a
// conflict is not resolved by writing over a fresh read: the pass decides again from
// it, so that slots are only ever granted from the count etcd holds.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	tmpl := &infrav1.WorkspaceTemplate{}
	if err := r.Client.Get(ctx, req.NamespacedName, tmpl); err != nil {
		if apierrors.IsNotFound(err) {
			r.writes.Forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	for attempt := 0; ; attempt++ {
		writer := r.writes.Begin(r.Client, r.APIReader, tmpl)
		conditions.Set(tmpl, validCondition(render.ValidateTemplate(r.API, tmpl)))
		rolloutErr := r.setRollout(ctx, tmpl)
		err := writer.PatchLocked(ctx, tmpl, rolloutErr == nil)
		if apierrors.IsConflict(err) && attempt < maxAttempts {
			// Another write came first: decide again from what etcd holds.
			tmpl = &infrav1.WorkspaceTemplate{}
			if err := r.APIReader.Get(ctx, req.NamespacedName, tmpl); err != nil {
				return ctrl.Result{}, client.IgnoreNotFound(fmt.Errorf("reading WorkspaceTemplate after a conflict: %w", err))
			}
			continue
		}
		if err != nil {
			err = fmt.Errorf("patching WorkspaceTemplate: %w", err)
		}
		return ctrl.Result{}, kerrors.NewAggregate([]error{rolloutErr, err})
	}
}

// maxAttempts bounds the fresh reads after conflicts in one pass; the next pass (the
// controller's backoff) goes on from there.
const maxAttempts = 3

// validCondition is TemplateValid for a validation result.
func validCondition(err error) metav1.Condition {
	if err != nil {
		return metav1.Condition{Type: infrav1.TemplateValidCondition, Status: metav1.ConditionFalse,
			Reason: infrav1.TemplateInvalidReason, Message: err.Error()}
	}
	return metav1.Condition{Type: infrav1.TemplateValidCondition, Status: metav1.ConditionTrue, Reason: infrav1.ValidReason}
}

// SetupWithManager watches WorkspaceTemplates and, for their rollouts, the applies that
// use them (rolloutApplyEvents).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, options controller.Options) error {
	// Registering an index only sets up the informer it lives in: the context is not kept.
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &infrav1.WorkspaceTemplateApply{}, applyTemplateIndex, func(o client.Object) []string {
		return []string{templateOf(o.(*infrav1.WorkspaceTemplateApply)).String()}
	}); err != nil {
		return fmt.Errorf("indexing WorkspaceTemplateApplies by template: %w", err)
	}
	log := mgr.GetLogger().WithName("workspacetemplate")
	err := ctrl.NewControllerManagedBy(mgr).
		Named("workspacetemplate").
		// The template's own status is what its passes wrote: a change of it brings none.
		For(&infrav1.WorkspaceTemplate{}, builder.WithPredicates(predicates.ResourceHasFilterLabel(mgr.GetScheme(), log, r.WatchFilterValue), lifecycle.ChangedBeyondStatus())).
		WithOptions(options).
		Watches(&infrav1.WorkspaceTemplateApply{}, r.rolloutApplyEvents()).
		Complete(r)
	if err != nil {
		return fmt.Errorf("creating workspacetemplate controller: %w", err)
	}
	return nil
}

// WatchedKinds are the kinds SetupWithManager watches that CRDs serve. The manager sets
// the controller up once the API server serves all of them (internal/crdgate).
func (r *Reconciler) WatchedKinds() []schema.GroupVersionKind {
	return []schema.GroupVersionKind{
		infrav1.GroupVersion.WithKind("WorkspaceTemplate"),
		infrav1.GroupVersion.WithKind("WorkspaceTemplateApply"),
	}
}

// templateOf is the key of the template an apply renders: templateRef, its namespace
// defaulting to the apply's.
func templateOf(apply *infrav1.WorkspaceTemplateApply) client.ObjectKey {
	ns := apply.Spec.TemplateRef.Namespace
	if ns == "" {
		ns = apply.Namespace
	}
	return client.ObjectKey{Namespace: ns, Name: apply.Spec.TemplateRef.Name}
}
