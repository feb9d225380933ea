// Package workspaceapply reconciles WorkspaceTemplateApplies: it renders the template
// with the variables into one Workspace, keeps that Workspace in sync, mirrors its state
// by watch, and deletes (or retains) it before letting the WorkspaceTemplateApply go.
package workspaceapply

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util"
	"sigs.k8s.io/cluster-api/util/conditions"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/lifecycle"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// FieldOwner is the server-side apply field manager CAPT writes Workspaces with.
const FieldOwner = "capt-workspacetemplateapply"

// Reconciler reconciles WorkspaceTemplateApplies.
type Reconciler struct {
	Client client.Client
	// APIReader confirms with the API server that a Workspace is gone before an apply
	// being deleted lets go of it.
	APIReader client.Reader
	// API is the Workspace API group to create Workspaces in.
	API workspace.API
	// WatchFilterValue limits reconciles to objects with this watch-filter label value.
	WatchFilterValue string
	// Recorder records the events a person acts on: a stalled deletion, an abandoned
	// Workspace.
	Recorder events.EventRecorder
	// DeletionStallTimeout is how long a Workspace's destroy may make no progress before
	// DeletionStalled turns true; DefaultDeletionStallTimeout when zero.
	DeletionStallTimeout time.Duration
	// ManagementClusterID identifies this management cluster (ManagementClusterID), for
	// the applies clusterctl move brings from another one; SetupWithManager reads it.
	ManagementClusterID string
	// WatchNamespace, when set, is the one namespace the manager watches: the provider's
	// update events of namespaced Workspaces are watched there only.
	WatchNamespace string

	// events reads the provider's update events on Workspaces (drift.go).
	events client.Reader
	// writes lets a pass read the controller's own last write of its apply.
	writes lifecycle.LastWrites
	// modules holds what the Inline modules declare, read once per module text.
	modules modules
}

// ownedConditions are the conditions this controller writes; they win conflicts.
var ownedConditions = []string{
	infrav1.ReadyCondition, infrav1.TemplateValidCondition, infrav1.DependenciesReadyCondition,
	infrav1.WorkspaceSyncedCondition, infrav1.WorkspaceReadyCondition, infrav1.DeletingCondition,
	infrav1.DeletionStalledCondition, infrav1.PausedCondition, infrav1.DriftRevertedCondition,
	infrav1.DestructiveChangePendingCondition, infrav1.AdoptedCondition,
}

// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=workspacetemplateapplies,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=workspacetemplateapplies/status,verbs=patch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=workspacetemplateapplies/finalizers,verbs=update
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=workspacetemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups=tf.upbound.io;tf.m.upbound.io;opentofu.upbound.io;opentofu.m.upbound.io,resources=workspaces,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=tf.upbound.io;tf.m.upbound.io;opentofu.upbound.io;opentofu.m.upbound.io,resources=workspaces/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=clusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=tf.upbound.io;tf.m.upbound.io;opentofu.upbound.io;opentofu.m.upbound.io,resources=providerconfigs,verbs=get;list;watch

// Reconcile runs the preamble every CAPT controller runs, then the normal or delete path;
// the deferred function computes the status from what the pass observed, wherever it
// stopped, and patches once.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	apply := &infrav1.WorkspaceTemplateApply{}
	writer, err := r.writes.Start(ctx, r.Client, r.APIReader, req.NamespacedName, apply, r.WatchFilterValue)
	if writer == nil {
		return ctrl.Result{}, err
	}

	cluster, err := r.ownerCluster(ctx, apply)
	if err != nil {
		return ctrl.Result{}, err
	}
	workspaceName := render.WorkspaceName(r.API, apply.Namespace, apply.Name)
	if lifecycle.SetPaused("WorkspaceTemplateApply", cluster, apply) {
		// Nothing acts while the Cluster is paused (clusterctl move): the provider neither.
		if err := r.pauseWorkspace(ctx, apply, workspaceName); err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, writer.Patch(ctx, apply, []string{infrav1.PausedCondition}, false)
	}
	if err := r.resumeWorkspace(ctx, apply, workspaceName); err != nil {
		return ctrl.Result{}, err
	}
	// The finalizer is written before the Workspace is created; the pass goes on from there.
	if err := writer.EnsureFinalizer(ctx, finalizer, apply); err != nil {
		return ctrl.Result{}, fmt.Errorf("adding finalizer: %w", err)
	}

	obs := &observation{
		workspaceName: workspaceName,
		redactor:      redactorFor(r.API, apply, nil, nil),
		now:           metav1.Now(),
	}
	wasStalled := conditions.IsTrue(apply, infrav1.DeletionStalledCondition)
	var validBefore metav1.Condition
	if c := conditions.Get(apply, infrav1.TemplateValidCondition); c != nil {
		validBefore = *c
	}
	defer func() {
		obs.err = retErr
		setStatus(apply, obs)
		if err := writer.Patch(ctx, apply, ownedConditions, retErr == nil); err != nil {
			retErr = kerrors.NewAggregate([]error{retErr, fmt.Errorf("patching WorkspaceTemplateApply: %w", err)})
			return
		}
		if stalled := conditions.Get(apply, infrav1.DeletionStalledCondition); !wasStalled && stalled != nil && stalled.Status == metav1.ConditionTrue && r.Recorder != nil {
			// The one event of a stalled deletion: a person has to act.
			r.Recorder.Eventf(apply, nil, "Warning", infrav1.DeletionStalledReason, "Delete", "%s", stalled.Message)
		}
		r.recordDrift(apply, obs.drift)
		if note := newlyIgnored(validBefore, conditions.Get(apply, infrav1.TemplateValidCondition)); note != "" && r.Recorder != nil {
			// Terraform's own warning, once per list of names rather than on every plan.
			r.Recorder.Eventf(apply, nil, "Warning", infrav1.VariablesIgnoredReason, "Reconcile", "%s", note)
		}
	}()

	if !apply.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, apply, obs)
	}
	return ctrl.Result{}, r.reconcileNormal(ctx, apply, obs)
}

// ownerCluster returns the Cluster named by the cluster-name label, for its paused flag.
// A WorkspaceTemplateApply without the label, or whose Cluster is gone, has none.
func (r *Reconciler) ownerCluster(ctx context.Context, apply *infrav1.WorkspaceTemplateApply) (*clusterv1.Cluster, error) {
	if apply.Labels[clusterv1.ClusterNameLabel] == "" {
		return nil, nil
	}
	cluster, err := util.GetClusterFromMetadata(ctx, r.Client, apply.ObjectMeta)
	switch {
	case err == nil:
		return cluster, nil
	case errors.Is(err, util.ErrNoCluster) || client.IgnoreNotFound(err) == nil:
		return nil, nil
	default:
		return nil, fmt.Errorf("getting Cluster of WorkspaceTemplateApply: %w", err)
	}
}

// finalizer is the WorkspaceTemplateApply finalizer, and its name before it had a path.
var finalizer = lifecycle.Finalizer{Name: infrav1.WorkspaceTemplateApplyFinalizer, Legacy: []string{infrav1.LegacyWorkspaceTemplateApplyFinalizer}}
