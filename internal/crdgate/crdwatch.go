package crdgate

import (
	"context"
	"fmt"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
)

// The gate lists and watches CRDs, as metadata: their names (<plural>.<group>) and their
// changes are all it reads; a CRD's schema can be megabytes.
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=list;watch

// watchCRDs wakes the gate when a CRD in the group of a missing kind is created,
// changed or deleted; the informer's first list wakes it for the CRDs installed since
// Add looked. stop removes the handler and the informer.
func (g *Gate) watchCRDs(ctx context.Context) (stop func(), err error) {
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	informer, err := g.cache.GetInformer(ctx, crd)
	if err != nil {
		return nil, fmt.Errorf("watching CustomResourceDefinitions: %w", err)
	}
	registration, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    g.crdChanged,
		UpdateFunc: func(_, obj any) { g.crdChanged(obj) },
		DeleteFunc: g.crdChanged,
	})
	if err != nil {
		return nil, fmt.Errorf("watching CustomResourceDefinitions: %w", err)
	}
	return func() {
		_ = informer.RemoveEventHandler(registration)
		// Nothing else watches CRDs: the informer and its copy of every CRD's metadata go.
		_ = g.cache.RemoveInformer(context.WithoutCancel(ctx), crd)
	}, nil
}

// crdChanged wakes the gate when obj is a CRD of the group of a kind a controller waits
// for. An update is most often the one that sets Established.
func (g *Gate) crdChanged(obj any) {
	if tombstone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	o, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	if !g.waitsForGroupOf(o.GetName()) {
		return
	}
	select {
	case g.wake <- struct{}{}:
	default: // A wake is pending already: it looks at every kind.
	}
}

// waitsForGroupOf says whether a controller waits for a kind of the group of the CRD
// named crdName (<plural>.<group>).
func (g *Gate) waitsForGroupOf(crdName string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, w := range g.waiting {
		for _, m := range w.missing {
			if strings.HasSuffix(crdName, "."+m.Group) {
				return true
			}
		}
	}
	return false
}

// The API server marks a CRD Established before its discovery lists the new kind
// (apiextensions-apiserver's discovery controller follows the condition): the event of
// that last change may find the kind still unknown, and no later event comes. Here that
// happened in five runs out of eight, discovery catching up within the second. So after
// each CRD event in a waited-for group (the informer's first list included) the gate
// looks again 1 s later, then 2, 4 ... 64 s after that (about two minutes in all, as
// long as controller-runtime gives a watch to sync), and then waits for the next event:
// a handful of discovery requests per event, no polling while nothing changes.
var retryDelays = []time.Duration{
	time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, 64 * time.Second,
}

// retry is the timer of the looks after a CRD event.
type retry struct {
	timer *time.Timer
	// n is the index in retryDelays of the armed look; len(retryDelays) when none is.
	n int
}

func newRetry() *retry {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &retry{timer: t, n: len(retryDelays)}
}

// C fires when the next look is due; never when none is armed.
func (r *retry) C() <-chan time.Time { return r.timer.C }

// reset arms the first look after an event.
func (r *retry) reset() { r.arm(0) }

// next arms the look after the one that fired, if any is left.
func (r *retry) next() { r.arm(r.n + 1) }

func (r *retry) arm(n int) {
	r.timer.Stop()
	r.n = n
	if n < len(retryDelays) {
		r.timer.Reset(retryDelays[n])
	}
}

func (r *retry) stop() { r.timer.Stop() }
