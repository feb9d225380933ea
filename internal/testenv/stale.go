package testenv

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// StaleClient plays a manager's cache that has not caught up: reads of stale's object
// return stale, lists of the kinds of empty return nothing (a cache that saw them go);
// every other read and every write goes to the API server. Tests replay with it the pass
// a reconciler runs from such a cache.
func (e *Env) StaleClient(t testing.TB, stale client.Object, empty ...client.ObjectList) client.WithWatch {
	t.Helper()
	c, err := client.NewWithWatch(e.Config, client.Options{Scheme: e.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return interceptor.NewClient(c, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if reflect.TypeOf(obj) == reflect.TypeOf(stale) && key == client.ObjectKeyFromObject(stale) {
				reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(stale.DeepCopyObject()).Elem())
				return nil
			}
			return c.Get(ctx, key, obj, opts...)
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			for _, l := range empty {
				if reflect.TypeOf(list) == reflect.TypeOf(l) {
					return nil
				}
			}
			return c.List(ctx, list, opts...)
		},
	})
}

// ReplayIsQuiet runs the pass a reconciler, built by newReconciler on a client reading
// stale from a cache that has not caught up (see StaleClient), runs for stale's key, and
// fails the test unless it returns no error, writes nothing and records no event.
func (e *Env) ReplayIsQuiet(t testing.TB, stale client.Object, newReconciler func(client.Client, events.EventRecorder) reconcile.Reconciler, empty ...client.ObjectList) {
	t.Helper()
	counter, c := NewWriteCounter(e.StaleClient(t, stale, empty...))
	recorded := &EventCounter{}
	req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(stale)}
	if _, err := newReconciler(c, recorded).Reconcile(context.Background(), req); err != nil {
		t.Fatalf("replayed pass: %v", err)
	}
	if counter.Total() != 0 || len(recorded.Reasons()) != 0 {
		t.Errorf("replayed pass: %d writes (%s), events %v; want none", counter.Total(), counter, recorded.Reasons())
	}
}

// EventCounter is an event recorder that counts what it is given.
type EventCounter struct {
	mu      sync.Mutex
	reasons []string
}

var _ events.EventRecorder = &EventCounter{}

// Eventf records the event's reason.
func (e *EventCounter) Eventf(_ runtime.Object, _ runtime.Object, _, reason, _, _ string, _ ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reasons = append(e.reasons, reason)
}

// Reasons returns the reasons of the events recorded so far.
func (e *EventCounter) Reasons() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.reasons...)
}
