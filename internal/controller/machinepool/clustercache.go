package machinepool

import (
	"context"
	"fmt"

	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/controllers/clustercache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// NewClusterCache sets up Cluster API's ClusterCache on mgr, for the pools' Nodes. It
// connects only to Clusters whose control plane is initialized and that have a
// CAPTMachinePool: every connection is a cache of the workload cluster's Nodes and a
// health probe every 10 seconds, which a Cluster without workers of CAPT's does not need.
// A Cluster whose first pool comes later gets connected at its next update (Cluster API
// counts the new MachinePool's replicas into its status).
//
// The caches of the workload clusters, and the sources of ClusterCache's connect and
// disconnect events, stop once the manager has stopped its controllers (see
// afterControllers).
func NewClusterCache(ctx context.Context, mgr ctrl.Manager, watchFilterValue string, options controller.Options) (clustercache.ClusterCache, error) {
	pools, live := mgr.GetClient(), mgr.GetAPIReader()
	cc, err := clustercache.SetupWithManager(ctx, mgr, clustercache.Options{
		// <cluster>-kubeconfig is read once per connection; Secrets are cached as metadata only.
		SecretClient:     mgr.GetAPIReader(),
		WatchFilterValue: watchFilterValue,
		ClusterFilter: func(cluster *clusterv1.Cluster) bool {
			if !ptr.Deref(cluster.Status.Initialization.ControlPlaneInitialized, false) {
				return false
			}
			has := func(r client.Reader, opts ...client.ListOption) bool {
				list := &infrav1.CAPTMachinePoolList{}
				opts = append(opts, client.InNamespace(cluster.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: cluster.Name})
				return r.List(ctx, list, opts...) == nil && len(list.Items) > 0
			}
			return has(pools) || has(live, client.Limit(1))
		},
		Client: clustercache.ClientOptions{UserAgent: "capt-manager"},
	}, options)
	if err != nil {
		return nil, fmt.Errorf("setting up ClusterCache: %w", err)
	}
	return stopAfterControllers(mgr, cc)
}

// stopAfterControllers returns cc whose cluster sources are read until the manager has
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
func stopAfterControllers(mgr ctrl.Manager, cc clustercache.ClusterCache) (clustercache.ClusterCache, error) {
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
// lifetime ends, not the watching controller's context (see stopAfterControllers).
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
