package machinepool

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/controllers/clustercache"
	"sigs.k8s.io/cluster-api/util"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// nodes is what a pass saw of a node group's Nodes in the workload cluster.
type nodes struct {
	// providerIDs of the Nodes that report one, sorted: spec.providerIDList.
	providerIDs []string
	// count is how many Nodes report a providerID; ready how many of those are Ready.
	count, ready int32
}

// nodeWatchName names the Node watch in each workload cluster's ClusterCache: one watch
// per cluster, added again after a reconnect.
const nodeWatchName = "captmachinepool-watchNodes"

// readNodes reads the node group's Nodes from the workload cluster's cache, after making
// sure the cache watches them: a Node that joins, leaves or turns Ready brings a pass.
// It returns unreachable (and no error) while ClusterCache has no connection: its
// connect event brings the next pass.
func (r *Reconciler) readNodes(ctx context.Context, cluster *clusterv1.Cluster, group string) (_ *nodes, unreachable string, _ error) {
	key := client.ObjectKeyFromObject(cluster)
	err := r.ClusterCache.Watch(ctx, key, clustercache.NewWatcher(clustercache.WatcherOptions{
		Name:         nodeWatchName,
		Watcher:      r.controller,
		Kind:         &corev1.Node{},
		EventHandler: handler.EnqueueRequestsFromMapFunc(r.nodeToPools(key)),
		Predicates:   []predicate.Predicate{nodeChanged()},
	}))
	if errors.Is(err, clustercache.ErrClusterNotConnected) {
		return nil, "Waiting for Cluster API's ClusterCache to connect to the workload cluster (<cluster>-kubeconfig)", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("watching the workload cluster's Nodes: %w", err)
	}
	reader, err := r.ClusterCache.GetReader(ctx, key)
	if errors.Is(err, clustercache.ErrClusterNotConnected) {
		return nil, "Waiting for Cluster API's ClusterCache to connect to the workload cluster (<cluster>-kubeconfig)", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("reading the workload cluster: %w", err)
	}
	list := &corev1.NodeList{}
	if err := reader.List(ctx, list, client.MatchingLabels{NodeGroupLabel: group}); err != nil {
		return nil, "", fmt.Errorf("listing the Nodes of node group %s: %w", group, err)
	}
	return countNodes(list.Items), "", nil
}

// countNodes counts the Nodes that report a providerID (a Node without one has not been
// initialized by its cloud provider and cannot be matched by Cluster API) and the Ready
// ones among them.
func countNodes(items []corev1.Node) *nodes {
	n := &nodes{}
	for i := range items {
		node := &items[i]
		if node.Spec.ProviderID == "" || !node.DeletionTimestamp.IsZero() {
			continue
		}
		n.providerIDs = append(n.providerIDs, node.Spec.ProviderID)
		n.count++
		if util.IsNodeReady(node) {
			n.ready++
		}
	}
	slices.Sort(n.providerIDs)
	n.providerIDs = slices.Compact(n.providerIDs)
	return n
}

// nodeChanged passes the Node events that change what a pool reports: creation,
// deletion, and updates of the providerID, the node group label, the Ready status or the
// deletion timestamp. A kubelet's (KWOK's) heartbeats change none of them: a pool at rest
// gets no pass from its Nodes.
func nodeChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(*corev1.Node)
		changed, okNew := e.ObjectNew.(*corev1.Node)
		if !okOld || !okNew {
			return true
		}
		return old.Spec.ProviderID != changed.Spec.ProviderID ||
			old.Labels[NodeGroupLabel] != changed.Labels[NodeGroupLabel] ||
			util.IsNodeReady(old) != util.IsNodeReady(changed) ||
			!equality.Semantic.DeepEqual(old.DeletionTimestamp, changed.DeletionTimestamp)
	}}
}

// nodeToPools maps a Node of the workload cluster key to the pools of that Cluster whose
// node group it belongs to (or that have not read their node group's name yet).
func (r *Reconciler) nodeToPools(key client.ObjectKey) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		group := o.GetLabels()[NodeGroupLabel]
		if group == "" {
			return nil
		}
		list := &infrav1.CAPTMachinePoolList{}
		if err := r.Client.List(ctx, list, client.InNamespace(key.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: key.Name}); err != nil {
			return nil
		}
		var out []reconcile.Request
		for i := range list.Items {
			if g := list.Items[i].Status.NodeGroupName; g == "" || g == group {
				out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
			}
		}
		return out
	}
}
