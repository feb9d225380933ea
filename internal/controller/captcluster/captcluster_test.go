package captcluster

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestVPCByTemplateErrorAndRecovery provisions a VPC from a template: a failing apply is
// a VPCFailed condition (never Ready), fixing it clears the error in the pass that sets
// Ready, and the outputs reach the status and the failure domains.
func TestVPCByTemplateErrorAndRecovery(t *testing.T) {
	ctx := context.Background()
	writes := startControllers(t)
	ns := newNamespace(t)
	_, cc := newCluster(t, ns, "vpc-demo", byTemplate())

	apply := &infrav1.WorkspaceTemplateApply{}
	testenv.Eventually(t, "VPC apply created", func() error {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: applyName(cc)}, apply)
	})
	if apply.Spec.Variables["region"] != "us-west-2" || apply.Spec.Variables["vpc_cidr"] != "10.0.0.0/16" || apply.Spec.Variables["cluster_name"] != "vpc-demo" {
		t.Errorf("variables = %v", apply.Spec.Variables)
	}
	waitCC(t, cc, "provisioning", vpcReady(metav1.ConditionFalse, infrav1.VPCProvisioningReason, infrav1.PhaseProvisioning))

	provide(t, cc, "False", "False", "apply failed: quota exceeded", nil)
	got := waitCC(t, cc, "failed", vpcReady(metav1.ConditionFalse, infrav1.VPCFailedReason, infrav1.PhaseFailed))
	if r := cond(got, infrav1.ReadyCondition); r.Status != metav1.ConditionFalse || r.Reason != infrav1.VPCFailedReason || got.Status.Ready {
		t.Errorf("Ready %+v, status.ready %v while the VPC fails", r, got.Status.Ready)
	}

	provide(t, cc, "True", "True", "", goodOutputs())
	got = waitCC(t, cc, "provisioned", vpcReady(metav1.ConditionTrue, infrav1.ReadyReason, infrav1.PhaseProvisioned))
	if r := cond(got, infrav1.ReadyCondition); r.Status != metav1.ConditionTrue {
		t.Errorf("Ready %+v", r)
	}
	if !ptr.Deref(got.Status.Initialization.Provisioned, false) || !got.Status.Ready {
		t.Errorf("provisioned %v, ready %v", got.Status.Initialization.Provisioned, got.Status.Ready)
	}
	if v := got.Status.VPC; v == nil || v.ID != "vpc-0123456789abcdef0" || len(v.PrivateSubnetIDs) != 2 || len(v.PublicSubnetIDs) != 1 {
		t.Errorf("vpc = %+v", v)
	}
	if fd := got.Status.FailureDomains; len(fd) != 2 || fd[0].Name != "us-west-2a" || !ptr.Deref(fd[0].ControlPlane, false) {
		t.Errorf("failure domains = %+v", fd)
	}

	// Garbage outputs: a clear condition, and still provisioned (no revert, no terminal failure).
	provide(t, cc, "True", "True", "", map[string]any{"vpc_id": "vpc-1", "availability_zones": "{not a list"})
	got = waitCC(t, cc, "outputs invalid", vpcReady(metav1.ConditionFalse, infrav1.VPCOutputsInvalidReason, infrav1.PhaseFailed))
	if !ptr.Deref(got.Status.Initialization.Provisioned, false) {
		t.Error("provisioned went back to false")
	}
	provide(t, cc, "True", "True", "", goodOutputs())
	waitCC(t, cc, "recovered", vpcReady(metav1.ConditionTrue, infrav1.ReadyReason, infrav1.PhaseProvisioned))

	// At rest: a pass with nothing to do writes nothing.
	writes.Settle(time.Second)
	before := testenv.ReconcileTotal(controllerName)
	writes.Reset()
	testenv.Eventually(t, "touch", func() error {
		c := getCC(t, cc)
		c.Annotations = map[string]string{"touched": "1"}
		return env.Client.Update(ctx, c)
	})
	testenv.Eventually(t, "a reconcile ran", func() error {
		if testenv.ReconcileTotal(controllerName) <= before {
			return fmt.Errorf("none yet")
		}
		return nil
	})
	writes.Settle(time.Second)
	if writes.Total() != 0 {
		t.Errorf("a pass at rest wrote: %s", writes)
	}
}

// TestExistingVPC uses a VPC id as is: no WorkspaceTemplateApply.
func TestExistingVPC(t *testing.T) {
	startControllers(t)
	ns := newNamespace(t)
	private, public := []string{"subnet-0000000a", "subnet-0000000b"}, []string{"subnet-0000000c"}
	_, cc := newCluster(t, ns, "byid", infrav1.CAPTClusterSpec{Region: "eu-west-1", ExistingVPCID: "vpc-01234567",
		ExistingSubnets: &infrav1.ExistingSubnets{PrivateSubnetIDs: private, PublicSubnetIDs: public}})
	got := waitCC(t, cc, "provisioned", vpcReady(metav1.ConditionTrue, infrav1.ExistingVPCReason, infrav1.PhaseProvisioned))
	if got.Status.VPC == nil || got.Status.VPC.ID != "vpc-01234567" || !got.Status.Ready {
		t.Errorf("status = %+v", got.Status)
	}
	// The subnets are reported where a created VPC's are: the control plane and the node
	// groups read them there (clusterinfra.Read), and EKS refuses a cluster without them.
	if vpc := got.Status.VPC; vpc == nil || !slices.Equal(vpc.PrivateSubnetIDs, private) || !slices.Equal(vpc.PublicSubnetIDs, public) {
		t.Errorf("status.vpc = %+v, want private subnets %v and public %v", got.Status.VPC, private, public)
	}
	if err := gone(&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: applyName(cc)}}); err != nil {
		t.Error("a WorkspaceTemplateApply was created for an existing VPC")
	}
}

// TestDeletionWaitsForTheControlPlane deletes the CAPTCluster while its Cluster's control
// plane exists: nothing is deleted until the control plane is gone; then the VPC goes.
func TestDeletionWaitsForTheControlPlane(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	cluster, cc := newCluster(t, ns, "ordered", byTemplate())
	cp := &controlplanev1.CAPTControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ordered-cp",
		Labels: map[string]string{"cluster.x-k8s.io/cluster-name": "ordered"}, Finalizers: []string{"test/hold"}},
		Spec: controlplanev1.CAPTControlPlaneSpec{Version: "v1.31.0", WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "eks"}}}
	create(t, cp)
	testenv.Eventually(t, "set controlPlaneRef", func() error {
		c := cluster.DeepCopy()
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cluster), c); err != nil {
			return err
		}
		c.Spec.ControlPlaneRef.APIGroup, c.Spec.ControlPlaneRef.Kind, c.Spec.ControlPlaneRef.Name = controlplanev1.GroupVersion.Group, "CAPTControlPlane", cp.Name
		return env.Client.Update(ctx, c)
	})
	provide(t, cc, "True", "True", "", goodOutputs())
	waitCC(t, cc, "provisioned", vpcReady(metav1.ConditionTrue, infrav1.ReadyReason, infrav1.PhaseProvisioned))

	if err := env.Client.Delete(ctx, getCC(t, cc)); err != nil {
		t.Fatal(err)
	}
	waitCC(t, cc, "waiting for the control plane", func(c *infrav1.CAPTCluster) error {
		if d := cond(c, infrav1.DeletingCondition); d.Reason != infrav1.WaitingForControlPlaneDeletionReason {
			return fmt.Errorf("Deleting %+v", d)
		}
		return nil
	})
	if a := (&infrav1.WorkspaceTemplateApply{}); env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: applyName(cc)}, a) != nil || a.DeletionTimestamp != nil {
		t.Fatal("the VPC apply was deleted before the control plane")
	}
	if err := env.Client.Delete(ctx, cp); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "release the control plane", func() error {
		c := &controlplanev1.CAPTControlPlane{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cp), c); err != nil {
			return client.IgnoreNotFound(err)
		}
		c.Finalizers = nil
		return env.Client.Update(ctx, c)
	})
	testenv.Eventually(t, "CAPTCluster gone", func() error { return gone(&infrav1.CAPTCluster{ObjectMeta: cc.ObjectMeta}) })
	// The CAPTCluster goes only after its apply, and the apply only after its Workspace:
	// the VPC Workspace (which existed: provide set its status) must be gone already.
	if err := env.Client.Get(ctx, client.ObjectKey{Name: workspaceName(cc)}, api.NewObject()); !apierrors.IsNotFound(err) {
		t.Errorf("VPC Workspace %s left behind (get: %v)", workspaceName(cc), err)
	}
}

// TestRetainedVPCSurvives deletes a CAPTCluster with retainVpcOnDelete: the VPC
// Workspace stays, the CAPTCluster goes.
func TestRetainedVPCSurvives(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	spec := byTemplate()
	spec.RetainVPCOnDelete = true
	_, cc := newCluster(t, ns, "kept", spec)
	provide(t, cc, "True", "True", "", goodOutputs())
	waitCC(t, cc, "provisioned", vpcReady(metav1.ConditionTrue, infrav1.ReadyReason, infrav1.PhaseProvisioned))
	if err := env.Client.Delete(ctx, getCC(t, cc)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "CAPTCluster gone", func() error { return gone(&infrav1.CAPTCluster{ObjectMeta: cc.ObjectMeta}) })
	u := api.NewObject()
	if err := env.Client.Get(ctx, client.ObjectKey{Name: workspaceName(cc)}, u); err != nil || u.GetDeletionTimestamp() != nil || len(u.GetOwnerReferences()) != 0 {
		t.Fatalf("retained VPC Workspace: %v, deleting %v, owners %v", err, u.GetDeletionTimestamp(), u.GetOwnerReferences())
	}
}
