package nodegroupbootstrap

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/capt-dev/capt/api/bootstrap/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
)

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := env.Client.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

// newPool creates a Cluster and a MachinePool of kind (its infrastructure) in ns.
func newPool(t *testing.T, ns, name, kind string) *clusterv1.MachinePool {
	t.Helper()
	create(t, &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clusterv1.ClusterSpec{InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "CAPTCluster", Name: name}}})
	mp := &clusterv1.MachinePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{clusterv1.ClusterNameLabel: name}},
		Spec: clusterv1.MachinePoolSpec{ClusterName: name, Template: clusterv1.MachineTemplateSpec{Spec: clusterv1.MachineSpec{
			ClusterName: name,
			Bootstrap: clusterv1.Bootstrap{ConfigRef: clusterv1.ContractVersionedObjectReference{
				APIGroup: bootstrapv1.GroupVersion.Group, Kind: "CAPTNodeGroupBootstrap", Name: name}},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: kind, Name: name},
		}}},
	}
	create(t, mp)
	return mp
}

// controlledBy is a controller reference, as Cluster API's MachinePool and Machine
// controllers set on their bootstrap configs.
func controlledBy(kind, name, uid string) []metav1.OwnerReference {
	return []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: kind, Name: name, UID: types.UID(uid), Controller: ptr.To(true)}}
}

func waitBootstrap(t *testing.T, b *bootstrapv1.CAPTNodeGroupBootstrap, what string, check func(*bootstrapv1.CAPTNodeGroupBootstrap) error) {
	t.Helper()
	testenv.Eventually(t, what, func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(b), b); err != nil {
			return err
		}
		return check(b)
	})
}

func readyIs(status metav1.ConditionStatus, reason string) func(*bootstrapv1.CAPTNodeGroupBootstrap) error {
	return func(b *bootstrapv1.CAPTNodeGroupBootstrap) error {
		if c := conditions.Get(b, bootstrapv1.ReadyCondition); c == nil || c.Status != status || c.Reason != reason || c.ObservedGeneration != b.Generation {
			return fmt.Errorf("Ready %+v", c)
		}
		return nil
	}
}

// TestBootstrapContract: a config a MachinePool of a CAPTMachinePool owns reports the
// contract's fields as Cluster API reads them (status.initialization.dataSecretCreated,
// status.ready, and status.dataSecretName present and empty: read back as the API server
// stores it); one with no owner waits, and its owner's arrival alone brings the pass; one a
// Machine owns, or a MachinePool of another infrastructure, is refused and never marked
// created; a paused Cluster's config only says it is paused.
func TestBootstrapContract(t *testing.T) {
	ctx := context.Background()
	startController(t)
	const ns = "bootstrap"
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})

	pool := newPool(t, ns, "pool", "CAPTMachinePool")
	b := &bootstrapv1.CAPTNodeGroupBootstrap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pool"}}
	create(t, b)
	waitBootstrap(t, b, "waiting for its owner", readyIs(metav1.ConditionFalse, bootstrapv1.WaitingForOwnerReason))
	if b.Status.Initialization.DataSecretCreated != nil || b.Status.Ready || b.Status.DataSecretName != nil {
		t.Fatalf("status without an owner %+v", b.Status)
	}
	// What Cluster API's MachinePool controller does: owner and cluster label.
	testenv.Eventually(t, "owned by the MachinePool", func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(b), b); err != nil {
			return err
		}
		b.OwnerReferences = controlledBy("MachinePool", pool.Name, string(pool.UID))
		b.Labels = map[string]string{clusterv1.ClusterNameLabel: pool.Name}
		return env.Client.Update(ctx, b)
	})
	waitBootstrap(t, b, "the data secret created", readyIs(metav1.ConditionTrue, bootstrapv1.NodeGroupBootstrapsItselfReason))
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(bootstrapv1.GroupVersion.WithKind("CAPTNodeGroupBootstrap"))
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(b), u); err != nil {
		t.Fatal(err)
	}
	created, _, _ := unstructured.NestedBool(u.Object, "status", "initialization", "dataSecretCreated")
	ready, _, _ := unstructured.NestedBool(u.Object, "status", "ready")
	name, found, _ := unstructured.NestedString(u.Object, "status", "dataSecretName")
	if !created || !ready || !found || name != "" {
		t.Errorf("contract fields as stored: dataSecretCreated %v, ready %v, dataSecretName %q (present %v)", created, ready, name, found)
	}

	// Owned by a Machine: refused, nothing created.
	m := &bootstrapv1.CAPTNodeGroupBootstrap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "machine",
		OwnerReferences: controlledBy("Machine", "worker-0", "00000000-0000-0000-0000-000000000001")}}
	create(t, m)
	waitBootstrap(t, m, "refused for a Machine", readyIs(metav1.ConditionFalse, bootstrapv1.NotAMachinePoolReason))
	if m.Status.Initialization.DataSecretCreated != nil || m.Status.Ready || m.Status.DataSecretName != nil {
		t.Errorf("a Machine's config marked created: %+v", m.Status)
	}

	// A MachinePool of another infrastructure: refused.
	other := newPool(t, ns, "other", "AWSMachinePool")
	o := &bootstrapv1.CAPTNodeGroupBootstrap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "other",
		OwnerReferences: controlledBy("MachinePool", other.Name, string(other.UID))}}
	create(t, o)
	waitBootstrap(t, o, "refused for another infrastructure", readyIs(metav1.ConditionFalse, bootstrapv1.NotAMachinePoolReason))
	if o.Status.Initialization.DataSecretCreated != nil {
		t.Errorf("another infrastructure's config marked created: %+v", o.Status)
	}

	// A paused Cluster: Paused, and nothing else written.
	paused := newPool(t, ns, "paused", "CAPTMachinePool")
	testenv.Eventually(t, "pause the Cluster", func() error {
		c := &clusterv1.Cluster{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "paused"}, c); err != nil {
			return err
		}
		c.Spec.Paused = ptr.To(true)
		return env.Client.Update(ctx, c)
	})
	p := &bootstrapv1.CAPTNodeGroupBootstrap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "paused",
		Labels:          map[string]string{clusterv1.ClusterNameLabel: "paused"},
		OwnerReferences: controlledBy("MachinePool", paused.Name, string(paused.UID))}}
	create(t, p)
	waitBootstrap(t, p, "paused", func(b *bootstrapv1.CAPTNodeGroupBootstrap) error {
		if !conditions.IsTrue(b, bootstrapv1.PausedCondition) {
			return fmt.Errorf("Paused %+v", conditions.Get(b, bootstrapv1.PausedCondition))
		}
		return nil
	})
	if p.Status.Initialization.DataSecretCreated != nil || conditions.Get(p, bootstrapv1.ReadyCondition) != nil {
		t.Errorf("a paused config was reconciled: %+v", p.Status)
	}
}
