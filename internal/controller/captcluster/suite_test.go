package captcluster

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/workspaceapply"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/requeue"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Run(m, func(e *testenv.Env) { env = e }, testenv.Reusable)
}

var api = workspace.DefaultAPI()

func startControllers(t *testing.T) *testenv.WriteCounter {
	t.Helper()
	return env.StartManager(t, controllers)
}

// controllers sets up the WorkspaceTemplateApply and CAPTCluster controllers.
func controllers(ctx context.Context, mgr ctrl.Manager, c client.Client) error {
	if err := (&workspaceapply.Reconciler{Client: c, APIReader: mgr.GetAPIReader(), API: api}).SetupWithManager(ctx, mgr, controller.Options{}); err != nil {
		return err
	}
	return (&Reconciler{Client: c, APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("captcluster-controller"), API: api, Intervals: requeue.Defaults()}).
		SetupWithManager(ctx, mgr, controller.Options{})
}

var nsCounter atomic.Int32

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cc-%d", nsCounter.Add(1))}}
	create(t, ns)
	create(t, &infrav1.WorkspaceTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "vpc"},
		Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
			ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: `variable "region" {}`},
		}}},
	})
	return ns.Name
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := env.Client.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

// newCluster creates a Cluster and its CAPTCluster as Cluster API core links them.
func newCluster(t *testing.T, ns, name string, spec infrav1.CAPTClusterSpec) (*clusterv1.Cluster, *infrav1.CAPTCluster) {
	t.Helper()
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clusterv1.ClusterSpec{InfrastructureRef: clusterv1.ContractVersionedObjectReference{
			APIGroup: infrav1.GroupVersion.Group, Kind: "CAPTCluster", Name: name}}}
	create(t, cluster)
	cc := &infrav1.CAPTCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{clusterv1.ClusterNameLabel: name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster", Name: name, UID: cluster.UID}}},
		Spec: spec,
	}
	create(t, cc)
	return cluster, cc
}

func byTemplate() infrav1.CAPTClusterSpec {
	return infrav1.CAPTClusterSpec{Region: "us-west-2", VPCTemplateRef: &infrav1.WorkspaceTemplateReference{Name: "vpc"},
		VPCConfig: &infrav1.VPCConfig{CIDR: "10.0.0.0/16"}}
}

func getCC(t *testing.T, cc *infrav1.CAPTCluster) *infrav1.CAPTCluster {
	t.Helper()
	out := &infrav1.CAPTCluster{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(cc), out); err != nil {
		t.Fatalf("get CAPTCluster: %v", err)
	}
	return out
}

func cond(cc *infrav1.CAPTCluster, t string) metav1.Condition {
	for _, c := range cc.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return metav1.Condition{}
}

func waitCC(t *testing.T, cc *infrav1.CAPTCluster, what string, check func(*infrav1.CAPTCluster) error) *infrav1.CAPTCluster {
	t.Helper()
	var got *infrav1.CAPTCluster
	testenv.Eventually(t, what, func() error {
		got = getCC(t, cc)
		return check(got)
	})
	return got
}

// vpcReady waits for VPCReady with reason, and the phase that goes with it (the patch
// helper writes conditions before the rest of the status).
func vpcReady(status metav1.ConditionStatus, reason, phase string) func(*infrav1.CAPTCluster) error {
	return func(cc *infrav1.CAPTCluster) error {
		c := cond(cc, infrav1.VPCReadyCondition)
		if c.Status != status || c.Reason != reason || cc.Status.Phase != phase {
			return fmt.Errorf("VPCReady %s/%s (%s), phase %s", c.Status, c.Reason, c.Message, cc.Status.Phase)
		}
		return nil
	}
}

func workspaceName(cc *infrav1.CAPTCluster) string {
	return render.WorkspaceName(api, cc.Namespace, applyName(cc))
}

// provide plays provider-terraform on the VPC Workspace.
func provide(t *testing.T, cc *infrav1.CAPTCluster, ready, synced string, message string, outputs map[string]any) {
	t.Helper()
	testenv.Eventually(t, "set VPC Workspace status", func() error {
		u := api.NewObject()
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: workspaceName(cc)}, u); err != nil {
			return err
		}
		now := time.Now().UTC().Format(time.RFC3339)
		_ = unstructured.SetNestedSlice(u.Object, []any{
			map[string]any{"type": "Synced", "status": synced, "reason": "ReconcileSuccess", "message": message, "lastTransitionTime": now},
			map[string]any{"type": "Ready", "status": ready, "reason": "Available", "message": message, "lastTransitionTime": now, "observedGeneration": u.GetGeneration()},
		}, "status", "conditions")
		_ = unstructured.SetNestedMap(u.Object, outputs, "status", "atProvider", "outputs")
		return env.Client.Status().Update(context.Background(), u)
	})
}

func goodOutputs() map[string]any {
	return map[string]any{
		"vpc_id":             "vpc-0123456789abcdef0",
		"private_subnet_ids": []any{"subnet-a", "subnet-b"},
		"public_subnet_ids":  []any{"subnet-c"},
		"availability_zones": []any{"us-west-2a", "us-west-2b"},
	}
}

func gone(obj client.Object) error { return env.Gone(obj) }
