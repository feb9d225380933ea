package dev

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// EndpointCleared names the step where the control plane's endpoint is cleared.
const EndpointCleared = "CAPTControlPlane endpoint cleared"

// Step is one deletion step: an object began deleting or was gone, or the endpoint was
// cleared. Revision is the resourceVersion of the write that made it: one etcd orders
// every object, so revisions order the steps exactly, even those a person sees at once.
type Step struct {
	What     string
	Revision int64
	// At is when the step was seen, since the Cluster was deleted.
	At time.Duration
}

// Deletion is the steps of a Cluster's deletion, in the order etcd saw them.
type Deletion struct {
	Steps []Step
	seen  map[string]bool
}

// Find returns the step what, and whether it happened.
func (d *Deletion) Find(what string) (Step, bool) {
	for _, s := range d.Steps {
		if s.What == what {
			return s, true
		}
	}
	return Step{}, false
}

func (d *Deletion) record(what string, u *unstructured.Unstructured, at time.Duration) {
	if d.seen[what] {
		return
	}
	d.seen[what] = true
	rev, _ := strconv.ParseInt(u.GetResourceVersion(), 10, 64)
	d.Steps = append(d.Steps, Step{What: what, Revision: rev, At: at})
}

// DeleteCluster deletes the Cluster and follows its deletion until none of the sample's
// objects is left: the view shows it as it happens, and watches on every kind record
// each step (the order of CAPTEP-0041).
func DeleteCluster(ctx context.Context, c client.WithWatch, w *Watcher) (*Deletion, error) {
	events, stop, err := watchAll(ctx, c, w.Namespace, w.Cluster)
	if err != nil {
		return nil, err
	}
	defer stop()

	cluster := &clusterv1.Cluster{}
	cluster.Namespace, cluster.Name = w.Namespace, w.Cluster
	start := time.Now()
	if err := c.Delete(ctx, cluster); err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("deleting Cluster %s: %w", w.Cluster, err)
	}
	d := &Deletion{seen: map[string]bool{}}
	cpKind := "CAPTControlPlane"
	consume := func() {
		for {
			select {
			case e := <-events:
				at := time.Since(start)
				key := e.kind + "/" + e.obj.GetName()
				switch {
				case e.typ == watch.Deleted:
					d.record(key+" gone", e.obj, at)
				case e.obj.GetDeletionTimestamp() != nil:
					d.record(key+" deleting", e.obj, at)
					if e.kind == cpKind {
						if host, _, _ := unstructured.NestedString(e.obj.Object, "spec", "controlPlaneEndpoint", "host"); host == "" {
							d.record(EndpointCleared, e.obj, at)
						}
					}
				}
			default:
				return
			}
		}
	}
	_, err = w.Until(ctx, func(s Snapshot) (bool, error) {
		consume()
		return len(s) == 0, nil
	})
	// The last events may trail the last look by a moment.
	time.Sleep(500 * time.Millisecond)
	consume()
	slices.SortStableFunc(d.Steps, func(a, b Step) int { return int(a.Revision - b.Revision) })
	return d, err
}

type event struct {
	kind string
	typ  watch.EventType
	obj  *unstructured.Unstructured
}

// watchAll watches every kind the view shows, from now on, for cluster's objects.
func watchAll(ctx context.Context, c client.WithWatch, namespace, cluster string) (<-chan event, func(), error) {
	events := make(chan event, 1024)
	var watches []watch.Interface
	stop := func() {
		for _, wi := range watches {
			wi.Stop()
		}
	}
	for _, gvk := range kinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		opts := listOptions(gvk.Kind, namespace, cluster)
		if err := c.List(ctx, list, opts...); err != nil {
			stop()
			return nil, nil, fmt.Errorf("listing %ss: %w", gvk.Kind, err)
		}
		wi, err := c.Watch(ctx, list, append(opts, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.GetResourceVersion()}})...)
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("watching %ss: %w", gvk.Kind, err)
		}
		watches = append(watches, wi)
		go func(kind string) {
			for e := range wi.ResultChan() {
				u, ok := e.Object.(*unstructured.Unstructured)
				if !ok || !belongs(kind, u, cluster) {
					continue
				}
				select {
				case events <- event{kind: kind, typ: e.Type, obj: u}:
				case <-ctx.Done():
					return
				}
			}
		}(gvk.Kind)
	}
	return events, stop, nil
}
