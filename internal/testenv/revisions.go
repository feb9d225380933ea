package testenv

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Change is one watch event: what changed, how, and at which etcd revision (an object's
// resourceVersion is the revision of the write that made it, one counter for every kind).
type Change struct {
	Kind     string
	Type     watch.EventType
	Revision int64
	Object   client.Object
}

// RevisionLog records every change of the kinds it watches, so that a test can check the
// order of writes by etcd revision, not by sampling the clock.
type RevisionLog struct {
	t      testing.TB
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	seen   []Change
	failed []string
}

// WatchRevisions starts one watch per list kind in namespace ("" for all namespaces and
// cluster-scoped kinds). A watch that ends before the test does fails the test: the
// order it was to check would be missing changes.
func (e *Env) WatchRevisions(t testing.TB, namespace string, lists ...client.ObjectList) *RevisionLog {
	t.Helper()
	w, err := client.NewWithWatch(e.Config, client.Options{Scheme: e.Scheme})
	if err != nil {
		t.Fatalf("watch client: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &RevisionLog{t: t, cancel: cancel}
	for _, list := range lists {
		kind := listKind(list)
		var opts []client.ListOption
		if namespace != "" {
			opts = append(opts, client.InNamespace(namespace))
		}
		wi, err := w.Watch(ctx, list, opts...)
		if err != nil {
			cancel()
			t.Fatalf("watching %s: %v", kind, err)
		}
		l.wg.Add(1)
		go l.record(ctx, kind, wi)
	}
	t.Cleanup(l.Stop)
	return l
}

// listKind names the kind a list watches.
func listKind(list client.ObjectList) string {
	if u, ok := list.(interface{ GetKind() string }); ok && u.GetKind() != "" {
		return u.GetKind()
	}
	return fmt.Sprintf("%T", list)
}

// Changes are the changes seen of the kind list watches, in the order they came.
func (l *RevisionLog) Changes(list client.ObjectList) []Change {
	kind := listKind(list)
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Change
	for _, c := range l.seen {
		if c.Kind == kind {
			out = append(out, c)
		}
	}
	return out
}

// StatusChanges counts the changes of the kind list watches that changed an object's
// status (its creation is not one).
func (l *RevisionLog) StatusChanges(list client.ObjectList) int {
	n := 0
	last := map[string]any{}
	for _, c := range l.Changes(list) {
		if c.Type == watch.Deleted {
			continue
		}
		u, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(c.Object)
		status := u["status"]
		key := c.Object.GetNamespace() + "/" + c.Object.GetName()
		if prev, seen := last[key]; seen && !equality.Semantic.DeepEqual(prev, status) {
			n++
		}
		last[key] = status
	}
	return n
}

func (l *RevisionLog) record(ctx context.Context, kind string, wi watch.Interface) {
	defer l.wg.Done()
	defer wi.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-wi.ResultChan():
			if !ok {
				if ctx.Err() == nil {
					l.fail(fmt.Sprintf("the watch of %s ended early", kind))
				}
				return
			}
			obj, isObject := ev.Object.(client.Object)
			if ev.Type == watch.Error || !isObject {
				l.fail(fmt.Sprintf("the watch of %s failed: %v", kind, ev.Object))
				continue
			}
			rev, err := strconv.ParseInt(obj.GetResourceVersion(), 10, 64)
			if err != nil {
				l.fail(fmt.Sprintf("%s %s has resourceVersion %q", kind, obj.GetName(), obj.GetResourceVersion()))
				continue
			}
			l.mu.Lock()
			l.seen = append(l.seen, Change{Kind: kind, Type: ev.Type, Revision: rev, Object: obj})
			l.mu.Unlock()
		}
	}
}

func (l *RevisionLog) fail(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failed = append(l.failed, msg)
}

// Stop ends the watches; it fails the test if one ended early.
func (l *RevisionLog) Stop() {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.failed {
		l.t.Errorf("revision log: %s", f)
	}
	l.failed = nil
}

// First is the revision of the first change that match accepts, and whether there is one.
func (l *RevisionLog) First(match func(Change) bool) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.seen {
		if match(c) {
			return c.Revision, true
		}
	}
	return 0, false
}

// Await waits until the log has a change that match accepts: a state a test read from the
// API server reaches the watch an instant later, and a log stopped in between would miss
// the change it is to order.
func (l *RevisionLog) Await(t testing.TB, what string, match func(Change) bool) {
	t.Helper()
	Eventually(t, what+" seen by the watch", func() error {
		if _, ok := l.First(match); !ok {
			return fmt.Errorf("not yet")
		}
		return nil
	})
}

// Deleted matches the deletion of the object named name.
func Deleted(name string) func(Change) bool {
	return func(c Change) bool { return c.Type == watch.Deleted && c.Object.GetName() == name }
}

// Deleting matches the first change that shows the object named name being deleted.
func Deleting(name string) func(Change) bool {
	return func(c Change) bool { return c.Object.GetName() == name && c.Object.GetDeletionTimestamp() != nil }
}

// Step is a named change a test expects in order.
type Step struct {
	What  string
	Match func(Change) bool
}

// InOrder fails the test unless each step happened, each at a later revision than the one
// before it.
func (l *RevisionLog) InOrder(t testing.TB, steps ...Step) {
	t.Helper()
	var prev int64
	var prevWhat string
	for _, s := range steps {
		rev, ok := l.First(s.Match)
		switch {
		case !ok:
			t.Errorf("%s: never seen", s.What)
			return
		case rev <= prev:
			t.Errorf("%s at revision %d, not after %s at revision %d", s.What, rev, prevWhat, prev)
		}
		prev, prevWhat = rev, s.What
	}
}
