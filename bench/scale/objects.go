package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/bench/internal/benchkit"
	"github.com/capt-dev/capt/internal/workspace"
)

const ns = "bench"

// createTemplates creates the namespace and the two WorkspaceTemplates every cluster uses.
func createTemplates(ctx context.Context, c client.Client) error {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	for _, name := range []string{"vpc", "eks"} {
		t := &infrav1.WorkspaceTemplate{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
				ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: benchkit.Module}}}},
		}
		if err := c.Create(ctx, t); err != nil {
			return fmt.Errorf("creating WorkspaceTemplate %s: %w", name, err)
		}
	}
	return nil
}

// createClusters creates n Clusters, each with a CAPTCluster and a CAPTControlPlane owned
// by it as Cluster API's core would.
func createClusters(ctx context.Context, c client.Client, n int) error {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("c%04d", i)
	}
	return parallel(names, func(name string) error { return createCluster(ctx, c, name) })
}

// parallel runs do for every name from 8 goroutines and returns the first error; a
// goroutine stops at its first error, the others finish their names.
func parallel(names []string, do func(string) error) error {
	queue := make(chan string, len(names))
	for _, n := range names {
		queue <- n
	}
	close(queue)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range queue {
				if err := do(name); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func createCluster(ctx context.Context, c client.Client, name string) error {
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clusterv1.ClusterSpec{
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "CAPTCluster", Name: name},
			ControlPlaneRef:   clusterv1.ContractVersionedObjectReference{APIGroup: controlplanev1.GroupVersion.Group, Kind: "CAPTControlPlane", Name: name},
		}}
	if err := c.Create(ctx, cluster); err != nil {
		return fmt.Errorf("creating Cluster %s: %w", name, err)
	}
	meta := metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{clusterv1.ClusterNameLabel: name},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster", Name: name, UID: cluster.UID}}}
	cc := &infrav1.CAPTCluster{ObjectMeta: meta, Spec: infrav1.CAPTClusterSpec{Region: "zz-local-1",
		VPCTemplateRef: &infrav1.WorkspaceTemplateReference{Name: "vpc"}}}
	if err := c.Create(ctx, cc); err != nil {
		return fmt.Errorf("creating CAPTCluster %s: %w", name, err)
	}
	cp := &controlplanev1.CAPTControlPlane{ObjectMeta: *meta.DeepCopy(),
		Spec: controlplanev1.CAPTControlPlaneSpec{Version: "v1.31.2", WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "eks"}}}
	if err := c.Create(ctx, cp); err != nil {
		return fmt.Errorf("creating CAPTControlPlane %s: %w", name, err)
	}
	return nil
}

func countInitialized(ctx context.Context, c client.Client) (int, error) {
	list := &controlplanev1.CAPTControlPlaneList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return 0, err
	}
	n := 0
	for _, cp := range list.Items {
		if cp.Status.Initialized {
			n++
		}
	}
	return n, nil
}

// deleteClusters deletes as Cluster API does: the control planes and CAPTClusters (the
// CAPTCluster's own deletion waits for its control plane), and the Clusters once those
// are gone (core's finalizer holds a Cluster until then).
func deleteClusters(ctx context.Context, c client.Client) error {
	if err := deleteEach(ctx, c, func(name string) []client.Object {
		return []client.Object{
			&controlplanev1.CAPTControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}},
			&infrav1.CAPTCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}},
		}
	}); err != nil {
		return err
	}
	if err := waitFor(ctx, 30*time.Minute, func() (bool, error) {
		cps, ccs := &controlplanev1.CAPTControlPlaneList{}, &infrav1.CAPTClusterList{}
		if err := c.List(ctx, cps, client.InNamespace(ns)); err != nil {
			return false, err
		}
		if err := c.List(ctx, ccs, client.InNamespace(ns)); err != nil {
			return false, err
		}
		return len(cps.Items)+len(ccs.Items) == 0, nil
	}); err != nil {
		return fmt.Errorf("waiting for CAPT objects to be deleted: %w", err)
	}
	return deleteEach(ctx, c, func(name string) []client.Object {
		return []client.Object{&clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}}
	})
}

// deleteEach deletes the objects of every Cluster one by one: a deletecollection of 1,000
// objects outlasts the API server's request timeout.
func deleteEach(ctx context.Context, c client.Client, objects func(cluster string) []client.Object) error {
	clusters := &clusterv1.ClusterList{}
	if err := c.List(ctx, clusters, client.InNamespace(ns)); err != nil {
		return err
	}
	names := make([]string, 0, len(clusters.Items))
	for _, cl := range clusters.Items {
		names = append(names, cl.Name)
	}
	return parallel(names, func(name string) error {
		for _, obj := range objects(name) {
			if err := c.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting %T %s: %w", obj, name, err)
			}
		}
		return nil
	})
}

// countLeft counts what deletion must remove: Clusters, CAPT objects, applies,
// Workspaces and the secrets CAPT wrote.
func countLeft(ctx context.Context, c client.Client) (int, error) {
	left := 0
	for _, l := range []client.ObjectList{
		&clusterv1.ClusterList{}, &infrav1.CAPTClusterList{}, &controlplanev1.CAPTControlPlaneList{},
		&infrav1.WorkspaceTemplateApplyList{},
	} {
		if err := c.List(ctx, l, client.InNamespace(ns)); err != nil {
			return 0, err
		}
		left += meta.LenList(l)
	}
	workspaces := workspace.DefaultAPI().NewList() // cluster-scoped
	if err := c.List(ctx, workspaces); err != nil {
		return 0, err
	}
	secrets := &corev1.SecretList{}
	if err := c.List(ctx, secrets, client.InNamespace(ns), client.HasLabels{clusterv1.ClusterNameLabel}); err != nil {
		return 0, err
	}
	return left + len(workspaces.Items) + len(secrets.Items), nil
}
