package clustersource

import (
	"context"
	"testing"
	"time"

	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/controllers/clustercache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/capt-dev/capt/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Run(m, func(e *testenv.Env) { env = e }, testenv.Reusable)
}

// sendingCache is a ClusterCache whose cluster source reads ch, an unbuffered channel, as
// Cluster API's does: clustercache's sendEventsToClusterSources sends on it without
// watching its context. Its other methods are not called.
type sendingCache struct {
	clustercache.ClusterCache
	ch chan event.GenericEvent
}

func (c sendingCache) GetClusterSource(_ string, mapFunc func(ctx context.Context, cluster client.Object) []ctrl.Request, _ ...clustercache.GetClusterSourceOption) source.Source {
	return source.Channel(c.ch, handler.EnqueueRequestsFromMapFunc(mapFunc))
}

// TestClusterEventsInFlightAtShutdown plays ClusterCache's controller sending connect
// events after the manager began to stop (a connection made in that moment), to a
// controller watching them: the manager must stop cleanly, not wait for them until its
// graceful shutdown timeout and stop with an error. The events are sent after the
// sender's context ended, 20 of them: a source that stopped reading with its
// controller's context would leave one of them blocked with a probability of 1 - 2^-20.
func TestClusterEventsInFlightAtShutdown(t *testing.T) {
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                  env.Client.Scheme(),
		Metrics:                 server.Options{BindAddress: "0"},
		HealthProbeBindAddress:  "0",
		GracefulShutdownTimeout: ptr.To(10 * time.Second),
		Controller:              config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan event.GenericEvent)
	cc, err := StopAfterControllers(mgr, sendingCache{ch: ch})
	if err != nil {
		t.Fatal(err)
	}
	if err := ctrl.NewControllerManagedBy(mgr).Named("cluster-events").
		WatchesRawSource(cc.GetClusterSource("cluster-events", func(context.Context, client.Object) []ctrl.Request { return nil })).
		Complete(reconcile.Func(func(context.Context, reconcile.Request) (reconcile.Result, error) { return reconcile.Result{}, nil })); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		for range 20 {
			ch <- event.GenericEvent{Object: &clusterv1.Cluster{}}
		}
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("the manager stopped before its runnables started: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("the manager did not stop cleanly with ClusterCache's events in flight: %v", err)
	}
}
