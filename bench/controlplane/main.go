// Command controlplane measures the CAPTControlPlane controller on a real kube-apiserver
// with CAPT's manager as production runs it: the delay from a control plane Workspace
// turning Ready with outputs to Cluster.spec.controlPlaneEndpoint being set, and what N
// Ready clusters cost at rest (writes, reconciles, info-level log lines). This program
// plays provider-terraform and Cluster API core (it creates Clusters with the owner
// references core sets), so the figures are CAPT's alone.
//
//	go run ./bench/controlplane -n 50 -rest 5m
//
// With -eks-refresh the Workspaces output no kubeconfig but an EKS endpoint, the CA and
// cluster_name, as templates/aws/eks does: CAPT mints each cluster's token with static
// credentials (the manager's default chain, from the environment) and replaces it every
// -eks-refresh instead of the default 10 minutes. The rest window then measures what the
// refreshes cost: writes by kind and per second, refreshes per cluster per interval, every
// request the manager sends (reads included), its CPU time, and from a CPU profile of the
// window the share spent in ekstoken.Mint (eks.go).
//
//	go run ./bench/controlplane -n 1000 -eks-refresh 2m -rest 6m -sync-period 1h
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
	"k8s.io/apimachinery/pkg/util/wait"
	toolscache "k8s.io/client-go/tools/cache"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/bench/internal/benchkit"
	"github.com/capt-dev/capt/internal/kubeconfig"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

func main() {
	n := flag.Int("n", 50, "number of clusters")
	rest := flag.Duration("rest", 5*time.Minute, "how long to stay at rest once all are Ready")
	syncPeriod := flag.Duration("sync-period", 10*time.Minute, "the manager's --sync-period (its resync reconciles every object)")
	eksRefresh := flag.Duration("eks-refresh", 0, "EKS mode: no kubeconfig output, CAPT mints tokens and refreshes them this often (the manager's --eks-token-refresh-interval; default 10m in production)")
	settle := flag.Duration("settle", 30*time.Second, "EKS mode: how long to wait once all are Ready before the rest window")
	cpuProfile := flag.String("cpuprofile", "", "EKS mode: where to write the CPU profile of the rest window (default: a temporary file)")
	flag.Parse()
	cfg := config{n: *n, rest: *rest, eks: *eksRefresh, settle: *settle, cpuProfile: *cpuProfile,
		managerArgs: []string{"--sync-period=" + syncPeriod.String()}}
	if cfg.eks > 0 {
		if err := useStaticAWSCredentials(); err != nil {
			fmt.Fprintln(os.Stderr, "controlplane bench:", err)
			os.Exit(1)
		}
		cfg.managerArgs = append(cfg.managerArgs, "--eks-token-refresh-interval="+cfg.eks.String())
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "controlplane bench:", err)
		os.Exit(1)
	}
}

const ns = "bench"

type config struct {
	n                 int
	rest, eks, settle time.Duration
	cpuProfile        string
	managerArgs       []string
}

// waitFor polls cond until it holds: every 20 ms for a few clusters, every second for
// many (listing 1,000 objects 50 times a second would be most of the API server's work).
func waitFor(ctx context.Context, n int, cond func() (bool, error)) error {
	poll := 20 * time.Millisecond
	if n > 100 {
		poll = time.Second
	}
	return wait.PollUntilContextTimeout(ctx, poll, 30*time.Minute, true, func(context.Context) (bool, error) { return cond() })
}

func run(cfg config) error {
	n, atRest := cfg.n, cfg.rest
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env, err := testenv.Start()
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()
	// Every request of the manager, reads included, with its time.
	requests := &benchkit.Requests{}
	m, err := benchkit.StartManagerOn(ctx, requests.Wrap(env.Config), cfg.managerArgs...)
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
			ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: benchkit.Module}}}},
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
	if err := waitFor(ctx, n, func() (bool, error) {
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
		if err := provide(ctx, c, api, cp, ca, cfg.eks > 0); err != nil {
			return err
		}
	}
	if err := waitFor(ctx, n, func() (bool, error) { return obs.Done() == n, nil }); err != nil {
		return fmt.Errorf("waiting for Cluster endpoints: %w", err)
	}
	delays := obs.Delays()
	if err := waitFor(ctx, n, func() (bool, error) { return initialized(ctx, c) == n, nil }); err != nil {
		return fmt.Errorf("waiting for initialized control planes: %w", err)
	}
	toReady := time.Since(start)
	creationWrites := m.Writes.Total()
	creationDetail := m.Writes.String()
	fmt.Fprintf(os.Stderr, "%s all %d control planes initialized after %s\n", time.Now().Format("15:04:05"), n, toReady.Round(time.Millisecond))

	if cfg.eks > 0 {
		// Every token minted, then the creation storm's queue drained: refreshes never
		// let the writes settle.
		if err := waitFor(ctx, n, func() (bool, error) { return tokensReady(ctx, c) == n, nil }); err != nil {
			return fmt.Errorf("waiting for TokenReady on every control plane: %w", err)
		}
		time.Sleep(cfg.settle)
	} else {
		m.Writes.Settle(2 * time.Second)
	}
	controllers := []string{"captcontrolplane", "workspacetemplateapply", "workspacetemplate"}
	reconciles := func() float64 {
		total := 0.0
		for _, ctl := range controllers {
			total += testenv.ReconcileTotal(ctl)
		}
		return total
	}
	var w *eksWindow
	if cfg.eks > 0 {
		if w, err = startEKSWindow(ctx, c, cfg); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s rest window of %s begins\n", time.Now().Format("15:04:05"), atRest)
	}
	before, linesBefore := reconciles(), m.InfoLines.Load()
	m.Writes.Reset()
	time.Sleep(atRest)
	restWrites, restDetail := m.Writes.Total(), m.Writes.String()
	restReconciles := reconciles() - before
	if w != nil {
		w.stop(requests, restDetail)
	}
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
	if w != nil {
		fmt.Println()
		w.report(os.Stdout)
	}
	return nil
}

// provide plays provider-terraform: the connection secret with the CA and a kubeconfig
// (sensitive; CAPT publishes it as is), then the endpoint output and Ready. In EKS mode
// there is no kubeconfig output, the endpoint is an EKS one (its region is the tokens'
// STS region) and cluster_name is output too: CAPT builds the kubeconfig with a token.
func provide(ctx context.Context, c client.Client, api workspace.API, cp *controlplanev1.CAPTControlPlane, ca string, eks bool) error {
	wsName := render.WorkspaceName(api, ns, render.ChildName(cp.Name, "controlplane"))
	u := api.NewObject()
	if err := c.Get(ctx, client.ObjectKey{Name: wsName}, u); err != nil {
		return err
	}
	data := map[string][]byte{"cluster_certificate_authority_data": []byte(ca)}
	if !eks {
		caPEM, err := base64.StdEncoding.DecodeString(ca)
		if err != nil {
			return err
		}
		if data["kubeconfig"], err = kubeconfig.Build(cp.Name, "https://"+cp.Name+".eks.example.com", caPEM, kubeconfig.User{Token: "not-a-real-token"}); err != nil {
			return err
		}
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: render.ChildName(cp.Name, "controlplane-outputs"),
		OwnerReferences: []metav1.OwnerReference{{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Name: u.GetName(), UID: u.GetUID()}}},
		Data: data}
	if err := c.Create(ctx, secret); err != nil {
		return err
	}
	now := time.Now().UTC().Format(time.RFC3339)
	_ = unstructured.SetNestedSlice(u.Object, []any{
		map[string]any{"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": now},
		map[string]any{"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": now, "observedGeneration": u.GetGeneration()},
	}, "status", "conditions")
	outputs := map[string]any{"cluster_endpoint": "https://" + cp.Name + ".eks.example.com"}
	if eks {
		outputs = map[string]any{"cluster_endpoint": "https://" + eksEndpointID(cp.Name) + ".gr7." + eksRegion + ".eks.amazonaws.com",
			"cluster_name": "bench-" + cp.Name}
	}
	_ = unstructured.SetNestedMap(u.Object, outputs, "status", "atProvider", "outputs")
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
