package controlplane

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cluster-api/util/conditions"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/childapply"
	"github.com/capt-dev/capt/internal/controller/clusterinfra"
	"github.com/capt-dev/capt/internal/workspace"
)

// reconcileNormal waits for the infrastructure, keeps the WorkspaceTemplateApply in
// sync, and once the Workspace has outputs takes the endpoint and the secrets from
// them. It records what it finds in s; the deferred status reads it. Every wait ends
// with a watch event; the exceptions, a Cluster that refuses the endpoint and a secret
// the API server refuses, are retried after the error interval.
func (r *Reconciler) reconcileNormal(ctx context.Context, s *scope) (ctrl.Result, error) {
	cp, cluster := s.cp, s.cluster
	infra, waiting, err := clusterinfra.Read(ctx, r.Client, cluster)
	if err != nil || waiting != "" {
		s.waitingForInfra = waiting
		return ctrl.Result{}, err
	}
	child, err := r.ensureApply(ctx, s, infra)
	if err != nil || child.Workspace == nil {
		return ctrl.Result{}, err
	}
	apply, ws := child.Apply, child.Workspace
	connection, err := r.connectionSecret(ctx, cp)
	if err != nil {
		return ctrl.Result{}, err
	}
	outputs := workspace.ReadOutputs(ws, connection)
	s.eksOutputs = readEKSOutputs(outputs)
	if _, _, hasEndpoint := outputs.First(controlplanev1.EndpointOutputs...); !hasEndpoint && !conditions.IsTrue(apply, infrav1.ReadyCondition) {
		// Not applied yet: the Workspace's next status event brings the outputs.
		return ctrl.Result{}, nil
	}

	s.endpointChecked = true
	var retry bool
	if s.endpointProblem, retry = r.reconcileEndpoint(ctx, cp, cluster, outputs, ws, connection); s.endpointProblem != nil {
		if retry {
			return ctrl.Result{RequeueAfter: r.Intervals.Error}, nil
		}
		return ctrl.Result{}, nil
	}

	p, err := r.publish(ctx, cp, cluster, outputs, ws, connection, infra.Region)
	s.published = &p
	if err != nil {
		return ctrl.Result{}, err
	}
	if p.retry {
		// The API server refused a secret, or no token could be minted: the conditions
		// say why.
		return ctrl.Result{RequeueAfter: r.Intervals.Error}, nil
	}
	if !p.refreshAt.IsZero() {
		// The one timer of a running control plane: the EKS token is replaced before it
		// expires, and no event marks that moment.
		return ctrl.Result{RequeueAfter: max(time.Until(p.refreshAt), time.Second)}, nil
	}
	return ctrl.Result{}, nil
}

// ensureApply keeps the WorkspaceTemplateApply at the version the control plane takes
// next (nextVersion) and records in s the version its Workspace runs. When the apply
// reports a step of an upgrade done, the same pass renders the next step: the version
// reached is written with the status, an update of CAPT's own status brings no pass. A
// version counts as reached when the apply is Ready with it and, after a change, the
// Workspace shows it (versionEvidence); the first version is the one the Workspace was
// created with.
func (r *Reconciler) ensureApply(ctx context.Context, s *scope, infra *clusterinfra.Infrastructure) (childapply.Child, error) {
	cp, cluster := s.cp, s.cluster
	initialized := ptr.Deref(cp.Status.Initialization.ControlPlaneInitialized, false)
	s.runningVersion = cp.Status.Version
	addons, err := r.addons(ctx, s)
	if err != nil {
		return childapply.Child{}, err
	}
	var child childapply.Child
	// Two rounds at most: a step found done, then the next step written (the apply then
	// reports on a generation it has not applied yet).
	for range 2 {
		next := nextVersion(cp.Spec.Version, s.runningVersion, initialized)
		child, err = childapply.Observe(ctx, r.Client, r.APIReader, r.API, cp, childapply.Spec{
			Name:             applyName(cp),
			ClusterName:      cluster.Name,
			TemplateRef:      childapply.TemplateRef(cp.Spec.WorkspaceTemplateRef, cp.Namespace),
			Variables:        Variables(cp, cluster, infra, next, addons),
			ConnectionSecret: &infrav1.SecretReference{Name: outputsSecretName(cp), Namespace: cp.Namespace},
			Adopt:            cp.Spec.Adopt,
		})
		if child.Apply != nil {
			s.apply, s.applyingVersion = child.Apply, next
			cp.Status.WorkspaceTemplateApplyName = child.Apply.Name
		}
		if err != nil {
			return child, err
		}
		ready := child.Ready
		if ready == nil || ready.Status != metav1.ConditionTrue || child.Apply.Spec.Variables["kubernetes_version"] != terraformVersion(next) {
			return child, nil
		}
		if s.runningVersion != "" && s.runningVersion != next {
			// A change of version: Ready must be shown to be Ready with it.
			if child.Workspace == nil {
				return child, nil
			}
			applied, why := versionEvidence(child.Workspace, next)
			if s.versionUnconfirmed = why; !applied {
				return child, nil
			}
		}
		s.runningVersion = next
		if next == cp.Spec.Version {
			return child, nil
		}
	}
	return child, nil
}

// addons are the add-ons the apply gets in this pass; those held until the Cluster's
// first node group is Ready are recorded in s. The node group applies are read only while
// an add-on could be held; their Ready transitions bring the pass that releases it.
func (r *Reconciler) addons(ctx context.Context, s *scope) ([]controlplanev1.Addon, error) {
	want := WantedAddons(s.cp)
	if len(want) == 0 {
		return nil, nil
	}
	current := &infrav1.WorkspaceTemplateApply{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: s.cp.Namespace, Name: applyName(s.cp)}, current); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading WorkspaceTemplateApply %s: %w", applyName(s.cp), err)
		}
		current = nil
	}
	rendered := renderedAddons(current)
	send, held := addonsToRender(want, rendered, false)
	if len(held) > 0 {
		// Only now do the node groups matter: one Ready releases what is held.
		groups, err := r.nodeGroupApplies(ctx, s.cp, s.cluster)
		if err != nil {
			return nil, err
		}
		send, held = addonsToRender(want, rendered, anyReady(groups))
	}
	s.heldAddons = held
	return send, nil
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
