package reliability

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/kubeconfig"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// poolReplicas is the size of the scenario's pool.
const poolReplicas = 2

// TestCrashAfterEachPoolWrite stops the manager right after one of the writes of a
// worker pool's lifecycle (the CAPTMachinePool's patches, its node group apply and
// Workspace, their deletion, the finalizers) and starts a new one: each lifecycle must
// crash exactly once, right after the write its subtest is named after, and converge:
// the pool Ready with its Nodes in providerIDList, then deleted with its Workspace,
// nothing deleted twice, nothing created again. The Cluster's control plane is played by
// the test (initialized, with a kubeconfig of this API server as the workload cluster's),
// and so are the kubelets: the test registers the node group's Nodes once its name is
// known, Ready, as KWOK does on the local stack.
func TestCrashAfterEachPoolWrite(t *testing.T) {
	ref := newPoolScenario(t, "pool-ref")
	w := newWriteLog()
	run := startCAPT(t, w, runOptions{})
	ref.createPool()
	ref.waitPoolReady()
	ref.deletePool()
	run.stop(t)
	var steps []write
	for _, wr := range w.all() {
		if isPoolWrite(wr) {
			steps = append(steps, wr)
			t.Logf("  %-48s %s", wr.step(), wr.key)
		}
	}
	if len(steps) == 0 {
		t.Fatal("the reference lifecycle wrote nothing of its pool")
	}
	// Every step under CAPT_SOAK; otherwise every other one and each deletion step.
	var points []write
	for i, wr := range steps {
		if soak || i%2 == 0 || wr.verb == "delete" {
			points = append(points, wr)
		}
	}
	var tally crashTally
	for i, step := range points {
		tally.crashAfter(t, step, func(t *testing.T) *scenario { return newPoolScenario(t, fmt.Sprintf("pool-crash-%02d", i)) },
			func(s *scenario) {
				s.createPool()
				s.waitPoolReady()
				s.deletePool()
			}, nil)
	}
	report.add(row{
		fault: "manager crash right after a write of a worker pool's lifecycle, restarted",
		tries: len(points),
		outcome: fmt.Sprintf("%d crashes, each right after its write (%d not reached); %d converged: Ready with its Nodes, "+
			"deleted with its Workspace, nothing deleted or created twice", tally.crashed, tally.notReached, len(points)-tally.failed),
		lost: tally.lost,
	})
}

// isPoolWrite says w is one of the pool's: the CAPTMachinePool, its node group apply or
// Workspace.
func isPoolWrite(w write) bool {
	return w.kind == "CAPTMachinePool" || strings.Contains(w.key, "-nodegroup")
}

// newPoolScenario is a scenario with a node group WorkspaceTemplate.
func newPoolScenario(t *testing.T, name string) *scenario {
	t.Helper()
	s := newScenario(t, name)
	mustCreate(t, &infrav1.WorkspaceTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "nodegroup"},
		Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
			ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: `variable "cluster_name" {}`}}}},
	})
	return s
}

func (s *scenario) poolKey() client.ObjectKey {
	return client.ObjectKey{Namespace: s.name, Name: s.name + "-pool"}
}

// createPool creates a Cluster whose control plane Cluster API reports initialized (an
// existing VPC for infrastructure, no control plane object), the kubeconfig secret of
// this API server, and a MachinePool of poolReplicas with its CAPTMachinePool.
func (s *scenario) createPool() {
	s.t.Helper()
	ctx := context.Background()
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.name},
		Spec: clusterv1.ClusterSpec{InfrastructureRef: clusterv1.ContractVersionedObjectReference{
			APIGroup: infrav1.GroupVersion.Group, Kind: "CAPTCluster", Name: s.name}}}
	mustCreate(s.t, cluster)
	mustCreate(s.t, &infrav1.CAPTCluster{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.name,
		Labels:          map[string]string{clusterv1.ClusterNameLabel: s.name},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster", Name: s.name, UID: cluster.UID}}},
		Spec: infrav1.CAPTClusterSpec{Region: "zz-local-1", ExistingVPCID: "vpc-0123456789abcdef0",
			ExistingSubnets: &infrav1.ExistingSubnets{PrivateSubnetIDs: []string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"}}}})
	s.createKubeconfig()
	key := s.poolKey()
	owner := &clusterv1.MachinePool{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: key.Name, Labels: map[string]string{clusterv1.ClusterNameLabel: s.name}},
		Spec: clusterv1.MachinePoolSpec{ClusterName: s.name, Replicas: ptr.To[int32](poolReplicas), Template: clusterv1.MachineTemplateSpec{
			Spec: clusterv1.MachineSpec{ClusterName: s.name, Bootstrap: clusterv1.Bootstrap{DataSecretName: ptr.To("")},
				InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "CAPTMachinePool", Name: key.Name}}}}}
	mustCreate(s.t, owner)
	mustCreate(s.t, &infrav1.CAPTMachinePool{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: key.Name,
		Labels:          map[string]string{clusterv1.ClusterNameLabel: s.name},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "MachinePool", Name: owner.Name, UID: owner.UID}}},
		Spec: infrav1.CAPTMachinePoolSpec{WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "nodegroup"}, SubnetIDs: []string{"subnet-a"}}})
	cluster.Status.Initialization.InfrastructureProvisioned = ptr.To(true)
	cluster.Status.Initialization.ControlPlaneInitialized = ptr.To(true)
	if err := stack.Client.Status().Update(ctx, cluster); err != nil {
		s.t.Fatal(err)
	}
}

// createKubeconfig writes <cluster>-kubeconfig with the administrator's credentials of
// this API server: the workload cluster whose Nodes the pool reads.
func (s *scenario) createKubeconfig() {
	s.t.Helper()
	data, err := testenv.Kubeconfig(stack.Config)
	if err != nil {
		s.t.Fatal(err)
	}
	mustCreate(s.t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: kubeconfig.SecretName(s.name), Labels: map[string]string{clusterv1.ClusterNameLabel: s.name}},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"value": data},
	})
}

// waitPoolReady registers the node group's Nodes once the pool knows its name, as the
// kubelets of new instances would, and waits until the pool reports them all Ready.
func (s *scenario) waitPoolReady() {
	s.t.Helper()
	ctx := context.Background()
	registered := false
	s.eventually(s.name+" pool Ready", func() error {
		mp := &infrav1.CAPTMachinePool{}
		if err := stack.Client.Get(ctx, s.poolKey(), mp); err != nil {
			return err
		}
		if group := mp.Status.NodeGroupName; group != "" && !registered {
			for i := range poolReplicas {
				s.registerNode(fmt.Sprintf("%s-node-%d", s.name, i), group)
			}
			registered = true
		}
		if !conditions.IsTrue(mp, infrav1.ReadyCondition) || !mp.Status.Ready || mp.Status.ReadyReplicas != poolReplicas || len(mp.Spec.ProviderIDList) != poolReplicas {
			return fmt.Errorf("pool: ready %v, readyReplicas %d, providerIDList %v, conditions %s",
				mp.Status.Ready, mp.Status.ReadyReplicas, mp.Spec.ProviderIDList, conditionSummary(mp))
		}
		return nil
	})
}

// registerNode creates a Ready Node of group, removed when the test ends.
func (s *scenario) registerNode(name, group string) {
	s.t.Helper()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"eks.amazonaws.com/nodegroup": group}},
		Spec: corev1.NodeSpec{ProviderID: "aws:///zz-local-1a/i-" + name}}
	mustCreate(s.t, node)
	s.t.Cleanup(func() { _ = stack.Client.Delete(context.Background(), node) })
	node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if err := stack.Client.Status().Update(context.Background(), node); err != nil {
		s.t.Fatal(err)
	}
}

// deletePool deletes the CAPTMachinePool as Cluster API's MachinePool controller does,
// and waits until it, its apply and its Workspace are gone.
func (s *scenario) deletePool() {
	s.t.Helper()
	mp := &infrav1.CAPTMachinePool{}
	mp.Namespace, mp.Name = s.poolKey().Namespace, s.poolKey().Name
	if err := stack.Client.Delete(context.Background(), mp); client.IgnoreNotFound(err) != nil {
		s.t.Fatal(err)
	}
	apply := &infrav1.WorkspaceTemplateApply{}
	apply.Namespace, apply.Name = s.name, render.ChildName(mp.Name, "nodegroup")
	ws := workspace.DefaultAPI().NewObject()
	ws.SetName(s.workspace(apply.Name))
	for _, obj := range []client.Object{mp, apply, ws} {
		s.eventually(fmt.Sprintf("%T %s gone", obj, obj.GetName()), func() error { return gone(obj) })
	}
}
