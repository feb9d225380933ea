package testenv

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// WriteCounter wraps a controller's client and counts every write it sends to the API
// server, by verb and kind: the figure that says whether a controller is quiet at rest.
type WriteCounter struct {
	mu     sync.Mutex
	counts map[string]int
	// passes counts writes by verb and kind within each reconcile (controller-runtime's
	// reconcile ID in the context); writes made outside a reconcile are not in it.
	passes map[types.UID]map[string]int
	// byNamespace counts writes by namespace, then verb and kind: a manager also
	// reconciles what earlier tests left in their namespaces.
	byNamespace map[string]map[string]int
}

// NewWriteCounter returns a counter and the client to give the controller.
func NewWriteCounter(c client.WithWatch) (*WriteCounter, client.WithWatch) {
	w := &WriteCounter{counts: map[string]int{}, passes: map[types.UID]map[string]int{}, byNamespace: map[string]map[string]int{}}
	scheme := c.Scheme()
	count := func(ctx context.Context, verb string, obj runtime.Object) {
		kind := "unknown"
		if gvk, err := apiutil.GVKForObject(obj, scheme); err == nil {
			kind = gvk.Kind
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.counts[verb+" "+kind]++
		if o, ok := obj.(client.Object); ok {
			if w.byNamespace[o.GetNamespace()] == nil {
				w.byNamespace[o.GetNamespace()] = map[string]int{}
			}
			w.byNamespace[o.GetNamespace()][verb+" "+kind]++
		}
		if id := controller.ReconcileIDFromContext(ctx); id != "" {
			if w.passes[id] == nil {
				w.passes[id] = map[string]int{}
			}
			w.passes[id][verb+" "+kind]++
		}
	}
	wrapped := interceptor.NewClient(c, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			count(ctx, "create", obj)
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			count(ctx, "update", obj)
			return c.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			count(ctx, "patch", obj)
			return c.Patch(ctx, obj, patch, opts...)
		},
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			w.mu.Lock()
			w.counts["apply"]++
			w.mu.Unlock()
			return c.Apply(ctx, obj, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			count(ctx, "delete", obj)
			return c.Delete(ctx, obj, opts...)
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			count(ctx, "update/"+sub, obj)
			return c.SubResource(sub).Update(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			count(ctx, "patch/"+sub, obj)
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	})
	return w, wrapped
}

// Total is the number of writes counted since the last Reset.
func (w *WriteCounter) Total() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.counts {
		n += c
	}
	return n
}

// Settle waits until no write has been counted for quiet (a reconcile that is still
// finishing writes its last patch), bounded by WaitTimeout.
func (w *WriteCounter) Settle(quiet time.Duration) {
	last, since := w.Total(), time.Now()
	for deadline := time.Now().Add(WaitTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if n := w.Total(); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= quiet {
			return
		}
	}
}

// Reset forgets every count.
func (w *WriteCounter) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.counts = map[string]int{}
	w.passes = map[types.UID]map[string]int{}
	w.byNamespace = map[string]map[string]int{}
}

// In is the writes counted in namespace ns since the last Reset, by verb and kind.
func (w *WriteCounter) In(ns string) map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.byNamespace[ns])
}

// Count is the number of writes of verbKind ("patch/status CAPTControlPlane") since the
// last Reset.
func (w *WriteCounter) Count(verbKind string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.counts[verbKind]
}

// MostInOnePass is the largest number of writes of verbKind ("patch/status
// CAPTControlPlane") any one reconcile made.
func (w *WriteCounter) MostInOnePass(verbKind string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	most := 0
	for _, p := range w.passes {
		most = max(most, p[verbKind])
	}
	return most
}

// String lists the counts by verb and kind.
func (w *WriteCounter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	keys := make([]string, 0, len(w.counts))
	for k := range w.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, w.counts[k]))
	}
	return strings.Join(parts, " ")
}

// ReconcileTotal returns controller-runtime's count of reconciles of a controller in
// this process, from its metrics registry.
func ReconcileTotal(controller string) float64 {
	return ReconcileResult(controller, "")
}

// Reconcile results as controller-runtime's metrics label them: a pass that ended with
// an error, with a RequeueAfter (a timer that will bring another pass with no event),
// with Requeue, or with nothing more to do.
const (
	ResultError        = "error"
	ResultRequeueAfter = "requeue_after"
	ResultRequeue      = "requeue"
	ResultSuccess      = "success"
)

// ReconcileResult returns controller-runtime's count of a controller's reconciles in
// this process that ended with result (one of the Result constants; "" counts all).
func ReconcileResult(controller, result string) float64 {
	families, err := metrics.Registry.Gather()
	if err != nil {
		return -1
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			ofController, withResult := false, result == ""
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "controller":
					ofController = l.GetValue() == controller
				case "result":
					withResult = withResult || l.GetValue() == result
				}
			}
			if ofController && withResult {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

// AtRest checks that the manager whose writes w counts writes nothing for 2 s once its
// last write settled, and that controller is not in a hot loop. The reconcile count is
// process-wide (other tests' managers add theirs, late under load), so it only catches
// a loop, which would be hundreds of passes in 2 s; the writes are this manager's own.
func (w *WriteCounter) AtRest(t testing.TB, controller, what string) {
	t.Helper()
	w.Settle(time.Second)
	w.Reset()
	before := ReconcileTotal(controller)
	time.Sleep(2 * time.Second)
	if n, passes := w.Total(), ReconcileTotal(controller)-before; n != 0 || passes > 5 {
		t.Errorf("%s: at rest: %d writes (%s), %.0f reconciles", what, n, w, passes)
	}
}
