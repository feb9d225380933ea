// Package lifecycle is what every CAPT reconciler shares about the object it
// reconciles, from the start of a pass to its end and from creation to deletion: the
// preamble (Start, Hold, Finish), the pass's one write (Writer) and the memory that lets
// a pass read its own last write (LastWrites), the Paused condition, the finalizer (a
// deletion's last step run once), the For predicate and the watch predicates, and
// deletions that never repeat (DeleteUnchanged).
package lifecycle

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DeleteUnchanged deletes obj only if it is still the version the caller read: its UID
// and resourceVersion are preconditions. A pass working from a cache that has not yet
// seen its own earlier deletion (the deletionTimestamp changed the resourceVersion) gets
// a conflict instead of deleting the object a second time; the object's update event
// brings the next pass. It reports whether the object was deleted now.
func DeleteUnchanged(ctx context.Context, c client.Client, obj client.Object) (bool, error) {
	uid, rv := obj.GetUID(), obj.GetResourceVersion()
	err := c.Delete(ctx, obj, client.Preconditions{UID: &uid, ResourceVersion: &rv})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}
