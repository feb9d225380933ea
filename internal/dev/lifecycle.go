package dev

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/kubeconfig"
)

// Watcher polls the sample's objects and prints what changed. Polling suits a view that
// lists six kinds for a person (and a test) for a few minutes; the controllers watch.
type Watcher struct {
	Client    client.Reader
	Namespace string
	Cluster   string
	Printer   *Printer
	// Interval between two looks.
	Interval time.Duration
	// Show are condition types the view shows whatever their status (Observe).
	Show []string
}

// Until looks, prints, and returns once done says so (or its error, or ctx's).
func (w *Watcher) Until(ctx context.Context, done func(Snapshot) (bool, error)) (Snapshot, error) {
	for {
		snap, err := Observe(ctx, w.Client, w.Namespace, w.Cluster, w.Show...)
		if err != nil {
			return nil, err
		}
		w.Printer.Print(snap)
		ok, err := done(snap)
		if err != nil || ok {
			return snap, err
		}
		select {
		case <-ctx.Done():
			return snap, ctx.Err()
		case <-time.After(w.Interval):
		}
	}
}

// Provisioned reports whether Cluster API sees the Cluster's infrastructure provisioned
// and its control plane initialized, with the endpoint on the Cluster, and whether the
// CAPTControlPlane is Ready: initialization comes with the first outputs, Ready once the
// Workspace has applied the whole spec.
func Provisioned(ctx context.Context, c client.Reader, namespace, name string) (bool, error) {
	key := client.ObjectKey{Namespace: namespace, Name: name}
	cluster := &clusterv1.Cluster{}
	if err := c.Get(ctx, key, cluster); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	init := cluster.Status.Initialization
	if !ptr.Deref(init.InfrastructureProvisioned, false) || !ptr.Deref(init.ControlPlaneInitialized, false) ||
		!cluster.Spec.ControlPlaneEndpoint.IsValid() {
		return false, nil
	}
	cp := &controlplanev1.CAPTControlPlane{}
	if err := c.Get(ctx, key, cp); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	ready := meta.FindStatusCondition(cp.Status.Conditions, infrav1.ReadyCondition)
	return ready != nil && ready.Status == metav1.ConditionTrue && cp.Status.ObservedGeneration == cp.Generation, nil
}

// Available reports whether Cluster API reports the Cluster Available, which it does only
// once it connects to the workload cluster with the kubeconfig CAPT published
// (RemoteConnectionProbe) and every other part is up; until then the progress view shows
// the conditions still pending.
func Available(ctx context.Context, c client.Reader, namespace, name string) (bool, error) {
	cluster := &clusterv1.Cluster{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, cluster); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	return meta.IsStatusConditionTrue(cluster.Status.Conditions, clusterv1.ClusterAvailableCondition), nil
}

// MachinePoolRunning says Cluster API reports the MachinePool Running with all of its
// replicas Ready: its Nodes matched by providerID in the workload cluster.
func MachinePoolRunning(ctx context.Context, c client.Reader, namespace, name string) (bool, error) {
	mp := &clusterv1.MachinePool{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, mp); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	want := ptr.Deref(mp.Spec.Replicas, 1)
	return mp.Status.Phase == string(clusterv1.MachinePoolPhaseRunning) && ptr.Deref(mp.Status.ReadyReplicas, 0) == want &&
		len(mp.Status.NodeRefs) == int(want), nil
}

// ConnectKubeconfig reads the kubeconfig secret CAPT published for the Cluster and asks
// the cluster it points at for its version: the proof that it really connects.
func ConnectKubeconfig(ctx context.Context, c client.Reader, namespace, cluster string) (data []byte, version string, err error) {
	secret := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: kubeconfig.SecretName(cluster)}, secret); err != nil {
		return nil, "", fmt.Errorf("reading the kubeconfig secret: %w", err)
	}
	data = secret.Data[kubeconfig.KubeconfigKey]
	cfg, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil {
		return nil, "", fmt.Errorf("loading the kubeconfig secret: %w", err)
	}
	cfg.Timeout = 10 * time.Second
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("connecting with the kubeconfig secret: %w", err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return nil, "", fmt.Errorf("connecting with the kubeconfig secret: %w", err)
	}
	return data, v.GitVersion, nil
}
