package reliability

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// recorder records every change to the scenario's objects, in etcd's order.
//
// A kube-apiserver restart ends every watch. The recorder reopens each from the last
// resourceVersion it delivered, but a restarted API server's watch cache starts at the
// revision it found in etcd, so that is too old (410 Expired) after nearly every restart
// (client-go's RetryWatcher gives up there; a relist alone would miss what was created
// and deleted in between, and when each change happened). The changes in between are
// then read from etcd's history: a list at each revision in between
// (resourceVersionMatch=Exact, which the API server serves from etcd when its cache does
// not reach back that far), compared with the list one revision before. Only history
// already compacted cannot be read: the recorder keeps that as a gap, and the scenario
// fails, since nothing then shows that no object was lost or created again.
type recorder struct {
	cancel context.CancelFunc
	done   sync.WaitGroup

	mu     sync.Mutex
	events []recorded
	kinds  map[string]*followed
}

type recorded struct {
	kind, name string
	uid        string
	typ        watch.EventType
	deleting   bool
	// endpoint is the control plane's or Cluster's endpoint host.
	endpoint string
	rev      int64
}

// followed is how the recorder followed one kind; guarded by recorder.mu.
type followed struct {
	// opened counts the watches opened: all but the first were reopened after one ended.
	opened int
	// replayed counts the revisions read back from etcd's history.
	replayed int
	// gaps say which changes could not be read.
	gaps []string
}

var recordedKinds = []schema.GroupVersionKind{
	clusterv1.GroupVersion.WithKind("Cluster"),
	infrav1.GroupVersion.WithKind("CAPTCluster"),
	controlplanev1.GroupVersion.WithKind("CAPTControlPlane"),
	infrav1.GroupVersion.WithKind("WorkspaceTemplateApply"),
	corev1.SchemeGroupVersion.WithKind("Secret"),
	workspace.DefaultAPI().GroupVersionKind(),
}

// rewatchDelay is how long the recorder waits before it opens a watch again: the API
// server may be down or starting, and waiting loses nothing, since the new watch starts
// where the last one ended.
const rewatchDelay = 200 * time.Millisecond

// watched is one kind the recorder follows, and which of its objects.
type watched struct {
	gvk  schema.GroupVersionKind
	opts []client.ListOption
}

func (w watched) newList() *unstructured.UnstructuredList {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(w.gvk.GroupVersion().WithKind(w.gvk.Kind + "List"))
	return list
}

// list lists the objects now; its revision is the current one.
func (w watched) list(ctx context.Context) (*unstructured.UnstructuredList, error) {
	list := w.newList()
	return list, stack.Client.List(ctx, list, w.opts...)
}

// listAt lists the objects as they were at revision rev.
func (w watched) listAt(ctx context.Context, rev int64) (*unstructured.UnstructuredList, error) {
	list := w.newList()
	exact := &client.ListOptions{Raw: &metav1.ListOptions{
		ResourceVersion: strconv.FormatInt(rev, 10), ResourceVersionMatch: metav1.ResourceVersionMatchExact}}
	return list, stack.Client.List(ctx, list, append(slices.Clone(w.opts), exact)...)
}

// watch watches the changes after revision rev.
func (w watched) watch(ctx context.Context, rev int64) (watch.Interface, error) {
	from := &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: strconv.FormatInt(rev, 10), AllowWatchBookmarks: true}}
	return stack.Client.Watch(ctx, w.newList(), append(slices.Clone(w.opts), from)...)
}

func startRecorder(ctx context.Context, name string) (*recorder, error) {
	ctx, cancel := context.WithCancel(ctx)
	r := &recorder{cancel: cancel, kinds: map[string]*followed{}}
	for _, gvk := range recordedKinds {
		w := watched{gvk: gvk, opts: []client.ListOption{client.InNamespace(name)}}
		if gvk.Kind == workspace.Kind {
			w.opts = []client.ListOption{client.MatchingLabels{clusterv1.ClusterNameLabel: name}}
		}
		// What exists already is recorded as a watch from "now" would deliver it.
		list, err := w.list(ctx)
		if err != nil {
			r.stop()
			return nil, fmt.Errorf("listing %ss: %w", gvk.Kind, err)
		}
		for i := range list.Items {
			r.add(gvk.Kind, watch.Added, &list.Items[i], revision(&list.Items[i]))
		}
		f := &followed{}
		r.mu.Lock()
		r.kinds[gvk.Kind] = f
		r.mu.Unlock()
		r.done.Add(1)
		go r.follow(ctx, w, f, revision(list))
	}
	return r, nil
}

// revision is an object's or a list's resourceVersion: etcd's revision.
func revision(obj interface{ GetResourceVersion() string }) int64 {
	rev, _ := strconv.ParseInt(obj.GetResourceVersion(), 10, 64)
	return rev
}

// follow records the changes of one kind after revision rev, until ctx ends: it reopens
// each watch that ends, and replays from etcd's history what a watch can no longer
// deliver.
func (r *recorder) follow(ctx context.Context, w watched, f *followed, rev int64) {
	defer r.done.Done()
	for ctx.Err() == nil {
		// Whatever else fails (the API server is down or starting) is tried again from rev.
		if err := r.watchFrom(ctx, w, f, &rev); apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			r.replay(ctx, w, f, &rev)
		}
		select {
		case <-ctx.Done():
		case <-time.After(rewatchDelay):
		}
	}
}

// watchFrom records what a watch from *rev delivers, moving *rev along, until the watch
// ends (nil: reopen it) or fails.
func (r *recorder) watchFrom(ctx context.Context, w watched, f *followed, rev *int64) error {
	events, err := w.watch(ctx, *rev)
	if err != nil {
		return err
	}
	defer events.Stop()
	r.mu.Lock()
	f.opened++
	r.mu.Unlock()
	for e := range events.ResultChan() {
		if e.Type == watch.Error {
			return apierrors.FromObject(e.Object)
		}
		u, ok := e.Object.(*unstructured.Unstructured)
		if !ok || revision(u) == 0 {
			return fmt.Errorf("watching %ss: a %s event without a resourceVersion", w.gvk.Kind, e.Type)
		}
		// A bookmark only says that nothing changed up to its revision.
		if e.Type != watch.Bookmark {
			r.add(w.gvk.Kind, e.Type, u, revision(u))
		}
		*rev = revision(u)
	}
	return nil
}

// replay records the changes after *rev up to the current revision from etcd's history,
// one revision at a time, moving *rev along; on another error it stops where it is, to be
// tried again. History already compacted is recorded as a gap, and the recorder carries
// on from the current revision.
func (r *recorder) replay(ctx context.Context, w watched, f *followed, rev *int64) {
	now, err := w.list(ctx)
	if err != nil {
		return
	}
	prev, err := w.listAt(ctx, *rev)
	for err == nil && *rev < revision(now) {
		var next *unstructured.UnstructuredList
		if next, err = w.listAt(ctx, *rev+1); err == nil {
			r.addChange(w.gvk.Kind, prev, next, *rev+1)
			prev, *rev = next, *rev+1
			r.mu.Lock()
			f.replayed++
			r.mu.Unlock()
		}
	}
	if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
		r.mu.Lock()
		f.gaps = append(f.gaps, fmt.Sprintf("%ss between revisions %d and %d: %v", w.gvk.Kind, *rev, revision(now), err))
		r.mu.Unlock()
		*rev = revision(now)
	}
}

// addChange records what changed at revision rev, from the list prev (at rev-1) to the
// list next (at rev), as a watch would have delivered it: an object whose resourceVersion
// is rev was created or updated then; one missing from next was deleted then (in its last
// state, as in a watch's DELETED event).
func (r *recorder) addChange(kind string, prev, next *unstructured.UnstructuredList, rev int64) {
	before := map[types.UID]*unstructured.Unstructured{}
	for i := range prev.Items {
		before[prev.Items[i].GetUID()] = &prev.Items[i]
	}
	for i := range next.Items {
		u := &next.Items[i]
		_, existed := before[u.GetUID()]
		delete(before, u.GetUID())
		switch {
		case revision(u) != rev:
		case existed:
			r.add(kind, watch.Modified, u, rev)
		default:
			r.add(kind, watch.Added, u, rev)
		}
	}
	for _, u := range before {
		r.add(kind, watch.Deleted, u, rev)
	}
}

func (r *recorder) add(kind string, typ watch.EventType, u *unstructured.Unstructured, rev int64) {
	host, _, _ := unstructured.NestedString(u.Object, "spec", "controlPlaneEndpoint", "host")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, recorded{kind: kind, name: u.GetName(), uid: string(u.GetUID()), typ: typ,
		deleting: u.GetDeletionTimestamp() != nil, endpoint: host, rev: rev})
}

// stop ends every watch and waits for the recorder to finish.
func (r *recorder) stop() {
	r.cancel()
	r.done.Wait()
}

// snapshot returns the events so far, in etcd's order.
func (r *recorder) snapshot() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.events)
	slices.SortStableFunc(out, func(a, b recorded) int { return int(a.rev - b.rev) })
	return out
}

// recreated lists the objects that existed under more than one UID: something deleted
// and created again.
func (r *recorder) recreated() []string {
	uids := map[string]map[string]bool{}
	for _, e := range r.snapshot() {
		k := e.kind + " " + e.name
		if uids[k] == nil {
			uids[k] = map[string]bool{}
		}
		uids[k][e.uid] = true
	}
	var out []string
	for k, set := range uids {
		if len(set) > 1 {
			out = append(out, fmt.Sprintf("%s (%d UIDs)", k, len(set)))
		}
	}
	slices.Sort(out)
	return out
}

// first returns the revision of the first event that matches, or 0.
func (r *recorder) first(match func(recorded) bool) int64 {
	for _, e := range r.snapshot() {
		if match(e) {
			return e.rev
		}
	}
	return 0
}

// changedAfter says whether a change to an object of kind after revision rev was
// recorded.
func (r *recorder) changedAfter(kind string, rev int64) bool {
	return r.first(func(e recorded) bool { return e.kind == kind && e.rev > rev }) != 0
}

// reopened returns how many times the watch of kind was opened again after one ended.
func (r *recorder) reopened(kind string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return max(r.kinds[kind].opened-1, 0)
}

// replayed returns how many revisions were read back from etcd's history, over all kinds.
func (r *recorder) replayed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, f := range r.kinds {
		n += f.replayed
	}
	return n
}

// missed lists the changes the recorder could not follow.
func (r *recorder) missed() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, f := range r.kinds {
		out = append(out, f.gaps...)
	}
	slices.Sort(out)
	return out
}

// currentRevision returns etcd's revision now: a list's resourceVersion, at least that of
// every write that finished before it.
func currentRevision(ctx context.Context) (int64, error) {
	list := &corev1.NamespaceList{}
	if err := stack.Client.List(ctx, list, client.Limit(1)); err != nil {
		return 0, err
	}
	return revision(list), nil
}
