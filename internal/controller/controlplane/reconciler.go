// Package controlplane reconciles CAPTControlPlanes: it renders the control plane's
// WorkspaceTemplateApply, takes the endpoint and CA from the Workspace's outputs, writes
// them to the control plane, the Cluster and the contract's secrets, and deletes in the
// order of CAPTEP-0041.
package controlplane

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"sigs.k8s.io/cluster-api/util"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/lifecycle"
	"github.com/capt-dev/capt/internal/requeue"
	"github.com/capt-dev/capt/internal/workspace"
)

// Reconciler reconciles CAPTControlPlanes.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads Secrets, which are cached as metadata only, and fresh Clusters
	// after a write conflict.
	APIReader client.Reader
	// Recorder emits one event per transition.
	Recorder events.EventRecorder
	// API is the Workspace API group.
	API workspace.API
	// Intervals are CAPTEP-0016's requeue intervals, for waits no watch can end.
	Intervals requeue.Intervals
	// WatchFilterValue limits reconciles to objects with this watch-filter label value.
	WatchFilterValue string
	// DefaultCredentials sign the EKS tokens of control planes without spec.identityRef:
	// the manager's default chain (IRSA, Pod Identity, environment, shared config); nil
	// when the manager has none configured.
	DefaultCredentials aws.CredentialsProvider
	// DefaultRegion is the manager's AWS region (AWS_REGION, shared config): the STS
	// region of a token when neither the CAPTCluster nor the endpoint names one.
	DefaultRegion string
	// TokenRefreshInterval is how old an EKS token gets before it is replaced
	// (DefaultTokenRefreshInterval when zero).
	TokenRefreshInterval time.Duration

	// writes lets a pass read the controller's own last write of its control plane.
	writes lifecycle.LastWrites
}

var ownedConditions = []string{
	infrav1.ReadyCondition, controlplanev1.AvailableCondition, controlplanev1.WorkspaceReadyCondition,
	controlplanev1.EndpointReadyCondition, controlplanev1.SecretsReadyCondition, controlplanev1.RollingOutCondition,
	controlplanev1.TokenReadyCondition,
	infrav1.DeletingCondition, infrav1.DeletionStalledCondition, infrav1.PausedCondition,
}

// +kubebuilder:rbac:groups=controlplane.cluster.x-k8s.io,resources=captcontrolplanes,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=controlplane.cluster.x-k8s.io,resources=captcontrolplanes/status,verbs=patch
// +kubebuilder:rbac:groups=controlplane.cluster.x-k8s.io,resources=captcontrolplanes/finalizers,verbs=update
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=workspacetemplateapplies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=captclusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=tf.upbound.io;tf.m.upbound.io;opentofu.upbound.io;opentofu.m.upbound.io,resources=workspaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=clusters,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile runs the preamble (get, own last write, owner Cluster, pause, finalizer,
// one deferred status and write), then the normal or the delete path. The status is
// computed in the deferred function from the pass's scope, whatever path it took and
// wherever it stopped.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	cp := &controlplanev1.CAPTControlPlane{}
	writer, err := r.writes.Start(ctx, r.Client, r.APIReader, req.NamespacedName, cp, r.WatchFilterValue)
	if writer == nil {
		return ctrl.Result{}, err
	}

	cluster, err := util.GetOwnerCluster(ctx, r.Client, cp.ObjectMeta)
	if client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("getting owner Cluster: %w", err)
	}
	if cluster == nil && cp.DeletionTimestamp.IsZero() {
		// Cluster API sets the owner reference; its update event brings the next pass.
		ctrl.LoggerFrom(ctx).V(4).Info("Waiting for Cluster API to set the owner Cluster")
		return ctrl.Result{}, nil
	}
	if cluster != nil {
		ctx = ctrl.LoggerInto(ctx, ctrl.LoggerFrom(ctx).WithValues("Cluster", klog.KObj(cluster)))
	}
	if stop, err := writer.Hold(ctx, cluster, cp, finalizer); stop {
		return ctrl.Result{}, err
	}

	before := cp.DeepCopy()
	s := &scope{cp: cp, cluster: cluster, writer: writer}
	defer func() {
		s.Err = retErr
		setStatus(s)
		r.emitTransitions(before, cp)
		retErr = writer.Finish(ctx, cp, ownedConditions, retErr)
	}()

	if !cp.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, s)
	}
	return r.reconcileNormal(ctx, s)
}

// finalizer is the CAPTControlPlane finalizer, and its name before it had a path.
var finalizer = lifecycle.Finalizer{Name: controlplanev1.CAPTControlPlaneFinalizer, Legacy: []string{controlplanev1.LegacyCAPTControlPlaneFinalizer}}
