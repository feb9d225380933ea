package lifecycle

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// Finalizer is a controller's finalizer and the names it had before (without a path,
// which the API server warns about). Objects written by an older CAPT carry a legacy name:
// it is replaced on live objects and honoured on objects being deleted, where no
// finalizer can be added.
type Finalizer struct {
	Name   string
	Legacy []string
}

// Held says obj carries the finalizer under its name or a legacy one.
func (f Finalizer) Held(obj client.Object) bool {
	return slices.ContainsFunc(obj.GetFinalizers(), f.is)
}

func (f Finalizer) is(name string) bool {
	return name == f.Name || slices.Contains(f.Legacy, name)
}

// set adds the finalizer to obj in memory and drops its legacy names, so that a live
// object ends up with exactly the current name; it says whether obj changed. An object
// being deleted gets none.
func (f Finalizer) set(obj client.Object) bool {
	if !obj.GetDeletionTimestamp().IsZero() {
		return false
	}
	if controllerutil.ContainsFinalizer(obj, f.Name) && !slices.ContainsFunc(obj.GetFinalizers(), f.isLegacy) {
		return false
	}
	f.Remove(obj)
	controllerutil.AddFinalizer(obj, f.Name)
	return true
}

func (f Finalizer) isLegacy(name string) bool { return slices.Contains(f.Legacy, name) }

// Remove removes the finalizer under every name it had from obj (the deferred patch
// writes it).
func (f Finalizer) Remove(obj client.Object) {
	obj.SetFinalizers(slices.DeleteFunc(slices.Clone(obj.GetFinalizers()), f.is))
}

// HeldLive reads obj from the API server and says whether it still exists, as the same
// object, with the finalizer. A deletion's last step runs once: a pass from a cache that
// has not yet seen the removal of the finalizer (by the previous pass, moments ago) would
// otherwise run it again, reading what is gone, repeating its event and patching an object
// that no longer exists.
func (f Finalizer) HeldLive(ctx context.Context, reader client.Reader, obj client.Object) (bool, error) {
	fresh := obj.DeepCopyObject().(client.Object)
	err := reader.Get(ctx, client.ObjectKeyFromObject(obj), fresh)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading %s from the API server: %w", obj.GetName(), err)
	}
	return fresh.GetUID() == obj.GetUID() && f.Held(fresh), nil
}

// Release runs an owner's last deletion step and removes the finalizer, once: when the
// API server still has obj, as the same object, holding the finalizer (HeldLive), it runs
// last (nil: nothing to do) and, when last succeeds, removes the finalizer from obj in
// memory (the deferred patch writes it). finished says the API server shows the deletion
// already done: the pass ran from a cache that has not seen the previous pass remove the
// finalizer, and has nothing to do or report.
func (f Finalizer) Release(ctx context.Context, reader client.Reader, obj client.Object, last func() error) (finished bool, err error) {
	held, err := f.HeldLive(ctx, reader, obj)
	if err != nil || !held {
		return err == nil, err
	}
	if last != nil {
		if err := last(); err != nil {
			return false, err
		}
	}
	f.Remove(obj)
	return false, nil
}
