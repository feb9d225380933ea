package machinepool

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/workspaceapply"
	"github.com/capt-dev/capt/internal/kubeconfig"
	"github.com/capt-dev/capt/internal/render"
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

// controllers sets up the WorkspaceTemplateApply and CAPTMachinePool controllers, with a
// ClusterCache as the manager sets it up: the workload cluster is the test's own API
// server, reached through <cluster>-kubeconfig.
func controllers(ctx context.Context, mgr ctrl.Manager, c client.Client) error {
	if err := (&workspaceapply.Reconciler{Client: c, APIReader: mgr.GetAPIReader(), API: api}).SetupWithManager(ctx, mgr, controller.Options{}); err != nil {
		return err
	}
	cc, err := NewClusterCache(ctx, mgr, "", controller.Options{})
	if err != nil {
		return err
	}
	return (&Reconciler{Client: c, APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("captmachinepool-controller"),
		ClusterCache: cc, API: api}).SetupWithManager(ctx, mgr, controller.Options{})
}

var nsCounter atomic.Int32

// newNamespace creates a namespace with the node group WorkspaceTemplate.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("mp-%d", nsCounter.Add(1))}}
	create(t, ns)
	create(t, &infrav1.WorkspaceTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "nodegroup"},
		Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
			ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: `variable "cluster_name" {}`},
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

// fixture is a Cluster with an initialized control plane, its provisioned CAPTCluster,
// the kubeconfig secret that reaches the test API server as the workload cluster, and a
// MachinePool with its CAPTMachinePool, linked as Cluster API links them.
type fixture struct {
	cluster *clusterv1.Cluster
	owner   *clusterv1.MachinePool
	mp      *infrav1.CAPTMachinePool
}

func newFixture(t *testing.T, ns, name string, replicas int32, spec infrav1.CAPTMachinePoolSpec, ownerAnnotations map[string]string) *fixture {
	t.Helper()
	f := newFixtureBeforeControlPlane(t, ns, name, replicas, spec, ownerAnnotations)
	markControlPlaneInitialized(t, f.cluster)
	return f
}

// newFixtureBeforeControlPlane is newFixture before Cluster API marks the Cluster's
// control plane initialized.
func newFixtureBeforeControlPlane(t *testing.T, ns, name string, replicas int32, spec infrav1.CAPTMachinePoolSpec, ownerAnnotations map[string]string) *fixture {
	t.Helper()
	ctx := context.Background()
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clusterv1.ClusterSpec{InfrastructureRef: clusterv1.ContractVersionedObjectReference{
			APIGroup: infrav1.GroupVersion.Group, Kind: "CAPTCluster", Name: name}}}
	create(t, cluster)
	cc := &infrav1.CAPTCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{clusterv1.ClusterNameLabel: name}},
		Spec: infrav1.CAPTClusterSpec{Region: "us-west-2", ExistingVPCID: "vpc-0123456789abcdef0",
			ExistingSubnets: &infrav1.ExistingSubnets{PrivateSubnetIDs: []string{"subnet-0000000a", "subnet-0000000b"}}},
	}
	create(t, cc)
	cc.Status.Initialization.Provisioned = ptr.To(true)
	cc.Status.VPC = &infrav1.VPCStatus{ID: "vpc-0123456789abcdef0", PrivateSubnetIDs: []string{"subnet-a", "subnet-b"}}
	if err := env.Client.Status().Update(ctx, cc); err != nil {
		t.Fatal(err)
	}
	createKubeconfigSecret(t, ns, name)
	owner := &clusterv1.MachinePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-pool", Annotations: ownerAnnotations,
			Labels: map[string]string{clusterv1.ClusterNameLabel: name}},
		Spec: clusterv1.MachinePoolSpec{ClusterName: name, Replicas: ptr.To(replicas), Template: clusterv1.MachineTemplateSpec{
			Spec: clusterv1.MachineSpec{ClusterName: name, Version: "v1.33.1", Bootstrap: clusterv1.Bootstrap{DataSecretName: ptr.To("")},
				InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "CAPTMachinePool", Name: name + "-pool"}}}},
	}
	create(t, owner)
	if spec.WorkspaceTemplateRef.Name == "" {
		spec.WorkspaceTemplateRef = infrav1.WorkspaceTemplateReference{Name: "nodegroup"}
	}
	mp := &infrav1.CAPTMachinePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-pool", Labels: map[string]string{clusterv1.ClusterNameLabel: name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "MachinePool", Name: owner.Name, UID: owner.UID}}},
		Spec: spec,
	}
	create(t, mp)
	return &fixture{cluster: cluster, owner: owner, mp: mp}
}

// markControlPlaneInitialized marks the Cluster as Cluster API's core does once its
// control plane is up.
func markControlPlaneInitialized(t *testing.T, cluster *clusterv1.Cluster) {
	t.Helper()
	cluster.Status.Initialization.InfrastructureProvisioned = ptr.To(true)
	cluster.Status.Initialization.ControlPlaneInitialized = ptr.To(true)
	if err := env.Client.Status().Update(context.Background(), cluster); err != nil {
		t.Fatal(err)
	}
}

// createKubeconfigSecret writes <cluster>-kubeconfig with the test API server's admin
// credentials: the workload cluster is the test's own API server.
func createKubeconfigSecret(t *testing.T, ns, cluster string) {
	t.Helper()
	data, err := testenv.Kubeconfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	create(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: kubeconfig.SecretName(cluster), Labels: map[string]string{clusterv1.ClusterNameLabel: cluster}},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"value": data},
	})
}

func getMP(t *testing.T, mp *infrav1.CAPTMachinePool) *infrav1.CAPTMachinePool {
	t.Helper()
	out := &infrav1.CAPTMachinePool{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(mp), out); err != nil {
		t.Fatalf("get CAPTMachinePool: %v", err)
	}
	return out
}

func cond(mp *infrav1.CAPTMachinePool, t string) metav1.Condition {
	for _, c := range mp.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return metav1.Condition{}
}

func waitMP(t *testing.T, mp *infrav1.CAPTMachinePool, what string, check func(*infrav1.CAPTMachinePool) error) *infrav1.CAPTMachinePool {
	t.Helper()
	var got *infrav1.CAPTMachinePool
	testenv.Eventually(t, what, func() error {
		got = getMP(t, mp)
		return check(got)
	})
	return got
}

func condIs(typ string, status metav1.ConditionStatus, reason string) func(*infrav1.CAPTMachinePool) error {
	return func(mp *infrav1.CAPTMachinePool) error {
		if c := cond(mp, typ); c.Status != status || c.Reason != reason {
			return fmt.Errorf("%s %s/%s (%s)", typ, c.Status, c.Reason, c.Message)
		}
		return nil
	}
}

func workspaceName(mp *infrav1.CAPTMachinePool) string {
	return render.WorkspaceName(api, mp.Namespace, applyName(mp))
}

// getWorkspace reads the pool's Workspace.
func getWorkspace(t *testing.T, mp *infrav1.CAPTMachinePool) (*workspace.Workspace, error) {
	t.Helper()
	u := api.NewObject()
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: workspaceName(mp)}, u); err != nil {
		return nil, err
	}
	return workspace.FromUnstructured(u)
}

// workspaceVar reads one variable of the pool's Workspace.
func workspaceVar(t *testing.T, mp *infrav1.CAPTMachinePool, key string) (string, error) {
	t.Helper()
	ws, err := getWorkspace(t, mp)
	if err != nil {
		return "", err
	}
	vars := map[string]any{}
	if m := ws.Spec.ForProvider.VarMap; m != nil {
		if err := json.Unmarshal(m.Raw, &vars); err != nil {
			return "", err
		}
	}
	v, ok := vars[key].(string)
	if !ok {
		return "", fmt.Errorf("the Workspace has no string variable %s", key)
	}
	return v, nil
}

// provide plays provider-terraform on the pool's Workspace: Ready for its current
// generation, with outputs.
func provide(t *testing.T, mp *infrav1.CAPTMachinePool, outputs map[string]any) {
	t.Helper()
	testenv.Eventually(t, "set the node group Workspace's status", func() error {
		u := api.NewObject()
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: workspaceName(mp)}, u); err != nil {
			return err
		}
		now := time.Now().UTC().Format(time.RFC3339)
		_ = unstructured.SetNestedSlice(u.Object, []any{
			map[string]any{"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": now},
			map[string]any{"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": now, "observedGeneration": u.GetGeneration()},
		}, "status", "conditions")
		_ = unstructured.SetNestedMap(u.Object, outputs, "status", "atProvider", "outputs")
		return env.Client.Status().Update(context.Background(), u)
	})
}

// addNode creates a Node of group with providerID, Ready or not, as a kubelet (KWOK)
// would register it.
func addNode(t *testing.T, name, group, providerID string, ready bool) *corev1.Node {
	t.Helper()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{NodeGroupLabel: group}},
		Spec: corev1.NodeSpec{ProviderID: providerID}}
	create(t, node)
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), node) })
	setNodeReady(t, node, ready)
	return node
}

func setNodeReady(t *testing.T, node *corev1.Node, ready bool) {
	t.Helper()
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	testenv.Eventually(t, "set Node "+node.Name+" Ready", func() error {
		fresh := &corev1.Node{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(node), fresh); err != nil {
			return err
		}
		fresh.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status, Reason: "Test",
			LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
		return env.Client.Status().Update(context.Background(), fresh)
	})
}

func gone(obj client.Object) error { return env.Gone(obj) }

const time2s = 2 * time.Second

// heartbeat renews a Node's Ready heartbeat, as a kubelet does, changing nothing else.
func heartbeat(t *testing.T, node *corev1.Node) {
	t.Helper()
	fresh := &corev1.Node{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(node), fresh); err != nil {
		t.Fatal(err)
	}
	for i := range fresh.Status.Conditions {
		fresh.Status.Conditions[i].LastHeartbeatTime = metav1.NewTime(time.Now().Add(time.Duration(i) * time.Second))
	}
	if err := env.Client.Status().Update(context.Background(), fresh); err != nil {
		t.Fatal(err)
	}
}

// applyVar reads one variable of the pool's WorkspaceTemplateApply: what CAPTMachinePool
// asks for, before the apply's own controller (which holds a paused Cluster's Workspace)
// passes it on.
func applyVar(t *testing.T, mp *infrav1.CAPTMachinePool, key string) (string, error) {
	t.Helper()
	a := &infrav1.WorkspaceTemplateApply{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: mp.Namespace, Name: applyName(mp)}, a); err != nil {
		return "", err
	}
	v, ok := a.Spec.Variables[key]
	if !ok {
		return "", fmt.Errorf("the apply has no variable %s", key)
	}
	return v, nil
}
