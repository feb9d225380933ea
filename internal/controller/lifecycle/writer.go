package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Object is an object a CAPT controller reconciles and writes back: it has conditions.
type Object interface {
	client.Object
	conditions.Setter
}

// Writer writes one pass's changes to the object it reconciles, in at most one request
// per subresource: a merge patch of metadata and spec when they changed (a finalizer, the
// endpoint), and one merge patch of the whole status diff, conditions included, when the
// status changed. Cluster API's patch helper writes conditions and the rest of the status
// in two requests and retries every stale-cache conflict with a read and a second patch;
// at a thousand clusters those were half of CAPT's API writes.
//
// The status patch carries the resourceVersion of the base it was computed from
// (optimistic lock): a merge patch replaces the whole conditions list, and the lock is
// what keeps a condition another writer set in the meantime. The base is what the API
// server has: the cached object, or this controller's own last write of it when the
// cache has not seen that write yet (LastWrites). A conflict therefore means another writer
// changed the object; it is resolved once with a fresh read: the conditions the
// controller owns and its status fields win, other conditions stay.
type Writer struct {
	c      client.Client
	reader client.Reader
	writes *LastWrites
	before client.Object
	// behind are the resourceVersions this pass wrote over: a cache still at one of them
	// has not seen the pass's writes.
	behind []string
}

// Patch writes obj's changes since the writer's base: metadata and spec first (Persist),
// then the status. observedGeneration records status.observedGeneration =
// metadata.generation; a pass that failed to read or write something has not observed
// the generation, and a paused pass observed nothing. owned are the conditions the
// controller computes; they win a conflict. A deleted object that is gone (the pass
// removed its last finalizer, or started from a cache older than that) is no error.
func (w *Writer) Patch(ctx context.Context, obj Object, owned []string, observedGeneration bool) error {
	return w.patch(ctx, obj, owned, observedGeneration, true)
}

// PatchLocked is Patch for a status that is a decision taken from the whole object as
// the pass read it (a WorkspaceTemplate's rollout slots): the status patch carries the
// base's resourceVersion, and a conflict is returned, not resolved by writing the pass's
// status over a fresh read. The caller decides again from a fresh read (and a new
// Writer). Without it, a pass that counted from a view older than etcd's would write
// its count over the newer one.
func (w *Writer) PatchLocked(ctx context.Context, obj Object, observedGeneration bool) error {
	return w.patch(ctx, obj, nil, observedGeneration, false)
}

func (w *Writer) patch(ctx context.Context, obj Object, owned []string, observedGeneration, rebase bool) error {
	if err := w.Persist(ctx, obj); err != nil {
		return ignoreGone(obj, err)
	}
	if !w.before.GetDeletionTimestamp().IsZero() && len(w.before.GetFinalizers()) == 0 {
		// The last finalizer is gone: so is the object; its status goes with it.
		w.writes.forget(obj)
		return nil
	}
	before, after, err := split(w.before, obj)
	if err != nil {
		return err
	}
	if observedGeneration {
		after.status["observedGeneration"] = obj.GetGeneration()
	}
	rv := w.before.GetResourceVersion()
	for attempt := 0; !equality.Semantic.DeepEqual(before.status, after.status); attempt++ {
		data, err := mergePatch(
			map[string]any{"status": before.status},
			map[string]any{"status": after.status, "metadata": map[string]any{"resourceVersion": rv}})
		if err != nil {
			return err
		}
		server := w.before.DeepCopyObject().(Object)
		err = w.c.Status().Patch(ctx, server, client.RawPatch(types.MergePatchType, data))
		if apierrors.IsConflict(err) && rebase && attempt < maxConflicts {
			if before.status, after.status, rv, err = w.rebase(ctx, obj, owned, after.status); err != nil {
				return ignoreGone(obj, fmt.Errorf("reading after a status conflict: %w", err))
			}
			continue
		}
		if err != nil {
			return ignoreGone(obj, fmt.Errorf("patching status: %w", err))
		}
		w.wrote(server, rv)
		return nil
	}
	return nil
}

// Persist writes obj's metadata and spec changes now, for a step that must be on the API
// server before the pass goes on (the finalizer before anything is created; CAPTEP-0041:
// the endpoint cleared before anything is deleted); the status waits for the pass's one
// status write. A new generation (a spec change) restamps what the pass has observed so
// far: the pass made that change and knows it, and the next pass need not rewrite every
// condition only for its observedGeneration.
func (w *Writer) Persist(ctx context.Context, obj Object) error {
	before, after, err := split(w.before, obj)
	if err != nil {
		return err
	}
	if equality.Semantic.DeepEqual(before.rest, after.rest) {
		return nil
	}
	data, err := mergePatch(before.rest, after.rest)
	if err != nil {
		return err
	}
	server := obj.DeepCopyObject().(Object)
	if err := w.c.Patch(ctx, server, client.RawPatch(types.MergePatchType, data)); err != nil {
		return fmt.Errorf("patching metadata and spec: %w", err)
	}
	w.wrote(server, w.before.GetResourceVersion())
	obj.SetResourceVersion(server.GetResourceVersion())
	restamp(obj, server.GetGeneration())
	return nil
}

// EnsureFinalizer adds f to obj (replacing its legacy names) and writes it at once: the
// finalizer is on the API server before the pass creates anything, and the pass goes on,
// keeping what it has set in memory so far (the Paused condition). An object being
// deleted gets no finalizer.
func (w *Writer) EnsureFinalizer(ctx context.Context, f Finalizer, obj Object) error {
	if !f.set(obj) {
		return nil
	}
	return w.Persist(ctx, obj)
}

// wrote takes the API server's answer to a write made from the base at resourceVersion
// from: it is the pass's new base, and what the next pass starts from while the cache
// is still at from or before.
func (w *Writer) wrote(server client.Object, from string) {
	w.behind = append(w.behind, from)
	w.before = server
	w.writes.record(server, w.behind)
}

// rebase reads obj from the API server after a conflict and returns the status to patch
// from and to: the fresh status with the controller's status fields and owned conditions
// set, the conditions of other writers kept.
func (w *Writer) rebase(ctx context.Context, obj Object, owned []string, status map[string]any) (map[string]any, map[string]any, string, error) {
	fresh := obj.DeepCopyObject().(Object)
	if err := w.reader.Get(ctx, client.ObjectKeyFromObject(obj), fresh); err != nil {
		return nil, nil, "", err
	}
	var kept []metav1.Condition
	for _, c := range fresh.GetConditions() {
		if !slices.Contains(owned, c.Type) {
			kept = append(kept, c)
		}
	}
	freshMap, err := runtime.DefaultUnstructuredConverter.ToUnstructured(fresh)
	if err != nil {
		return nil, nil, "", err
	}
	merged := obj.DeepCopyObject().(Object)
	merged.SetConditions(append(slices.Clone(obj.GetConditions()), kept...))
	mergedMap, err := runtime.DefaultUnstructuredConverter.ToUnstructured(merged)
	if err != nil {
		return nil, nil, "", err
	}
	after := asMap(mergedMap["status"])
	if g, ok := status["observedGeneration"]; ok {
		after["observedGeneration"] = g
	}
	return asMap(freshMap["status"]), after, fresh.GetResourceVersion(), nil
}

// maxConflicts bounds the fresh reads after status conflicts: each means another writer
// changed the object between the read and the patch.
const maxConflicts = 3

// parts is an object as a map, its status apart.
type parts struct {
	rest, status map[string]any
}

func split(before, after client.Object) (parts, parts, error) {
	b, err := runtime.DefaultUnstructuredConverter.ToUnstructured(before)
	if err != nil {
		return parts{}, parts{}, fmt.Errorf("converting the object: %w", err)
	}
	a, err := runtime.DefaultUnstructuredConverter.ToUnstructured(after)
	if err != nil {
		return parts{}, parts{}, fmt.Errorf("converting the object: %w", err)
	}
	bp, ap := parts{rest: b, status: asMap(b["status"])}, parts{rest: a, status: asMap(a["status"])}
	for _, p := range []parts{bp, ap} {
		delete(p.rest, "status")
		// Bookkeeping the API server keeps, not a change the pass made.
		meta := asMap(p.rest["metadata"])
		delete(meta, "managedFields")
		delete(meta, "resourceVersion")
	}
	return bp, ap, nil
}

func asMap(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return map[string]any{}
}

// restamp moves the conditions obj observed at its generation to new, and sets new.
func restamp(obj Object, new int64) {
	old := obj.GetGeneration()
	if old == new {
		return
	}
	cs := obj.GetConditions()
	for i := range cs {
		if cs[i].ObservedGeneration == old {
			cs[i].ObservedGeneration = new
		}
	}
	obj.SetConditions(cs)
	obj.SetGeneration(new)
}

func mergePatch(before, after map[string]any) ([]byte, error) {
	b, err := json.Marshal(before)
	if err != nil {
		return nil, fmt.Errorf("encoding the object: %w", err)
	}
	a, err := json.Marshal(after)
	if err != nil {
		return nil, fmt.Errorf("encoding the object: %w", err)
	}
	data, err := jsonpatch.CreateMergePatch(b, a)
	if err != nil {
		return nil, fmt.Errorf("computing the patch: %w", err)
	}
	return data, nil
}

// ignoreGone drops the error of a write to a deleted object that is already gone: the
// pass started from a cache older than the removal of its last finalizer.
func ignoreGone(obj client.Object, err error) error {
	if !obj.GetDeletionTimestamp().IsZero() && apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
