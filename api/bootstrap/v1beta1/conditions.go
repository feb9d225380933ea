package v1beta1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Condition types of a CAPTNodeGroupBootstrap.
const (
	// ReadyCondition is true once the bootstrap config told Cluster API that its
	// MachinePool needs no bootstrap data; Cluster API mirrors it into the MachinePool's
	// BootstrapConfigReady.
	ReadyCondition = "Ready"

	// PausedCondition is true while reconciliation is paused, by Cluster.spec.paused or
	// the cluster.x-k8s.io/paused annotation.
	PausedCondition = "Paused"
)

// Reasons of the Ready condition.
const (
	// NodeGroupBootstrapsItselfReason: the owner is a MachinePool, whose EKS managed node
	// group joins its instances to the cluster without bootstrap data.
	NodeGroupBootstrapsItselfReason = "NodeGroupBootstrapsItself"

	// WaitingForOwnerReason: no MachinePool owns the config yet (Cluster API's
	// MachinePool controller sets the owner reference).
	WaitingForOwnerReason = "WaitingForOwner"

	// NotAMachinePoolReason: the config belongs to something other than a MachinePool (a
	// Machine of a MachineDeployment, say), which needs real bootstrap data this kind
	// cannot give. Nothing is marked created, so that Machine never boots without it.
	NotAMachinePoolReason = "NotAMachinePool"
)

// GetConditions returns the conditions (Cluster API's conditions.Getter).
func (b *CAPTNodeGroupBootstrap) GetConditions() []metav1.Condition { return b.Status.Conditions }

// SetConditions sets the conditions (Cluster API's conditions.Setter).
func (b *CAPTNodeGroupBootstrap) SetConditions(c []metav1.Condition) { b.Status.Conditions = c }
