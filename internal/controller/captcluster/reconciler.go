// Package captcluster reconciles CAPTClusters: the cluster's VPC, created from a
// WorkspaceTemplate through a WorkspaceTemplateApply or given as an existing VPC id,
// reported in the InfraCluster contract's status, and deleted (or retained) only after
// the Cluster's control plane is gone.
package captcluster

import (
	"context"
	"fmt"

	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"sigs.k8s.io/cluster-api/util"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/lifecycle"
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

	// writes lets a pass read the controller's own last write of its CAPTCluster.
	writes lifecycle.LastWrites
}

var ownedConditions = []string{infrav1.ReadyCondition, infrav1.VPCReadyCondition, infrav1.DeletingCondition, infrav1.DeletionStalledCondition, infrav1.PausedCondition}

// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=captclusters,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=captclusters/status,verbs=patch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=captclusters/finalizers,verbs=update
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=workspacetemplateapplies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=controlplane.cluster.x-k8s.io,resources=captcontrolplanes,verbs=get;list;watch
// +kubebuilder:rbac:groups=tf.upbound.io;tf.m.upbound.io;opentofu.upbound.io;opentofu.m.upbound.io,resources=workspaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=clusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile runs the preamble (get, own last write, owner Cluster, pause, finalizer,
// one deferred status and write), then the normal or the delete path. The status is
// computed in the deferred function from the pass's scope, wherever the pass stopped.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	cc := &infrav1.CAPTCluster{}
	writer, err := r.writes.Start(ctx, r.Client, r.APIReader, req.NamespacedName, cc, r.WatchFilterValue)
	if writer == nil {
		return ctrl.Result{}, err
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
	if stop, err := writer.Hold(ctx, cluster, cc, finalizer); stop {
		return ctrl.Result{}, err
	}
	before := cc.DeepCopy()
	s := &scope{cc: cc, cluster: cluster}
	defer func() {
		s.Err = retErr
		setStatus(s)
		r.emitTransitions(before, cc)
		retErr = writer.Finish(ctx, cc, ownedConditions, retErr)
	}()
	if !cc.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, s)
	}
	return r.reconcileNormal(ctx, s)
}

// finalizer is the CAPTCluster finalizer, and its name before it had a path.
var finalizer = lifecycle.Finalizer{Name: infrav1.CAPTClusterFinalizer, Legacy: []string{infrav1.LegacyCAPTClusterFinalizer}}
