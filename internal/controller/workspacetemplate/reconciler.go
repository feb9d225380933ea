// Package workspacetemplate validates WorkspaceTemplates: a template that cannot render
// for any WorkspaceTemplateApply says so in its TemplateValid condition. Every apply
// using it reports the same problem in its own conditions.
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

// Reconciler validates WorkspaceTemplates.
type Reconciler struct {
	Client client.Client
	// APIReader reads a template afresh after a status write conflict.
	APIReader        client.Reader
	API              workspace.API
	WatchFilterValue string

	writes lifecycle.LastWrites
}

// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=workspacetemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=workspacetemplates/status,verbs=patch

// Reconcile sets TemplateValid. A template has no finalizer: deleting one only makes its
// applies report TemplateNotFound, and their Workspaces stay as they are.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	tmpl := &infrav1.WorkspaceTemplate{}
	if err := r.Client.Get(ctx, req.NamespacedName, tmpl); err != nil {
		if apierrors.IsNotFound(err) {
			r.writes.Forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	writer := r.writes.Begin(r.Client, r.APIReader, tmpl)
	defer func() {
		if err := writer.Patch(ctx, tmpl, []string{infrav1.TemplateValidCondition}, true); err != nil {
			retErr = kerrors.NewAggregate([]error{retErr, fmt.Errorf("patching WorkspaceTemplate: %w", err)})
		}
	}()
	conditions.Set(tmpl, validCondition(render.ValidateTemplate(r.API, tmpl)))
	return ctrl.Result{}, nil
}

// validCondition is TemplateValid for a validation result.
func validCondition(err error) metav1.Condition {
	if err != nil {
		return metav1.Condition{Type: infrav1.TemplateValidCondition, Status: metav1.ConditionFalse,
			Reason: infrav1.TemplateInvalidReason, Message: err.Error()}
	}
	return metav1.Condition{Type: infrav1.TemplateValidCondition, Status: metav1.ConditionTrue, Reason: infrav1.ValidReason}
}

// SetupWithManager watches WorkspaceTemplates.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, options controller.Options) error {
	log := mgr.GetLogger().WithName("workspacetemplate")
	err := ctrl.NewControllerManagedBy(mgr).
		Named("workspacetemplate").
		For(&infrav1.WorkspaceTemplate{}, builder.WithPredicates(predicates.ResourceHasFilterLabel(mgr.GetScheme(), log, r.WatchFilterValue))).
		WithOptions(options).
		Complete(r)
	if err != nil {
		return fmt.Errorf("creating workspacetemplate controller: %w", err)
	}
	return nil
}

// WatchedKinds are the kinds SetupWithManager watches that CRDs serve. The manager sets
// the controller up once the API server serves all of them (internal/crdgate).
func (r *Reconciler) WatchedKinds() []schema.GroupVersionKind {
	return []schema.GroupVersionKind{infrav1.GroupVersion.WithKind("WorkspaceTemplate")}
}
