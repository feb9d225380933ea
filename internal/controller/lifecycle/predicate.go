package lifecycle

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

// Deleted passes an object's deletion and nothing else: for a watch that waits for
// objects to go (a deletion waiting for another's), not for each of their writes. At
// 1,000 clusters the status patches of the watched kind were most of the passes.
// Set UpdateFunc on the result to also pass the updates that matter.
func Deleted() predicate.Funcs {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		UpdateFunc:  func(event.UpdateEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// Existence passes an object's creation and deletion: for a watch that waits for
// objects to exist (a Secret an apply waits for), whatever they hold.
func Existence() predicate.Funcs {
	p := Deleted()
	p.CreateFunc = func(event.CreateEvent) bool { return true }
	return p
}
