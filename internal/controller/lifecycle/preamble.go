package lifecycle

import (
	"context"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Start is the head of every CAPT reconciler's preamble: it reads obj from the cache
// (forgetting the last write of an object that is gone), leaves an object whose
// watch-filter label is not watchFilter to the manager it belongs to (requests mapped
// from other kinds skip the For predicate), and begins the pass from the controller's
// own last write of obj (Begin). A nil Writer and nil error: nothing to reconcile.
func (ws *LastWrites) Start(ctx context.Context, c client.Client, reader client.Reader, key types.NamespacedName, obj Object, watchFilter string) (*Writer, error) {
	if err := c.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			ws.Forget(key)
		}
		return nil, client.IgnoreNotFound(err)
	}
	if watchFilter != "" && obj.GetLabels()[clusterv1.WatchLabel] != watchFilter {
		return nil, nil
	}
	return ws.Begin(c, reader, obj), nil
}

// Hold ends an owner's preamble: it sets the Paused condition, and a paused pass writes
// it (in the status write it would make anyway, nothing else) and stops; otherwise the
// finalizer is written before anything is created, and the pass goes on. stop says the
// pass ends here.
func (w *Writer) Hold(ctx context.Context, cluster *clusterv1.Cluster, obj Object, f Finalizer) (stop bool, err error) {
	if SetPaused(kindOf(obj), cluster, obj) {
		return true, w.Patch(ctx, obj, []string{clusterv1.PausedCondition}, false)
	}
	if err := w.EnsureFinalizer(ctx, f, obj); err != nil {
		return true, fmt.Errorf("adding finalizer: %w", err)
	}
	return false, nil
}

// Finish is the deferred end of every owner's pass, after its status is computed: the
// pass's one write, which records observedGeneration only when the pass had no error;
// a failed write joins the pass's error.
func (w *Writer) Finish(ctx context.Context, obj Object, owned []string, passErr error) error {
	if err := w.Patch(ctx, obj, owned, passErr == nil); err != nil {
		return kerrors.NewAggregate([]error{passErr, fmt.Errorf("patching %s: %w", kindOf(obj), err)})
	}
	return passErr
}

// kindOf is obj's kind as its Go type names it (a typed object read from the cache has
// no TypeMeta): "CAPTCluster".
func kindOf(obj client.Object) string {
	return reflect.TypeOf(obj).Elem().Name()
}
