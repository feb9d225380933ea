package lifecycle

import (
	"reflect"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// LastWrites is a controller's memory of its own latest write of each object, so that a pass
// reads its own writes. The manager's cache sees a write only when the watch delivers it;
// a pass that starts before then (brought by another object's event: the apply, the
// Workspace, a Secret) would otherwise compute its status from the old copy, find it
// different from what it wants, and write again what the API server already has (or
// meet a conflict, read, and write again). With LastWrites it starts from what it wrote last.
//
// The zero value is ready to use; one LastWrites serves all of a controller's workers.
type LastWrites struct {
	mu   sync.Mutex
	last map[types.NamespacedName]written
}

// written is the object as the API server returned it after the controller's last write,
// and the resourceVersions that write replaced: a cached copy at one of them is behind.
type written struct {
	obj    client.Object
	behind []string
}

// Begin starts a pass on obj, read from the cache: when the cache has not yet seen the
// controller's last write of obj, obj is replaced by that write (same UID, newer
// resourceVersion). The returned Writer writes the pass's changes.
func (ws *LastWrites) Begin(c client.Client, reader client.Reader, obj client.Object) *Writer {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	key := client.ObjectKeyFromObject(obj)
	var behind []string
	if e, ok := ws.last[key]; ok {
		switch {
		case e.obj.GetUID() == obj.GetUID() && slices.Contains(e.behind, obj.GetResourceVersion()):
			copyInto(e.obj, obj)
			behind = slices.Clone(e.behind)
		default:
			// The cache has seen the write (or a newer one, or another object by that name).
			delete(ws.last, key)
		}
	}
	return &Writer{c: c, reader: reader, writes: ws, before: obj.DeepCopyObject().(client.Object), behind: behind}
}

// Forget drops what is remembered of the object at key: it is gone.
func (ws *LastWrites) Forget(key types.NamespacedName) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	delete(ws.last, key)
}

func (ws *LastWrites) forget(obj client.Object) { ws.Forget(client.ObjectKeyFromObject(obj)) }

func (ws *LastWrites) record(obj client.Object, behind []string) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.last == nil {
		ws.last = map[types.NamespacedName]written{}
	}
	ws.last[client.ObjectKeyFromObject(obj)] = written{obj: obj.DeepCopyObject().(client.Object), behind: behind}
}

// copyInto sets dst, a pointer to an object of src's type, to a deep copy of src.
func copyInto(src, dst client.Object) {
	reflect.ValueOf(dst).Elem().Set(reflect.ValueOf(src.DeepCopyObject()).Elem())
}
