package workspaceapply

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// Tenancy (docs/tenancy.md). CAPT and provider-terraform act with cluster-wide rights
// for whoever may create a WorkspaceTemplate or a WorkspaceTemplateApply: without these
// checks a team's template could have provider-terraform read another team's Secret
// into its module, or write a connection secret into kube-system. So a template
// rendered for an apply reaches only the apply's namespace, and runs only with the
// ProviderConfigs granted to the template's namespace; the platform grants more with
// AllowedNamespacesAnnotation on the Namespace reached, or on the ProviderConfig. A
// refused rendering is a template problem: nothing is created or changed, and the
// messages name the field and the namespace, never a value.

// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// grants reports whether an AllowedNamespacesAnnotation among annotations grants
// namespace: listed, or "*". Absent or empty grants none.
func grants(annotations map[string]string, namespace string) bool {
	set, all := granted(annotations)
	return all || set.Has(namespace)
}

// granted is the set of namespaces an AllowedNamespacesAnnotation lists, and whether it
// grants every namespace ("*").
func granted(annotations map[string]string) (sets.Set[string], bool) {
	set := sets.New[string]()
	for _, n := range strings.Split(annotations[infrav1.AllowedNamespacesAnnotation], ",") {
		if n = strings.TrimSpace(n); n != "" {
			set.Insert(n)
		}
	}
	return set, set.Has("*")
}

// templateRefRefused refuses a template in another namespace that does not grant the
// apply's, before the template is read: its module, ProviderConfig and references are
// that namespace's.
func (r *Reconciler) templateRefRefused(ctx context.Context, apply *infrav1.WorkspaceTemplateApply) (*observed.Problem, error) {
	key := templateKey(apply)
	if key.Namespace == apply.Namespace {
		return nil, nil
	}
	return r.namespaceRefused(ctx, apply, render.Reference{Field: "spec.templateRef.namespace", Kind: "WorkspaceTemplate", Namespace: key.Namespace})
}

// referencesRefused says why the rendered Workspace may not be created or changed: a
// Secret, ConfigMap or connection secret in a namespace that does not grant the apply's,
// or a ProviderConfig that does not grant the template's namespace. nil when none.
func (r *Reconciler) referencesRefused(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, desired *workspace.Workspace) (*observed.Problem, error) {
	for _, ref := range render.References(apply, desired) {
		if ref.Namespace == apply.Namespace {
			continue
		}
		if prob, err := r.namespaceRefused(ctx, apply, ref); err != nil || prob != nil {
			return prob, err
		}
	}
	return r.providerConfigRefused(ctx, apply, desired)
}

// namespaceRefused refuses ref unless its Namespace grants the apply's. A namespace that
// does not exist grants nothing: its creation with a grant wakes the apply.
func (r *Reconciler) namespaceRefused(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, ref render.Reference) (*observed.Problem, error) {
	ns := namespaceMetadata()
	err := r.Client.Get(ctx, client.ObjectKey{Name: ref.Namespace}, ns)
	switch {
	case err == nil && grants(ns.Annotations, apply.Namespace):
		return nil, nil
	case err != nil && !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("getting Namespace %s: %w", ref.Namespace, err)
	}
	return &observed.Problem{Reason: infrav1.NamespaceNotGrantedReason, Message: fmt.Sprintf(
		"%s names a %s in namespace %s, which does not grant namespace %s (annotation %s on Namespace %s): "+
			"a template reaches only its apply's namespace unless the platform grants more; nothing is created or changed",
		ref.Field, ref.Kind, ref.Namespace, apply.Namespace, infrav1.AllowedNamespacesAnnotation, ref.Namespace)}, nil
}

// providerConfigRefused refuses a ProviderConfig that exists and does not grant the
// template's namespace: the template holds the module that runs with its credentials,
// so the template's namespace is what the platform trusts (a team may use the
// platform's templates, in a namespace granted the credentials, without being able to
// run a module of its own with them). A missing ProviderConfig is not refused here, the
// creation waits for it (providerConfigWait). Namespaced groups have no grant to check:
// their ProviderConfig is the apply's namespace's own.
func (r *Reconciler) providerConfigRefused(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, desired *workspace.Workspace) (*observed.Problem, error) {
	if r.API.Namespaced() {
		return nil, nil
	}
	key := r.providerConfigKey(apply, desired)
	pc := r.providerConfig()
	err := r.Client.Get(ctx, key, pc)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("getting ProviderConfig %s: %w", key.Name, err)
	}
	tmplNamespace := templateKey(apply).Namespace
	if grants(pc.Annotations, tmplNamespace) {
		return nil, nil
	}
	return &observed.Problem{Reason: infrav1.ProviderConfigNotGrantedReason, Message: fmt.Sprintf(
		"spec.template.spec.providerConfigRef names ProviderConfig %s, which does not grant namespace %s, the WorkspaceTemplate's "+
			"(annotation %s on the ProviderConfig); nothing is created or changed",
		key.Name, tmplNamespace, infrav1.AllowedNamespacesAnnotation)}, nil
}

// providerConfigWait says what a new Workspace waits for: its ProviderConfig, when it
// does not exist. Created without it, the Workspace would run with whatever
// ProviderConfig of that name appears later, before CAPT could refuse it.
func (r *Reconciler) providerConfigWait(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, desired *workspace.Workspace) (string, error) {
	if r.API.Namespaced() {
		return "", nil
	}
	key := r.providerConfigKey(apply, desired)
	err := r.Client.Get(ctx, key, r.providerConfig())
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Sprintf("ProviderConfig %s (not found)", key.Name), nil
	case err != nil:
		return "", fmt.Errorf("getting ProviderConfig %s: %w", key.Name, err)
	}
	return "", nil
}

// namespaceMetadata returns an empty Namespace, metadata only: CAPT reads its annotations.
func namespaceMetadata() *metav1.PartialObjectMetadata {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return ns
}

// grantEvents maps a change of a grant to the applies it concerns: those that
// appliesIn selects for the namespaces the grant listed before or lists now, so that a
// grant makes refused applies go on and a revocation stops the next change.
func grantEvents(appliesIn func(ctx context.Context, namespaces sets.Set[string], all bool) []reconcile.Request) handler.EventHandler {
	enqueue := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], objs ...client.Object) {
		namespaces, all := sets.New[string](), false
		for _, o := range objs {
			set, every := granted(o.GetAnnotations())
			namespaces, all = namespaces.Union(set), all || every
		}
		if !all && namespaces.Len() == 0 {
			return
		}
		for _, req := range appliesIn(ctx, namespaces, all) {
			q.Add(req)
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, e.Object)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if e.ObjectOld.GetAnnotations()[infrav1.AllowedNamespacesAnnotation] != e.ObjectNew.GetAnnotations()[infrav1.AllowedNamespacesAnnotation] {
				enqueue(ctx, q, e.ObjectOld, e.ObjectNew)
			}
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, e.Object)
		},
	}
}

// appliesIn lists the applies in the given namespaces (every apply when all).
func (r *Reconciler) appliesIn(ctx context.Context, namespaces sets.Set[string], all bool) []reconcile.Request {
	return r.appliesWhere(ctx, func(a *infrav1.WorkspaceTemplateApply) bool { return all || namespaces.Has(a.Namespace) })
}

// appliesOfTemplatesIn lists the applies whose template is in the given namespaces
// (every apply when all): a ProviderConfig grants templates' namespaces.
func (r *Reconciler) appliesOfTemplatesIn(ctx context.Context, namespaces sets.Set[string], all bool) []reconcile.Request {
	return r.appliesWhere(ctx, func(a *infrav1.WorkspaceTemplateApply) bool { return all || namespaces.Has(templateKey(a).Namespace) })
}

// appliesWhere lists the applies keep selects. Grants change rarely: a list from the
// cache is cheaper than an index every apply pays for.
func (r *Reconciler) appliesWhere(ctx context.Context, keep func(*infrav1.WorkspaceTemplateApply) bool) []reconcile.Request {
	list := &infrav1.WorkspaceTemplateApplyList{}
	if err := r.Client.List(ctx, list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing WorkspaceTemplateApplies for a grant")
		return nil
	}
	var requests []reconcile.Request
	for i := range list.Items {
		if keep(&list.Items[i]) {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return requests
}

// providerConfigEvents wakes, on a ProviderConfig's creation, every apply (one may wait
// for it, granted or not); on a change of its grant, the applies of the templates in the
// namespaces it granted or grants; and, as before, the moved applies waiting for it to
// declare its state shared.
func (r *Reconciler) providerConfigEvents() handler.EventHandler {
	moved := handler.EnqueueRequestsFromMapFunc(r.providerConfigToApplies)
	grant := grantEvents(r.appliesOfTemplatesIn)
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, _ event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			for _, req := range r.appliesWhere(ctx, func(*infrav1.WorkspaceTemplateApply) bool { return true }) {
				q.Add(req)
			}
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			moved.Update(ctx, e, q)
			grant.Update(ctx, e, q)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			moved.Delete(ctx, e, q)
			grant.Delete(ctx, e, q)
		},
	}
}
