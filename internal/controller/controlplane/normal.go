package controlplane

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/workspaceref"
	"github.com/capt-dev/capt/internal/workspace"
)

// reconcileNormal waits for the infrastructure, keeps the WorkspaceTemplateApply in
// sync, and once the Workspace has outputs takes the endpoint and the secrets from
// them. Every wait ends with a watch event; the one exception, a Cluster that refuses
// the endpoint, is retried after the error interval.
func (r *Reconciler) reconcileNormal(ctx context.Context, cp *controlplanev1.CAPTControlPlane, cluster *clusterv1.Cluster) (ctrl.Result, error) {
	obs := observation{}
	defer func() { setStatus(cp, obs) }()

	infra, waiting, err := r.readInfrastructure(ctx, cluster)
	if err != nil || waiting != "" {
		obs.waitingForInfra = waiting
		return ctrl.Result{}, err
	}
	apply, err := r.reconcileApply(ctx, cp, cluster, infra)
	if err != nil {
		return ctrl.Result{}, err
	}
	obs.apply = apply
	cp.Status.WorkspaceTemplateApplyName = apply.Name

	ws, err := workspaceref.Get(ctx, r.Client, r.API, apply.Namespace, apply.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	applyReady := conditions.IsTrue(apply, infrav1.ReadyCondition)
	obs.versionApplied = applyReady && apply.Status.ObservedGeneration == apply.Generation &&
		apply.Spec.Variables["kubernetes_version"] == strings.TrimPrefix(cp.Spec.Version, "v")
	if ws == nil {
		return ctrl.Result{}, nil
	}
	connection, err := r.connectionSecret(ctx, cp)
	if err != nil {
		return ctrl.Result{}, err
	}
	outputs := workspace.ReadOutputs(ws, connection)
	if _, _, hasEndpoint := outputs.First(controlplanev1.EndpointOutputs...); !hasEndpoint && !applyReady {
		// Not applied yet: the Workspace's next status event brings the outputs.
		return ctrl.Result{}, nil
	}

	obs.endpointChecked = true
	persisted := cp.Spec.ControlPlaneEndpoint
	obs.endpoint = r.reconcileEndpoint(ctx, cp, cluster, outputs, ws, connection)
	obs.endpointPersisted = obs.endpoint == nil && persisted == cp.Spec.ControlPlaneEndpoint
	if obs.endpoint != nil {
		if obs.endpoint.reason == controlplanev1.EndpointUpdateFailedReason {
			// The Cluster refused the write (an admission policy, a webhook): nothing CAPT
			// watches will change, so try again after the error interval.
			return ctrl.Result{RequeueAfter: r.Intervals.Error}, nil
		}
		return ctrl.Result{}, nil
	}

	obs.secretsChecked = true
	var kubeconfigData, caPEM []byte
	prob := secretOutputsProblem(outputs, ws, connection)
	if prob == nil {
		kubeconfigData, caPEM, prob = desiredSecrets(cp, cluster, outputs, infra.region)
	}
	if prob == nil {
		prob = r.reconcileSecrets(ctx, cp, cluster, kubeconfigData, caPEM)
	}
	obs.secrets = prob
	if prob != nil && prob.reason == controlplanev1.SecretsNotReadyReason {
		// The API server failed a read or write: retry with backoff; the condition says why.
		return ctrl.Result{}, errors.New(prob.message)
	}
	return ctrl.Result{}, nil
}

// connectionSecret reads the Workspace's connection secret from the API server (Secrets
// are cached as metadata only); nil when it does not exist yet.
func (r *Reconciler) connectionSecret(ctx context.Context, cp *controlplanev1.CAPTControlPlane) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	if err := r.getSecret(ctx, client.ObjectKey{Namespace: cp.Namespace, Name: outputsSecretName(cp)}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading the Workspace's connection secret: %w", err)
	}
	return s, nil
}

// secretOutputsProblem checks what desiredSecrets takes as is: a CA output of another
// JSON type than string (its JSON text can decode as base64 and fail later with a less
// telling message), and the EKS cluster name a built kubeconfig passes to
// `aws eks get-token`, which must be a string that names an EKS cluster.
func secretOutputsProblem(outputs workspace.Outputs, ws *workspace.Workspace, connection *corev1.Secret) *problem {
	if name, _, ok := outputs.First(controlplanev1.CAOutputs...); ok {
		if t := outputType(ws, connection, name); t != "string" {
			return &problem{controlplanev1.CAInvalidReason, fmt.Sprintf("output %s is a JSON %s, want a string", name, t)}
		}
	}
	if _, _, ok := outputs.First(controlplanev1.KubeconfigOutputs...); ok {
		return nil
	}
	if name, value, ok := outputs.First(controlplanev1.ClusterNameOutputs...); ok {
		if t := outputType(ws, connection, name); t != "string" || len(value) > maxEKSNameLength || !eksName.MatchString(value) {
			return &problem{controlplanev1.KubeconfigInvalidReason, fmt.Sprintf(
				"output %s is not an EKS cluster name (letters, digits, - and _, at most %d characters) for the kubeconfig's aws eks get-token", name, maxEKSNameLength)}
		}
	}
	return nil
}

// eksName is an EKS cluster name; maxEKSNameLength is EKS's bound on it.
var eksName = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_-]*$`)

const maxEKSNameLength = 100
