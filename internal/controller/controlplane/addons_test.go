package controlplane

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestAddonsThatNeedNodesWaitForANodeGroup: a control plane asking for vpc-cni and
// coredns creates its EKS cluster with vpc-cni only (coredns would stay degraded without
// Nodes, and Terraform would wait for it until its timeout); WorkspaceReady says coredns
// waits; when a node group of the Cluster becomes Ready, that transition alone brings the
// pass that adds coredns to the apply.
func TestAddonsThatNeedNodesWaitForANodeGroup(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "addons"},
		Spec: clusterv1.ClusterSpec{ControlPlaneRef: clusterv1.ContractVersionedObjectReference{
			APIGroup: controlplanev1.GroupVersion.Group, Kind: "CAPTControlPlane", Name: "addons-cp"}}}
	create(t, cluster)
	cp := &controlplanev1.CAPTControlPlane{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "addons-cp", Labels: map[string]string{clusterv1.ClusterNameLabel: "addons"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster", Name: "addons", UID: cluster.UID}}},
		Spec: controlplanev1.CAPTControlPlaneSpec{Version: "v1.31.2", WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "eks"},
			ControlPlaneConfig: &controlplanev1.ControlPlaneConfig{Addons: []controlplanev1.Addon{{Name: "vpc-cni"}, {Name: "coredns", Version: "v1.11.3-eksbuild.1"}}}},
	}
	create(t, cp)

	addons := func() (string, error) {
		a := &infrav1.WorkspaceTemplateApply{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: applyName(cp)}, a); err != nil {
			return "", err
		}
		return a.Spec.Variables["addons"], nil
	}
	testenv.Eventually(t, "the apply has vpc-cni only", func() error {
		got, err := addons()
		if err == nil && got != `[{"name":"vpc-cni"}]` {
			err = fmt.Errorf("addons %s", got)
		}
		return err
	})
	goodProvider(t).apply(t, cp)
	waitReady(t, cp, "Ready without coredns")
	waitCP(t, cp, "WorkspaceReady names the add-on that waits", func(c *controlplanev1.CAPTControlPlane) error {
		return contains(cond(c, controlplanev1.WorkspaceReadyCondition).Message, "Add-ons coredns wait for the Cluster's first node group")
	})

	// A node group of the Cluster: its apply, controlled by a CAPTMachinePool, and its
	// Workspace, which provider-terraform (played here) reports Ready.
	create(t, &infrav1.WorkspaceTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nodegroup"},
		Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
			ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: `variable "cluster_name" {}`}}}}})
	pool := &infrav1.WorkspaceTemplateApply{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "addons-pool-nodegroup", Labels: map[string]string{clusterv1.ClusterNameLabel: "addons"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: infrav1.GroupVersion.String(), Kind: "CAPTMachinePool", Name: "addons-pool",
				UID: "00000000-0000-0000-0000-000000000002", Controller: ptr.To(true)}}},
		Spec: infrav1.WorkspaceTemplateApplySpec{TemplateRef: infrav1.WorkspaceTemplateReference{Name: "nodegroup"},
			Variables: map[string]string{"cluster_name": "addons"}},
	}
	create(t, pool)
	testenv.Consistently(t, "coredns still waits while the node group is not Ready", 2*time.Second, func() error {
		got, err := addons()
		if err == nil && got != `[{"name":"vpc-cni"}]` {
			err = fmt.Errorf("addons %s before a node group is Ready", got)
		}
		return err
	})
	testenv.Eventually(t, "node group Workspace Ready", func() error {
		u := api.NewObject()
		if err := env.Client.Get(ctx, client.ObjectKey{Name: render.WorkspaceName(api, ns, pool.Name)}, u); err != nil {
			return err
		}
		now := time.Now().UTC().Format(time.RFC3339)
		_ = unstructured.SetNestedSlice(u.Object, []any{
			map[string]any{"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": now},
			map[string]any{"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": now, "observedGeneration": u.GetGeneration()},
		}, "status", "conditions")
		return env.Client.Status().Update(ctx, u)
	})
	testenv.Eventually(t, "the apply has coredns too", func() error {
		got, err := addons()
		if err == nil && got != `[{"name":"vpc-cni"},{"name":"coredns","version":"v1.11.3-eksbuild.1"}]` {
			err = fmt.Errorf("addons %s", got)
		}
		return err
	})
}
