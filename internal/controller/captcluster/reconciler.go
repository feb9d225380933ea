// Package captcluster reconciles CAPTClusters: the cluster's VPC, created from a
// WorkspaceTemplate through a WorkspaceTemplateApply or given as an existing VPC id,
// reported in the InfraCluster contract's status, and deleted (or retained) only after
// the Cluster's control plane is gone.
package captcluster

import (
	"context"
	"fmt"

	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util"
	"sigs.k8s.io/cluster-api/util/patch"
	"sigs.k8s.io/cluster-api/util/paused"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/patching"
	"github.com/capt-dev/capt/internal/requeue"
	"github.com/capt-dev/capt/internal/workspace"
)

// Reconciler reconciles CAPTClusters.
type Reconciler struct {
	Client client.Client
	// APIReader reads control planes of kinds CAPT does not watch, without starting an
	// informer for them inside a reconcile, and confirms a deletion's last step is due.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// API is the Workspace API group.
	API              workspace.API
	Intervals        requeue.Intervals
	WatchFilterValue string
}

var ownedConditions = []string{infrav1.ReadyCondition, infrav1.VPCReadyCondition, infrav1.DeletingCondition, infrav1.PausedCondition}

// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=captclusters,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=captclusters/status,verbs=patch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=captclusters/finalizers,verbs=update
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=workspacetemplateapplies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=controlplane.cluster.x-k8s.io,resources=captcontrolplanes,verbs=get;list;watch
// +kubebuilder:rbac:groups=tf.upbound.io;tf.m.upbound.io;opentofu.upbound.io;opentofu.m.upbound.io,resources=workspaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=clusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile runs the preamble (get, owner Cluster, pause, finalizer, one patch helper,
// one deferred status and patch), then the normal or the delete path. The status is
// computed in the deferred function from the pass's scope, wherever the pass stopped.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	cc := &infrav1.CAPTCluster{}
	if err := r.Client.Get(ctx, req.NamespacedName, cc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if r.WatchFilterValue != "" && cc.Labels[clusterv1.WatchLabel] != r.WatchFilterValue {
		return ctrl.Result{}, nil
	}
	cluster, err := util.GetOwnerCluster(ctx, r.Client, cc.ObjectMeta)
	if client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("getting owner Cluster: %w", err)
	}
	if cluster == nil && cc.DeletionTimestamp.IsZero() {
		// Cluster API sets the owner reference; its update event brings the next pass.
		ctrl.LoggerFrom(ctx).V(4).Info("Waiting for Cluster API to set the owner Cluster")
		return ctrl.Result{}, nil
	}
	if cluster != nil {
		ctx = ctrl.LoggerInto(ctx, ctrl.LoggerFrom(ctx).WithValues("Cluster", klog.KObj(cluster)))
	}
	if isPaused, requeue, err := paused.EnsurePausedCondition(ctx, r.Client, cluster, cc); err != nil || isPaused || requeue {
		return ctrl.Result{}, err
	}
	if added, err := finalizer.Ensure(ctx, r.Client, cc); err != nil || added {
		return ctrl.Result{}, err
	}
	helper, err := patch.NewHelper(cc, r.Client)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("creating patch helper: %w", err)
	}
	before := cc.DeepCopy()
	s := &scope{cc: cc, cluster: cluster}
	defer func() {
		s.err = retErr
		setStatus(s)
		r.emitTransitions(before, cc)
		if err := patching.Patch(ctx, helper, cc, ownedConditions, retErr); err != nil {
			retErr = kerrors.NewAggregate([]error{retErr, fmt.Errorf("patching CAPTCluster: %w", err)})
		}
	}()
	if !cc.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, s)
	}
	return ctrl.Result{}, r.reconcileNormal(ctx, s)
}

// finalizer is the CAPTCluster finalizer, and its name before it had a path.
var finalizer = patching.Finalizer{Name: infrav1.CAPTClusterFinalizer, Legacy: []string{infrav1.LegacyCAPTClusterFinalizer}}
