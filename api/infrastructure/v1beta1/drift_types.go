package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Drift reverted: provider-terraform applied a WorkspaceTemplateApply's Workspace although
// no change of its spec asked for it (docs/workspaces.md, "Drift reverted").
const (
	// DriftRevertedCondition is set on a WorkspaceTemplateApply once provider-terraform
	// has applied its Workspace without a change of the Workspace's spec: true until a
	// person acknowledges the count (DriftAcknowledgedAnnotation), then false. It is
	// absent while none was seen. It never affects Ready: the drift was repaired.
	DriftRevertedCondition = "DriftReverted"
	// DriftRevertedReason: DriftReverted is true; also the reason of the Warning event.
	DriftRevertedReason = "DriftReverted"
	// DriftAcknowledgedReason: DriftReverted is false, a person acknowledged the count.
	DriftAcknowledgedReason = "DriftAcknowledged"

	// DriftAcknowledgedAnnotation, on a WorkspaceTemplateApply, holds the drift count a
	// person has looked at (status.drift.count, as a decimal): DriftReverted turns false
	// while the count is not above it, so acknowledging one revert never hides a later one.
	DriftAcknowledgedAnnotation = "infrastructure.cluster.x-k8s.io/drift-acknowledged"
)

// WorkspaceDrift is what a WorkspaceTemplateApply learned from provider-terraform's
// update events on its Workspace (reason UpdatedExternalResource): how many of them no
// change of the Workspace's spec explains.
type WorkspaceDrift struct {
	// Count is how many times provider-terraform applied the Workspace although its
	// spec had not changed: something outside Terraform changed what the module manages
	// or reads, and Terraform set it back. A lower bound: see docs/workspaces.md.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Count int32 `json:"count,omitempty"`

	// LastRevertedTime is when provider-terraform recorded the last of them.
	// +optional
	LastRevertedTime *metav1.Time `json:"lastRevertedTime,omitempty"`

	// Accounted is what the count was computed from, so that a restarted manager counts
	// no update twice.
	// +optional
	Accounted *DriftAccounting `json:"accounted,omitempty"`
}

// DriftAccounting is the bookkeeping of WorkspaceDrift, kept from the first time the
// Workspace was Ready.
type DriftAccounting struct {
	// WorkspaceUID is the Workspace the accounting is for; a new Workspace starts anew.
	// +optional
	WorkspaceUID types.UID `json:"workspaceUID,omitempty"`

	// WorkspaceGeneration is the Workspace's generation when the accounting was last
	// brought up to date.
	// +optional
	WorkspaceGeneration int64 `json:"workspaceGeneration,omitempty"`

	// UnmatchedChanges is how many changes of the Workspace's spec have not yet been
	// matched by an update: the next updates are theirs, not drift.
	// +optional
	// +kubebuilder:validation:Minimum=0
	UnmatchedChanges int64 `json:"unmatchedChanges,omitempty"`

	// Events are the provider's update events accounted for, with their counts.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	Events []AccountedEvent `json:"events,omitempty"`
}

// AccountedEvent is one of the provider's update events (an Event object, which the
// provider's event recorder patches with a higher count at each update) and the count
// accounted for.
type AccountedEvent struct {
	// Name is the Event's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Count is the Event's count when it was accounted for.
	// +kubebuilder:validation:Minimum=0
	Count int32 `json:"count"`
}
