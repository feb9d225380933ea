// Command wta measures the WorkspaceTemplateApply controller on a real kube-apiserver:
// the writes it makes for N applies while at rest, and the delay from a Workspace
// turning Ready to its apply reporting Ready. provider-terraform is played by this
// program (it sets the Workspace status), so the figures are CAPT's alone.
//
//	go run ./bench/wta -n 100 -rest 5m
//
// With -rollout, it measures instead a template change reaching the N applies through a
// simulated provider-terraform (testenv.Provider, -apply-delay per apply): once without
// a rollout policy, once with maxConcurrent set to the flag's value.
//
//	go run ./bench/wta -n 100 -rollout 10 -apply-delay 2s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/bench/internal/benchkit"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

func main() {
	n := flag.Int("n", 100, "number of WorkspaceTemplateApplies")
	rest := flag.Duration("rest", 5*time.Minute, "how long to stay at rest once all are Ready")
	rollout := flag.Int("rollout", 0, "measure a template change reaching the applies, without a rollout policy and then with this maxConcurrent, instead of the rest figures")
	applyDelay := flag.Duration("apply-delay", 2*time.Second, "with -rollout: how long the simulated provider-terraform takes per apply")
	noGenerations := flag.Bool("no-generations", false, "with -rollout: the simulated provider-terraform plays v0.21 (no observedGeneration)")
	flag.Parse()
	bench := run
	if *rollout > 0 {
		bench = func(n int, _ time.Duration) error { return runRollout(n, *rollout, *applyDelay, *noGenerations) }
	}
	if err := bench(*n, *rest); err != nil {
		fmt.Fprintln(os.Stderr, "wta bench:", err)
		os.Exit(1)
	}
}

func run(n int, atRest time.Duration) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env, err := testenv.Start()
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()

	// CAPT's manager as in production (default flags), its client counting writes.
	m, err := benchkit.StartManager(ctx, env)
	if err != nil {
		return err
	}
	writes := m.Writes

	obs := benchkit.NewTracker()
	if err := observeApplies(ctx, env, obs); err != nil {
		return err
	}

	api := workspace.DefaultAPI()
	const ns = "bench"
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	tmpl := &infrav1.WorkspaceTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vpc"},
		Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
			ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: "variable \"name\" {}\noutput \"vpc_id\" { value = \"vpc-${var.name}\" }\n"},
		}}},
	}
	if err := env.Client.Create(ctx, tmpl); err != nil {
		return err
	}
	start := time.Now()
	for i := range n {
		a := &infrav1.WorkspaceTemplateApply{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("c%04d", i)},
			Spec: infrav1.WorkspaceTemplateApplySpec{TemplateRef: infrav1.WorkspaceTemplateReference{Name: "vpc"},
				Variables: map[string]string{"name": fmt.Sprintf("c%04d", i)}},
		}
		if err := env.Client.Create(ctx, a); err != nil {
			return err
		}
	}
	// Wait for every Workspace, then play provider-terraform: Ready, one at a time.
	names := make([]string, n)
	for i := range n {
		names[i] = render.WorkspaceName(api, ns, fmt.Sprintf("c%04d", i))
	}
	if err := benchkit.WaitFor(ctx, func() (bool, error) {
		list := api.NewList()
		if err := env.Client.List(ctx, list); err != nil {
			return false, err
		}
		return len(list.Items) == n, nil
	}); err != nil {
		return fmt.Errorf("waiting for Workspaces: %w", err)
	}
	created := time.Since(start)
	creationWrites := writes.Total()
	creationDetail := writes.String()

	for i, name := range names {
		obs.Start(fmt.Sprintf("c%04d", i))
		if err := setReady(ctx, env.Client, api, name); err != nil {
			return err
		}
	}
	if err := benchkit.WaitFor(ctx, func() (bool, error) { return obs.Done() == n, nil }); err != nil {
		return fmt.Errorf("waiting for applies to report Ready: %w", err)
	}
	delays := obs.Delays()

	reconcilesBefore := testenv.ReconcileTotal("workspacetemplateapply")
	writes.Reset()
	time.Sleep(atRest)
	restWrites, restDetail := writes.Total(), writes.String()
	restReconciles := testenv.ReconcileTotal("workspacetemplateapply") - reconcilesBefore

	fmt.Printf("| figure | value |\n|---|---|\n")
	fmt.Printf("| WorkspaceTemplateApplies | %d |\n", n)
	fmt.Printf("| time until all Workspaces exist | %s |\n", created.Round(time.Millisecond))
	fmt.Printf("| CAPT writes during creation | %d (%.1f per apply: %s) |\n", creationWrites, float64(creationWrites)/float64(n), creationDetail)
	fmt.Printf("| Workspace Ready → apply Ready, p50 | %s |\n", benchkit.Percentile(delays, 50))
	fmt.Printf("| Workspace Ready → apply Ready, p99 | %s |\n", benchkit.Percentile(delays, 99))
	fmt.Printf("| Workspace Ready → apply Ready, max | %s |\n", benchkit.Percentile(delays, 100))
	fmt.Printf("| CAPT writes during %s at rest | %d %s |\n", atRest, restWrites, restDetail)
	fmt.Printf("| reconciles during %s at rest | %.0f |\n", atRest, restReconciles)
	return nil
}

// setReady sets Synced and Ready on a Workspace, as provider-terraform does after an apply.
func setReady(ctx context.Context, c client.Client, api workspace.API, name string) error {
	return benchkit.WaitFor(ctx, func() (bool, error) {
		u := api.NewObject()
		if err := c.Get(ctx, client.ObjectKey{Name: name}, u); err != nil {
			return false, nil //nolint:nilerr // retried until the deadline
		}
		now := time.Now().UTC().Format(time.RFC3339)
		conds := []any{
			map[string]any{"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": now},
			map[string]any{"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": now, "observedGeneration": u.GetGeneration()},
		}
		if err := unstructured.SetNestedSlice(u.Object, conds, "status", "conditions"); err != nil {
			return false, err
		}
		return c.Status().Update(ctx, u) == nil, nil
	})
}

// observeApplies feeds t with each apply that reports Ready and applied.
func observeApplies(ctx context.Context, env *testenv.Env, t *benchkit.Tracker) error {
	c, err := cache.New(env.Config, cache.Options{Scheme: env.Scheme})
	if err != nil {
		return err
	}
	inf, err := c.GetInformer(ctx, &infrav1.WorkspaceTemplateApply{})
	if err != nil {
		return err
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) {
			a := obj.(*infrav1.WorkspaceTemplateApply)
			for _, c := range a.Status.Conditions {
				if a.Status.Applied && c.Type == infrav1.ReadyCondition && c.Status == metav1.ConditionTrue {
					t.Seen(a.Name)
				}
			}
		},
	}); err != nil {
		return err
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return fmt.Errorf("observer cache did not sync")
	}
	return nil
}
