package patching

import (
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// ChangedBeyondStatus passes every event but an update that changed only the status (and
// the resourceVersion and managed fields that come with it). A controller's own object's
// status is what its passes write: its change needs no pass of its own, and was a third
// of a controller's passes during a creation. Labels, annotations (paused), owner
// references, finalizers, the deletion timestamp and the spec still bring a pass.
func ChangedBeyondStatus() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		if e.ObjectOld == nil || e.ObjectNew == nil {
			return true
		}
		old, changed, err := split(e.ObjectOld, e.ObjectNew)
		if err != nil {
			return true
		}
		return !equality.Semantic.DeepEqual(old.rest, changed.rest)
	}}
}
