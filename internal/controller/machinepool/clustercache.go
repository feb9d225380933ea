package machinepool

import (
	"context"
	"fmt"

	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/controllers/clustercache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/clustersource"
)

// NewClusterCache sets up Cluster API's ClusterCache on mgr, for the pools' Nodes. It
// connects only to Clusters whose control plane is initialized and that have a
// CAPTMachinePool: every connection is a cache of the workload cluster's Nodes and a
// health probe every 10 seconds, which a Cluster without workers of CAPT's does not need.
// A Cluster whose first pool comes later gets connected at its next update (Cluster API
// counts the new MachinePool's replicas into its status).
//
// The caches of the workload clusters, and the sources of ClusterCache's connect and
// disconnect events, stop once the manager has stopped its controllers
// (clustersource.StopAfterControllers).
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
	return clustersource.StopAfterControllers(mgr, cc)
}
