// Command controlplane measures the CAPTControlPlane controller on a real kube-apiserver
// with CAPT's manager as production runs it: the delay from a control plane Workspace
// turning Ready with outputs to Cluster.spec.controlPlaneEndpoint being set, and what N
// Ready clusters cost at rest (writes, reconciles, info-level log lines). This program
// plays provider-terraform and Cluster API core (it creates Clusters with the owner
// references core sets), so the figures are CAPT's alone.
//
//	go run ./bench/controlplane -n 50 -rest 5m
package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	toolscache "k8s.io/client-go/tools/cache"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/bench/internal/benchkit"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

func main() {
	n := flag.Int("n", 50, "number of clusters")
	rest := flag.Duration("rest", 5*time.Minute, "how long to stay at rest once all are Ready")
	syncPeriod := flag.Duration("sync-period", 10*time.Minute, "the manager's --sync-period (its resync reconciles every object)")
	flag.Parse()
	if err := run(*n, *rest, "--sync-period="+syncPeriod.String()); err != nil {
		fmt.Fprintln(os.Stderr, "controlplane bench:", err)
		os.Exit(1)
	}
}

const ns = "bench"

func run(n int, atRest time.Duration, managerArgs ...string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env, err := testenv.Start()
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()
	m, err := benchkit.StartManager(ctx, env, managerArgs...)
	if err != nil {
		return err
	}
	obs := benchkit.NewTracker()
	if err := observeEndpoints(ctx, env, obs); err != nil {
		return err
	}
	c := env.Client
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	if err := c.Create(ctx, &infrav1.WorkspaceTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "eks"},
		Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
			ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: `variable "cluster_name" {}`}}}},
	}); err != nil {
		return err
	}

	start := time.Now()
	cps := make([]*controlplanev1.CAPTControlPlane, n)
	for i := range n {
		name := fmt.Sprintf("c%03d", i)
		cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: clusterv1.ClusterSpec{ControlPlaneRef: clusterv1.ContractVersionedObjectReference{
				APIGroup: controlplanev1.GroupVersion.Group, Kind: "CAPTControlPlane", Name: name}}}
		if err := c.Create(ctx, cluster); err != nil {
			return err
		}
		cps[i] = &controlplanev1.CAPTControlPlane{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{clusterv1.ClusterNameLabel: name},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster", Name: name, UID: cluster.UID}}},
			Spec: controlplanev1.CAPTControlPlaneSpec{Version: "v1.31.2", WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "eks"}},
		}
		if err := c.Create(ctx, cps[i]); err != nil {
			return err
		}
	}
	api := workspace.DefaultAPI()
	if err := benchkit.WaitFor(ctx, func() (bool, error) {
		list := api.NewList()
		if err := c.List(ctx, list); err != nil {
			return false, err
		}
		return len(list.Items) == n, nil
	}); err != nil {
		return fmt.Errorf("waiting for Workspaces: %w", err)
	}
	created := time.Since(start)

	caPEM, err := testenv.NewCACertificatePEM()
	if err != nil {
		return err
	}
	ca := base64.StdEncoding.EncodeToString(caPEM)
	for _, cp := range cps {
		obs.Start(cp.Name)
		if err := provide(ctx, c, api, cp, ca); err != nil {
			return err
		}
	}
	if err := benchkit.WaitFor(ctx, func() (bool, error) { return obs.Done() == n, nil }); err != nil {
		return fmt.Errorf("waiting for Cluster endpoints: %w", err)
	}
	delays := obs.Delays()
	if err := benchkit.WaitFor(ctx, func() (bool, error) { return initialized(ctx, c) == n, nil }); err != nil {
		return fmt.Errorf("waiting for initialized control planes: %w", err)
	}
	toReady := time.Since(start)
	creationWrites := m.Writes.Total()
	creationDetail := m.Writes.String()

	m.Writes.Settle(2 * time.Second)
	controllers := []string{"captcontrolplane", "workspacetemplateapply", "workspacetemplate"}
	reconciles := func() float64 {
		total := 0.0
		for _, ctl := range controllers {
			total += testenv.ReconcileTotal(ctl)
		}
		return total
	}
	before, linesBefore := reconciles(), m.InfoLines.Load()
	m.Writes.Reset()
	time.Sleep(atRest)
	restWrites, restDetail := m.Writes.Total(), m.Writes.String()
	restReconciles := reconciles() - before
	restLines := m.InfoLines.Load() - linesBefore
	perHour := float64(time.Hour) / float64(atRest) / float64(n)

	fmt.Printf("| figure | value |\n|---|---|\n")
	fmt.Printf("| clusters | %d |\n", n)
	fmt.Printf("| time until all %d Workspaces exist | %s |\n", n, created.Round(time.Millisecond))
	fmt.Printf("| time until all control planes are initialized | %s |\n", toReady.Round(time.Millisecond))
	fmt.Printf("| Workspace Ready with outputs → Cluster endpoint set, p50 | %s |\n", benchkit.Percentile(delays, 50))
	fmt.Printf("| Workspace Ready with outputs → Cluster endpoint set, p99 | %s |\n", benchkit.Percentile(delays, 99))
	fmt.Printf("| CAPT writes until all initialized | %d (%.1f per cluster: %s) |\n", creationWrites, float64(creationWrites)/float64(n), creationDetail)
	fmt.Printf("| CAPT writes per Ready cluster in %s at rest | %.2f (total %d %s) |\n", atRest, float64(restWrites)/float64(n), restWrites, restDetail)
	fmt.Printf("| reconciles per Ready cluster per hour at rest | %.1f (%.0f in %s, all controllers) |\n", restReconciles*perHour, restReconciles, atRest)
	fmt.Printf("| info-level log lines per Ready cluster per hour at rest | %.1f (%d in %s) |\n", float64(restLines)*perHour, restLines, atRest)
	return nil
}

// provide plays provider-terraform: the connection secret with the CA (sensitive), then
// the endpoint output and Ready.
func provide(ctx context.Context, c client.Client, api workspace.API, cp *controlplanev1.CAPTControlPlane, ca string) error {
	wsName := render.WorkspaceName(api, ns, render.ChildName(cp.Name, "controlplane"))
	u := api.NewObject()
	if err := c.Get(ctx, client.ObjectKey{Name: wsName}, u); err != nil {
		return err
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: render.ChildName(cp.Name, "controlplane-outputs"),
		OwnerReferences: []metav1.OwnerReference{{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Name: u.GetName(), UID: u.GetUID()}}},
		Data: map[string][]byte{"cluster_certificate_authority_data": []byte(ca)}}
	if err := c.Create(ctx, secret); err != nil {
		return err
	}
	now := time.Now().UTC().Format(time.RFC3339)
	_ = unstructured.SetNestedSlice(u.Object, []any{
		map[string]any{"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": now},
		map[string]any{"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": now, "observedGeneration": u.GetGeneration()},
	}, "status", "conditions")
	_ = unstructured.SetNestedMap(u.Object, map[string]any{"cluster_endpoint": "https://" + cp.Name + ".eks.example.com"}, "status", "atProvider", "outputs")
	return c.Status().Update(ctx, u)
}

func initialized(ctx context.Context, c client.Client) int {
	list := &controlplanev1.CAPTControlPlaneList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return 0
	}
	n := 0
	for _, cp := range list.Items {
		if cp.Status.Initialized {
			n++
		}
	}
	return n
}

// observeEndpoints feeds t with each Cluster whose endpoint is set.
func observeEndpoints(ctx context.Context, env *testenv.Env, t *benchkit.Tracker) error {
	ch, err := cache.New(env.Config, cache.Options{Scheme: env.Scheme})
	if err != nil {
		return err
	}
	inf, err := ch.GetInformer(ctx, &clusterv1.Cluster{})
	if err != nil {
		return err
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{UpdateFunc: func(_, obj any) {
		if cl := obj.(*clusterv1.Cluster); !cl.Spec.ControlPlaneEndpoint.IsZero() {
			t.Seen(cl.Name)
		}
	}}); err != nil {
		return err
	}
	go func() { _ = ch.Start(ctx) }()
	if !ch.WaitForCacheSync(ctx) {
		return fmt.Errorf("observer cache did not sync")
	}
	return nil
}
