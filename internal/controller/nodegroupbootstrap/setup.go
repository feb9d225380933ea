package nodegroupbootstrap

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util"
	"sigs.k8s.io/cluster-api/util/predicates"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	bootstrapv1 "github.com/capt-dev/capt/api/bootstrap/v1beta1"
	"github.com/capt-dev/capt/internal/controller/lifecycle"
)

const controllerName = "captnodegroupbootstrap"

// SetupWithManager watches the configs (their owner references, set by Cluster API,
// bring the pass that fills the contract's fields) and their Clusters' pause.
func (r *Reconciler) SetupWithManager(_ context.Context, mgr ctrl.Manager, options controller.Options) error {
	log := mgr.GetLogger().WithName(controllerName)
	clusterToConfigs, err := util.ClusterToTypedObjectsMapper(r.Client, &bootstrapv1.CAPTNodeGroupBootstrapList{}, mgr.GetScheme())
	if err != nil {
		return fmt.Errorf("mapping Clusters to CAPTNodeGroupBootstraps: %w", err)
	}
	err = ctrl.NewControllerManagedBy(mgr).
		Named(controllerName).
		For(&bootstrapv1.CAPTNodeGroupBootstrap{}, builder.WithPredicates(predicates.All(mgr.GetScheme(), log,
			predicates.ResourceHasFilterLabel(mgr.GetScheme(), log, r.WatchFilterValue),
			predicates.ResourceIsNotExternallyManaged(mgr.GetScheme(), log)), lifecycle.ChangedBeyondStatus())).
		WithOptions(options).
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(clusterToConfigs),
			builder.WithPredicates(predicates.ClusterPausedTransitions(mgr.GetScheme(), log))).
		Complete(r)
	if err != nil {
		return fmt.Errorf("creating %s controller: %w", controllerName, err)
	}
	return nil
}

// WatchedKinds are the kinds the controller watches or reads through the cache: the
// manager sets it up once the API server serves all of them (internal/crdgate).
func (r *Reconciler) WatchedKinds() []schema.GroupVersionKind {
	return []schema.GroupVersionKind{
		bootstrapv1.GroupVersion.WithKind("CAPTNodeGroupBootstrap"),
		clusterv1.GroupVersion.WithKind("Cluster"),
		clusterv1.GroupVersion.WithKind("MachinePool"),
	}
}
