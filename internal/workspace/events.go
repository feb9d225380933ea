package workspace

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The events crossplane-runtime's managed reconciler (v1.16, provider-terraform v0.21.2)
// records on a Workspace, through client-go's core/v1 event recorder: type Normal, these
// reasons and messages, the Workspace as involvedObject, source component EventSource.
const (
	// EventReasonCreated follows a successful Create: the first apply of a Workspace
	// whose Terraform state holds no resource and no output.
	EventReasonCreated = "CreatedExternalResource"
	// EventReasonUpdated follows a successful Update: a plan showed a difference and
	// `apply -auto-approve` applied it, in the same reconcile.
	EventReasonUpdated = "UpdatedExternalResource"
	// EventMessageCreated and EventMessageUpdated are those events' fixed messages.
	EventMessageCreated = "Successfully requested creation of external resource"
	EventMessageUpdated = "Successfully requested update of external resource"
)

// EventSource is the source component of the provider's events on Workspaces of this
// group: crossplane-runtime's managed.ControllerName, "managed/" and the lower-cased
// group kind (managed/workspace.tf.upbound.io).
func (a API) EventSource() string {
	return "managed/" + strings.ToLower(Kind+"."+a.group)
}

// IsUpdateEvent reports whether e is the provider's update event on a Workspace of this
// group: its reason, source and involved object's kind and API version.
func (a API) IsUpdateEvent(e *corev1.Event) bool {
	gv := a.GroupVersionKind().GroupVersion().String()
	return e.Reason == EventReasonUpdated && e.Source.Component == a.EventSource() &&
		e.InvolvedObject.Kind == Kind && e.InvolvedObject.APIVersion == gv
}

// EventTime is when an event was last recorded: lastTimestamp as the core/v1 recorder
// writes it (whole seconds), else eventTime (events.k8s.io), else its creation.
func EventTime(e *corev1.Event) metav1.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp
	case !e.EventTime.IsZero():
		return metav1.NewTime(e.EventTime.Time)
	}
	return e.CreationTimestamp
}
