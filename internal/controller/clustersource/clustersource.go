// Package clustersource wires Cluster API's ClusterCache into a manager so that the
// manager stops cleanly: the cluster sources controllers watch read ClusterCache's
// events until every controller has stopped, and ClusterCache shuts down after them.
// CAPT's MachinePool controller and the tests that run Cluster API's own controllers
// (test/clusterclass) share it.
package clustersource

import (
	"context"
	"fmt"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/cluster-api/controllers/clustercache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// StopAfterControllers returns cc whose cluster sources are read until the manager has
// stopped its controllers, and shuts cc down then.
//
// ClusterCache sends each connect and disconnect event on an unbuffered channel, without
// watching its context, and a controller's source.Channel stops reading when that
// controller's context ends. The manager ends the contexts of all its controllers at
// once, ClusterCache's own among them: a connection made in that moment had its event
// sent to a source that no longer read, blocking ClusterCache's controller, and with it
// the manager's shutdown, until GracefulShutdownTimeout (30 s), after which the manager
// stopped with an error. Read until the controllers have stopped, the event reaches the
// stopped controller's queue, which drops it.
func StopAfterControllers(mgr ctrl.Manager, cc clustercache.ClusterCache) (clustercache.ClusterCache, error) {
	lifetime, end := context.WithCancel(context.Background())
	stop := func() {
		if s, ok := cc.(interface{ Shutdown() }); ok {
			s.Shutdown()
		}
		end()
	}
	if err := mgr.Add(afterControllers{cache: mgr.GetCache(), stop: stop}); err != nil {
		end()
		return nil, fmt.Errorf("stopping ClusterCache after the controllers: %w", err)
	}
	return lateSources{ClusterCache: cc, lifetime: lifetime}, nil
}

// afterControllers is a runnable that calls stop once the manager has stopped its
// controllers. controller-runtime stops its runnables in groups: the leader-election
// ones (every controller, ClusterCache's included) and only then the caches. A
// runnable that has a cache is one of the caches.
type afterControllers struct {
	cache cache.Cache
	stop  func()
}

// GetCache puts the runnable in the manager's group of caches.
func (a afterControllers) GetCache() cache.Cache { return a.cache }

// Start waits for the manager to stop the caches' group.
func (a afterControllers) Start(ctx context.Context) error {
	<-ctx.Done()
	a.stop()
	return nil
}

// lateSources is a ClusterCache whose cluster sources read ClusterCache's events until
// lifetime ends, not the watching controller's context (see StopAfterControllers).
type lateSources struct {
	clustercache.ClusterCache
	lifetime context.Context
}

func (c lateSources) GetClusterSource(controllerName string, mapFunc func(ctx context.Context, cluster client.Object) []ctrl.Request, opts ...clustercache.GetClusterSourceOption) source.Source {
	return lateSource{Source: c.ClusterCache.GetClusterSource(controllerName, mapFunc, opts...), lifetime: c.lifetime}
}

// lateSource starts its Source on lifetime instead of the controller's context.
type lateSource struct {
	source.Source
	lifetime context.Context
}

func (s lateSource) Start(_ context.Context, queue workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	return s.Source.Start(s.lifetime, queue)
}
