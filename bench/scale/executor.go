package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/capt-dev/capt/bench/internal/benchkit"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// executorFinalizer is the finalizer provider-terraform's managed reconciler holds.
const executorFinalizer = "finalizer.managedresource.crossplane.io"

// executor plays provider-terraform: it holds a finalizer on each Workspace, reports
// outputs and Ready a delay after the Workspace appears, and releases the finalizer a
// delay after its deletion (the destroy). It also times each control plane Workspace's
// Ready against its Cluster's endpoint.
type executor struct {
	c       client.Client
	delay   time.Duration
	ca      string
	tracker *benchkit.Tracker
	mu      sync.Mutex
	pending map[string]bool
}

func startExecutor(ctx context.Context, cfg *rest.Config, c client.Client, delay time.Duration) (*executor, error) {
	caPEM, err := testenv.NewCACertificatePEM()
	if err != nil {
		return nil, err
	}
	ex := &executor{c: c, delay: delay, ca: base64.StdEncoding.EncodeToString(caPEM),
		tracker: benchkit.NewTracker(), pending: map[string]bool{}}
	ch, err := cache.New(cfg, cache.Options{Scheme: c.Scheme()})
	if err != nil {
		return nil, err
	}
	wsInformer, err := ch.GetInformer(ctx, workspace.DefaultAPI().NewObject())
	if err != nil {
		return nil, err
	}
	onWorkspace := func(obj any) {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			ex.handle(ctx, u)
		}
	}
	if _, err := wsInformer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: onWorkspace, UpdateFunc: func(_, obj any) { onWorkspace(obj) },
	}); err != nil {
		return nil, err
	}
	clusterInformer, err := ch.GetInformer(ctx, &clusterv1.Cluster{})
	if err != nil {
		return nil, err
	}
	if _, err := clusterInformer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{UpdateFunc: func(_, obj any) {
		if cl, ok := obj.(*clusterv1.Cluster); ok && !cl.Spec.ControlPlaneEndpoint.IsZero() {
			ex.tracker.Seen(cl.Name)
		}
	}}); err != nil {
		return nil, err
	}
	go func() { _ = ch.Start(ctx) }()
	if !ch.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("executor cache did not sync")
	}
	return ex, nil
}

func (ex *executor) endpointDelays() []time.Duration { return ex.tracker.Delays() }

// handle schedules what provider-terraform would do next with the Workspace, once.
func (ex *executor) handle(ctx context.Context, u *unstructured.Unstructured) {
	name := u.GetName()
	w, err := workspace.FromUnstructured(u)
	if err != nil {
		return
	}
	var step string
	var do func() error
	switch {
	case u.GetDeletionTimestamp() != nil:
		step, do = "destroy", func() error { return ex.setFinalizer(ctx, name, false) }
	case !hasFinalizer(u):
		step, do = "finalizer", func() error { return ex.setFinalizer(ctx, name, true) }
	case !w.IsReady():
		step, do = "apply", func() error { return ex.apply(ctx, name) }
	default:
		return
	}
	key := step + "/" + name
	ex.mu.Lock()
	if ex.pending[key] {
		ex.mu.Unlock()
		return
	}
	ex.pending[key] = true
	ex.mu.Unlock()
	wait := ex.delay
	if step == "finalizer" {
		wait = 0
	}
	time.AfterFunc(wait, func() {
		if err := do(); err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			fmt.Printf("executor: %s %s: %v\n", step, name, err)
		}
		ex.mu.Lock()
		delete(ex.pending, key)
		ex.mu.Unlock()
	})
}

func hasFinalizer(u *unstructured.Unstructured) bool {
	for _, f := range u.GetFinalizers() {
		if f == executorFinalizer {
			return true
		}
	}
	return false
}

func (ex *executor) setFinalizer(ctx context.Context, name string, add bool) error {
	patch := `{"metadata":{"finalizers":["` + executorFinalizer + `"]}}`
	if !add {
		patch = `{"metadata":{"finalizers":null}}`
	}
	u := workspace.DefaultAPI().NewObject()
	u.SetName(name)
	return ex.c.Patch(ctx, u, client.RawPatch(types.MergePatchType, []byte(patch)))
}

// apply reports the outputs CAPT reads, by the Workspace's kind of apply, and Ready.
func (ex *executor) apply(ctx context.Context, name string) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u := workspace.DefaultAPI().NewObject()
		if err := ex.c.Get(ctx, client.ObjectKey{Name: name}, u); err != nil {
			return err
		}
		cluster := u.GetLabels()[clusterv1.ClusterNameLabel]
		outputs := map[string]any{}
		controlPlane := strings.Contains(name, "-controlplane-")
		if controlPlane {
			outputs["cluster_endpoint"] = "https://" + cluster + ".eks.example.com"
			outputs["cluster_certificate_authority_data"] = ex.ca
		} else {
			outputs["vpc_id"] = "vpc-" + cluster
			outputs["private_subnet_ids"] = []any{"subnet-" + cluster + "-a", "subnet-" + cluster + "-b"}
			outputs["availability_zones"] = []any{"zz-local-1a", "zz-local-1b"}
		}
		now := time.Now().UTC().Format(time.RFC3339)
		_ = unstructured.SetNestedSlice(u.Object, []any{
			map[string]any{"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": now},
			map[string]any{"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": now, "observedGeneration": u.GetGeneration()},
		}, "status", "conditions")
		_ = unstructured.SetNestedField(u.Object, outputs, "status", "atProvider", "outputs")
		if controlPlane {
			// Started before the write, so the Cluster's update cannot be seen first.
			ex.tracker.Start(cluster)
		}
		return ex.c.Status().Update(ctx, u)
	})
	return err
}
