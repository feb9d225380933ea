package nodegroupbootstrap

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"

	bootstrapv1 "github.com/capt-dev/capt/api/bootstrap/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// owner is what a pass found of the config's controller: its reference, and for a
// MachinePool, its infrastructure.
type owner struct {
	ref            *metav1.OwnerReference
	infrastructure clusterv1.ContractVersionedObjectReference
}

// ownerRef is the config's controller reference (Cluster API's MachinePool and Machine
// controllers set themselves as its controller), nil when there is none yet.
func ownerRef(b *bootstrapv1.CAPTNodeGroupBootstrap) *metav1.OwnerReference {
	return metav1.GetControllerOf(b)
}

func isMachinePool(ref *metav1.OwnerReference) bool {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == clusterv1.GroupVersion.Group && ref.Kind == "MachinePool"
}

// isNodeGroup says a MachinePool's infrastructure is a CAPTMachinePool: an EKS managed
// node group, which needs no bootstrap data.
func isNodeGroup(ref clusterv1.ContractVersionedObjectReference) bool {
	return ref.APIGroup == infrav1.GroupVersion.Group && ref.Kind == "CAPTMachinePool"
}

// setStatus writes the contract's fields for the owner found. The data secret is created,
// with an empty name, only for a MachinePool of a CAPTMachinePool; once created it stays
// created (the contract's signal does not revert). Anything else is refused in Ready,
// and nothing is created: a Machine given empty bootstrap data would start a server
// that never joins the cluster.
func setStatus(b *bootstrapv1.CAPTNodeGroupBootstrap, o owner) {
	created := ptr.Deref(b.Status.Initialization.DataSecretCreated, false)
	c := metav1.Condition{Type: bootstrapv1.ReadyCondition, Status: metav1.ConditionFalse}
	switch {
	case o.ref == nil && !created:
		c.Reason, c.Message = bootstrapv1.WaitingForOwnerReason, "Waiting for a MachinePool to own the config"
	case o.ref != nil && !isMachinePool(o.ref):
		c.Reason, c.Message = bootstrapv1.NotAMachinePoolReason, fmt.Sprintf(
			"CAPTNodeGroupBootstrap gives no bootstrap data and serves only MachinePools of CAPTMachinePools (EKS managed node groups); %s %s needs a bootstrap provider that writes bootstrap data",
			o.ref.Kind, o.ref.Name)
	case o.ref != nil && !isNodeGroup(o.infrastructure):
		c.Reason, c.Message = bootstrapv1.NotAMachinePoolReason, fmt.Sprintf(
			"CAPTNodeGroupBootstrap gives no bootstrap data and serves only MachinePools of CAPTMachinePools (EKS managed node groups); MachinePool %s's infrastructure is a %s",
			o.ref.Name, o.infrastructure.Kind)
	default:
		created = true
		c.Status, c.Reason = metav1.ConditionTrue, bootstrapv1.NodeGroupBootstrapsItselfReason
		c.Message = "EKS joins the managed node group's instances to the cluster itself: no bootstrap data"
	}
	if created {
		b.Status.Initialization.DataSecretCreated = ptr.To(true)
		b.Status.DataSecretName = ptr.To("")
	}
	b.Status.Ready = created
	conditions.Set(b, c)
}
