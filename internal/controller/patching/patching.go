// Package patching holds the writes every CAPT reconciler shares: the deferred patch, its
// one write to the reconciled object, and deletions that never repeat.
package patching

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"sigs.k8s.io/cluster-api/util/patch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Patch writes obj's changes with Cluster API's patch helper, letting the conditions the
// controller owns win conflicts. It records the observed generation only after a pass
// without error (passErr nil): a pass that could not read or write something has not
// observed the generation. A deleted object that is already gone is no error: the pass
// started from a cache older than the removal of its last finalizer.
func Patch(ctx context.Context, helper *patch.Helper, obj client.Object, ownedConditions []string, passErr error) error {
	opts := []patch.Option{patch.WithOwnedConditions{Conditions: ownedConditions}}
	if passErr == nil {
		opts = append(opts, patch.WithStatusObservedGeneration{})
	}
	err := helper.Patch(ctx, obj, opts...)
	if err != nil && alreadyGone(obj, err) {
		return nil
	}
	return err
}

func alreadyGone(obj client.Object, err error) bool {
	return !obj.GetDeletionTimestamp().IsZero() && onlyNotFound(err)
}

// onlyNotFound says every error in err is NotFound. The patch helper wraps an aggregate
// of one error per part of the object, which errors.As does not look into.
func onlyNotFound(err error) bool {
	var agg kerrors.Aggregate
	if errors.As(err, &agg) {
		for _, e := range agg.Errors() {
			if !onlyNotFound(e) {
				return false
			}
		}
		return len(agg.Errors()) > 0
	}
	return apierrors.IsNotFound(err)
}

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
