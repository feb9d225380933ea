package main

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/capt-dev/capt/bench/internal/benchkit"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// executor plays provider-terraform (testenv.Provider: outputs and Ready a delay after a
// Workspace appears, finalizer released a delay after its deletion) and times each
// control plane Workspace's Ready against its Cluster's endpoint.
type executor struct {
	tracker *benchkit.Tracker
}

func startExecutor(ctx context.Context, cfg *rest.Config, c client.Client, delay time.Duration) (*executor, error) {
	ex := &executor{tracker: benchkit.NewTracker()}
	// The tracker starts before the Workspace's write, so the Cluster's update cannot be
	// seen first.
	if _, err := testenv.StartProvider(ctx, cfg, c.Scheme(), testenv.ProviderOptions{
		API: workspace.DefaultAPI(), Delay: delay, OnApply: ex.tracker.Start,
	}); err != nil {
		return nil, err
	}
	ch, err := cache.New(cfg, cache.Options{Scheme: c.Scheme()})
	if err != nil {
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
