package workspace

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestEventSource pins the source component crossplane-runtime's managed reconciler
// records a Workspace's events with, for each group: the field selector of CAPT's watch.
func TestEventSource(t *testing.T) {
	for group, want := range map[string]string{
		GroupTerraform:           "managed/workspace.tf.upbound.io",
		GroupTerraformNamespaced: "managed/workspace.tf.m.upbound.io",
		GroupOpenTofu:            "managed/workspace.opentofu.upbound.io",
		GroupOpenTofuNamespaced:  "managed/workspace.opentofu.m.upbound.io",
	} {
		api, err := NewAPI(group)
		if err != nil {
			t.Fatal(err)
		}
		if got := api.EventSource(); got != want {
			t.Errorf("%s: EventSource = %q, want %q", group, got, want)
		}
		e := &corev1.Event{Reason: "UpdatedExternalResource", Source: corev1.EventSource{Component: want},
			InvolvedObject: corev1.ObjectReference{Kind: "Workspace", APIVersion: group + "/v1beta1"}}
		if !api.IsUpdateEvent(e) {
			t.Errorf("%s: the provider's update event %+v not recognised", group, e)
		}
		for _, other := range []func(*corev1.Event){
			func(e *corev1.Event) { e.Reason = "CreatedExternalResource" },
			func(e *corev1.Event) { e.Source.Component = "someone-else" },
			func(e *corev1.Event) { e.InvolvedObject.Kind = "ProviderConfig" },
			func(e *corev1.Event) { e.InvolvedObject.APIVersion = "example.com/v1beta1" },
		} {
			o := e.DeepCopy()
			other(o)
			if api.IsUpdateEvent(o) {
				t.Errorf("%s: %+v taken for the provider's update event", group, o)
			}
		}
	}
}
