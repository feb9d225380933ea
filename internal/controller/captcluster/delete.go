package captcluster

import (
	"context"
	"fmt"

	"github.com/capt-dev/capt/internal/controller/observed"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/childapply"
)

// reconcileDelete waits for the Cluster's control plane to be gone, then deletes the VPC
// WorkspaceTemplateApply and waits until it (and so its Workspace, unless retained) is
// gone, then removes the finalizer. Each step records itself in s before it acts, so
// the Deleting condition names it, and its failure.
func (r *Reconciler) reconcileDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	cc, cluster := s.cc, s.cluster
	if cluster != nil {
		ref := cluster.Spec.ControlPlaneRef
		s.Deleting(infrav1.WaitingForControlPlaneDeletionReason, fmt.Sprintf("Waiting for control plane %s %s to be deleted", ref.Kind, ref.Name))
		exists, watched, err := r.controlPlaneExists(ctx, cluster)
		if err != nil {
			return ctrl.Result{}, err
		}
		if exists {
			if !watched {
				// A control plane kind CAPT does not watch: look again after the interval.
				return ctrl.Result{RequeueAfter: r.Intervals.Default}, nil
			}
			return ctrl.Result{}, nil
		}
	} else {
		// The Cluster went first (deleted without Cluster API's finalizer, or its owner
		// references lost): its CAPTControlPlane, found by the cluster-name label, may
		// still be running on this VPC.
		s.Deleting(infrav1.WaitingForControlPlaneDeletionReason, "Looking for the control plane of the deleted Cluster")
		name, err := r.labelledControlPlane(ctx, cc)
		if err != nil {
			return ctrl.Result{}, err
		}
		if name != "" {
			s.Deleting(infrav1.WaitingForControlPlaneDeletionReason, fmt.Sprintf("Waiting for control plane CAPTControlPlane %s to be deleted (the Cluster is gone)", name))
			return ctrl.Result{}, nil
		}
	}

	reason, what := infrav1.WaitingForWorkspaceDeletionReason, "its Workspace to be destroyed"
	if cc.Spec.RetainVPCOnDelete {
		reason, what = infrav1.VPCRetainedReason, "it to release the retained VPC Workspace"
	}
	gone, err := childapply.Delete(ctx, r.Client, cc, childapply.Deletion{
		Name: applyName(cc), Retain: &cc.Spec.RetainVPCOnDelete,
		Wait: observed.Step{Reason: reason, Message: fmt.Sprintf("Waiting for WorkspaceTemplateApply %s and %s", applyName(cc), what)},
	}, &s.Pass)
	if err != nil || !gone {
		return ctrl.Result{}, err
	}
	s.Finished, err = finalizer.Release(ctx, r.APIReader, cc, func() error {
		if cc.Spec.RetainVPCOnDelete && cc.Status.VPC != nil {
			cc.Status.VPC.Retained = true
			// A VPC left behind is someone's to clean up: the one deletion event.
			r.Recorder.Eventf(cc, nil, "Normal", "VPCRetained", "Delete", "VPC %s retained (retainVPCOnDelete); it is no longer managed", cc.Status.VPC.ID)
		}
		return nil
	})
	return ctrl.Result{}, err
}

// controlPlaneExists reports whether the Cluster's control plane object still exists,
// and whether CAPT watches its kind (CAPTControlPlane) so that its deletion wakes us.
func (r *Reconciler) controlPlaneExists(ctx context.Context, cluster *clusterv1.Cluster) (exists, watched bool, err error) {
	ref := cluster.Spec.ControlPlaneRef
	if !ref.IsDefined() {
		return false, true, nil
	}
	var obj client.Object
	reader := r.APIReader
	if ref.Kind == "CAPTControlPlane" && ref.APIGroup == controlplanev1.GroupVersion.Group {
		obj, watched, reader = &controlplanev1.CAPTControlPlane{}, true, r.Client
	} else {
		mapping, err := r.Client.RESTMapper().RESTMapping(schema.GroupKind{Group: ref.APIGroup, Kind: ref.Kind})
		if err != nil {
			return false, false, fmt.Errorf("resolving control plane kind %s: %w", ref.Kind, err)
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(mapping.GroupVersionKind)
		obj = u
	}
	err = reader.Get(ctx, client.ObjectKey{Namespace: cluster.Namespace, Name: ref.Name}, obj)
	if apierrors.IsNotFound(err) {
		return false, watched, nil
	}
	if err != nil {
		return false, watched, fmt.Errorf("getting control plane %s: %w", ref.Name, err)
	}
	return true, watched, nil
}

// labelledControlPlane returns the name of a CAPTControlPlane of the CAPTCluster's
// Cluster, by the cluster-name label; "" when there is none.
func (r *Reconciler) labelledControlPlane(ctx context.Context, cc *infrav1.CAPTCluster) (string, error) {
	clusterName := cc.Labels[clusterv1.ClusterNameLabel]
	if clusterName == "" {
		return "", nil
	}
	list := &controlplanev1.CAPTControlPlaneList{}
	if err := r.Client.List(ctx, list, client.InNamespace(cc.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: clusterName}); err != nil {
		return "", fmt.Errorf("listing control planes of Cluster %s: %w", clusterName, err)
	}
	if len(list.Items) == 0 {
		return "", nil
	}
	return list.Items[0].Name, nil
}
