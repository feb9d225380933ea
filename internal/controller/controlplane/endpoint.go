package controlplane

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/retry"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/endpoint"
	"github.com/capt-dev/capt/internal/workspace"
)

// reconcileEndpoint is the one place that sets the endpoint (CAPTEP-0016): it reads it
// from the outputs, validates it, sets spec.controlPlaneEndpoint (written by the
// deferred patch) and patches Cluster.spec.controlPlaneEndpoint when it differs. It
// returns the problem for the EndpointReady condition, or nil; retry says nothing CAPT
// watches will end it: the Cluster refused the write (an admission policy, a webhook),
// so only a pass after the error interval can.
func (r *Reconciler) reconcileEndpoint(ctx context.Context, cp *controlplanev1.CAPTControlPlane, cluster *clusterv1.Cluster, outputs workspace.Outputs, ws *workspace.Workspace, connection *corev1.Secret) (prob *observed.Problem, retry bool) {
	workspaceName := ws.Name
	name, value, ok := outputs.First(controlplanev1.EndpointOutputs...)
	if !ok {
		return &observed.Problem{Reason: controlplanev1.EndpointOutputMissingReason, Message: fmt.Sprintf(
			"Workspace %s is Ready but has no output %v", workspaceName, controlplanev1.EndpointOutputs)}, false
	}
	if t := outputType(ws, connection, name); t != "string" {
		return &observed.Problem{Reason: controlplanev1.EndpointInvalidReason, Message: fmt.Sprintf("output %s of Workspace %s is a JSON %s, want a string", name, workspaceName, t)}, false
	}
	host, port, err := endpoint.Parse(value)
	if err != nil {
		return &observed.Problem{Reason: controlplanev1.EndpointInvalidReason, Message: fmt.Sprintf("output %s of Workspace %s %s", name, workspaceName, err)}, false
	}
	want := infrav1.APIEndpoint{Host: host, Port: port}
	if cp.Spec.ControlPlaneEndpoint != want {
		if !cp.Spec.ControlPlaneEndpoint.IsZero() {
			// The first endpoint is announced by the Available event; a changed one is news.
			r.Recorder.Eventf(cp, nil, "Normal", "EndpointChanged", "SetEndpoint", "Control plane endpoint changed from %s to %s",
				endpoint.URL(cp.Spec.ControlPlaneEndpoint.Host, cp.Spec.ControlPlaneEndpoint.Port), endpoint.URL(host, port))
		}
		cp.Spec.ControlPlaneEndpoint = want
	}
	if err := r.setClusterEndpoint(ctx, cluster, want); err != nil {
		return &observed.Problem{Reason: controlplanev1.EndpointUpdateFailedReason, Message: "writing Cluster.spec.controlPlaneEndpoint: " + observed.Describe(err)}, true
	}
	return nil, false
}

// outputType is the JSON type of an output that has a value: "string" for one in the
// connection secret, which holds only text and wins on a shared name; the status
// output's type otherwise.
func outputType(ws *workspace.Workspace, connection *corev1.Secret, name string) string {
	if connection != nil {
		if _, ok := connection.Data[name]; ok {
			return "string"
		}
	}
	return ws.OutputType(name)
}

// setClusterEndpoint patches the Cluster's endpoint when it differs, retrying write
// conflicts with a fresh Cluster.
func (r *Reconciler) setClusterEndpoint(ctx context.Context, cluster *clusterv1.Cluster, want infrav1.APIEndpoint) error {
	wantCAPI := clusterv1.APIEndpoint{Host: want.Host, Port: want.Port}
	if cluster.Spec.ControlPlaneEndpoint == wantCAPI {
		return nil
	}
	fresh := cluster
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if fresh == nil {
			fresh = &clusterv1.Cluster{}
			if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(cluster), fresh); err != nil {
				return err
			}
			if fresh.Spec.ControlPlaneEndpoint == wantCAPI {
				return nil
			}
		}
		base := fresh.DeepCopy()
		fresh.Spec.ControlPlaneEndpoint = wantCAPI
		err := r.Client.Patch(ctx, fresh, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
		if err == nil {
			ctrl.LoggerFrom(ctx).V(4).Info("Set Cluster endpoint", "host", want.Host, "port", want.Port)
		}
		fresh = nil
		return err
	})
}

// clearClusterEndpoint empties the Cluster's endpoint (CAPTEP-0041 step 1).
func (r *Reconciler) clearClusterEndpoint(ctx context.Context, cluster *clusterv1.Cluster) (bool, error) {
	if cluster == nil || cluster.Spec.ControlPlaneEndpoint.IsZero() {
		return false, nil
	}
	base := cluster.DeepCopy()
	cluster.Spec.ControlPlaneEndpoint = clusterv1.APIEndpoint{}
	if err := r.Client.Patch(ctx, cluster, client.MergeFrom(base)); client.IgnoreNotFound(err) != nil {
		return false, fmt.Errorf("clearing Cluster.spec.controlPlaneEndpoint: %w", err)
	}
	return true, nil
}
