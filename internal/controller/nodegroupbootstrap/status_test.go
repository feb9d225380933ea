package nodegroupbootstrap

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"

	bootstrapv1 "github.com/capt-dev/capt/api/bootstrap/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

func TestSetStatus(t *testing.T) {
	pool := &metav1.OwnerReference{APIVersion: clusterv1.GroupVersion.String(), Kind: "MachinePool", Name: "p", Controller: ptr.To(true)}
	nodeGroup := clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "CAPTMachinePool", Name: "p"}
	for _, tc := range []struct {
		name    string
		o       owner
		before  bool // dataSecretCreated before the pass
		created bool
		reason  string
	}{
		{"a MachinePool of a CAPTMachinePool", owner{ref: pool, infrastructure: nodeGroup}, false, true, bootstrapv1.NodeGroupBootstrapsItselfReason},
		{"no owner yet", owner{}, false, false, bootstrapv1.WaitingForOwnerReason},
		{"owner reference lost after creation", owner{}, true, true, bootstrapv1.NodeGroupBootstrapsItselfReason},
		{"a Machine", owner{ref: &metav1.OwnerReference{APIVersion: clusterv1.GroupVersion.String(), Kind: "Machine", Name: "m"}}, false, false, bootstrapv1.NotAMachinePoolReason},
		{"a MachinePool of another group", owner{ref: &metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "MachinePool", Name: "p"}}, false, false, bootstrapv1.NotAMachinePoolReason},
		{"a MachinePool of another infrastructure", owner{ref: pool, infrastructure: clusterv1.ContractVersionedObjectReference{
			APIGroup: "infrastructure.cluster.x-k8s.io", Kind: "AWSMachinePool", Name: "p"}}, false, false, bootstrapv1.NotAMachinePoolReason},
	} {
		b := &bootstrapv1.CAPTNodeGroupBootstrap{}
		if tc.before {
			b.Status.Initialization.DataSecretCreated = ptr.To(true)
		}
		setStatus(b, tc.o)
		ready := conditions.Get(b, bootstrapv1.ReadyCondition)
		created := ptr.Deref(b.Status.Initialization.DataSecretCreated, false)
		switch {
		case ready == nil || ready.Reason != tc.reason || (ready.Status == metav1.ConditionTrue) != tc.created:
			t.Errorf("%s: Ready %+v", tc.name, ready)
		case created != tc.created || b.Status.Ready != tc.created:
			t.Errorf("%s: dataSecretCreated %v, ready %v; want %v", tc.name, created, b.Status.Ready, tc.created)
		case tc.created && ptr.Deref(b.Status.DataSecretName, "x") != "":
			t.Errorf("%s: dataSecretName %v, want \"\"", tc.name, b.Status.DataSecretName)
		case !tc.created && b.Status.DataSecretName != nil:
			t.Errorf("%s: dataSecretName %q set without the data secret created", tc.name, *b.Status.DataSecretName)
		}
	}
}
