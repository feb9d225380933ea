package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/bench/internal/benchkit"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// runRollout measures a template change reaching n applies: first without a rollout
// policy (every Workspace at once: today's cost), then with maxConcurrent, the simulated
// provider-terraform taking delay per apply. For each: the time from the template edit
// until every apply reports its Workspace Ready with the new rendering, CAPT's writes per
// apply, and the most Workspaces changed but not yet Ready at one moment (seen by an
// informer of Workspaces). With noGenerations the simulated provider plays v0.21.
func runRollout(n, maxConcurrent int, delay time.Duration, noGenerations bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env, err := testenv.Start()
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()
	m, err := benchkit.StartManager(ctx, env)
	if err != nil {
		return err
	}
	api := workspace.DefaultAPI()
	if _, err := testenv.StartProvider(ctx, env.Config, env.Scheme, testenv.ProviderOptions{API: api, Delay: delay, NoGenerations: noGenerations}); err != nil {
		return err
	}
	peak := &changing{at: map[string]bool{}, noGenerations: noGenerations}
	if err := peak.watch(ctx, env, api); err != nil {
		return err
	}

	const ns, name = "bench", "vpc"
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	tmpl := &infrav1.WorkspaceTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
			ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: "variable \"name\" {}\nvariable \"region\" {}\noutput \"vpc_id\" { value = \"vpc-${var.name}\" }\n",
				Vars: []infrav1.Var{{Key: "region", Value: "v1"}}},
		}}},
	}
	if err := env.Client.Create(ctx, tmpl); err != nil {
		return err
	}
	for i := range n {
		a := &infrav1.WorkspaceTemplateApply{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("c%04d", i)},
			Spec: infrav1.WorkspaceTemplateApplySpec{TemplateRef: infrav1.WorkspaceTemplateReference{Name: name},
				Variables: map[string]string{"name": fmt.Sprintf("c%04d", i)}},
		}
		if err := env.Client.Create(ctx, a); err != nil {
			return err
		}
	}
	key := client.ObjectKey{Namespace: ns, Name: name}
	if err := settled(ctx, env, api, key, n, "v1", false, noGenerations); err != nil {
		return fmt.Errorf("waiting for the applies: %w", err)
	}

	type figures struct {
		took   time.Duration
		writes int
		detail string
		peak   int
	}
	step := func(region string, rollout bool) (figures, error) {
		m.Writes.Settle(2 * time.Second)
		m.Writes.Reset()
		peak.reset(region)
		start := time.Now()
		patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"forProvider":{"vars":[{"key":"region","value":%q}]}}}}}`, region)
		if err := env.Client.Patch(ctx, &infrav1.WorkspaceTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}},
			client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
			return figures{}, err
		}
		if err := settled(ctx, env, api, key, n, region, rollout, noGenerations); err != nil {
			return figures{}, fmt.Errorf("waiting for %s: %w", region, err)
		}
		took := time.Since(start)
		m.Writes.Settle(2 * time.Second)
		return figures{took: took, writes: m.Writes.Total(), detail: m.Writes.String(), peak: peak.most()}, nil
	}

	today, err := step("v2", false)
	if err != nil {
		return err
	}
	// The policy: its own generation brings every apply a pass, which records its rollout
	// status once; not part of the figures.
	policy := fmt.Sprintf(`{"spec":{"rollout":{"maxConcurrent":%d}}}`, maxConcurrent)
	if err := env.Client.Patch(ctx, &infrav1.WorkspaceTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}},
		client.RawPatch(types.MergePatchType, []byte(policy))); err != nil {
		return err
	}
	if err := settled(ctx, env, api, key, n, "v2", true, noGenerations); err != nil {
		return err
	}
	staged, err := step("v3", true)
	if err != nil {
		return err
	}

	perApply := func(f figures) string { return fmt.Sprintf("%.2f", float64(f.writes)/float64(n)) }
	fmt.Printf("| figure | without a policy (today) | maxConcurrent %d |\n|---|---|---|\n", maxConcurrent)
	fmt.Printf("| applies, simulated apply time | %d, %s | %d, %s |\n", n, delay, n, delay)
	fmt.Printf("| template edit → every apply Ready with the new rendering | %s | %s |\n", today.took.Round(100*time.Millisecond), staged.took.Round(100*time.Millisecond))
	fmt.Printf("| most Workspaces changed but not Ready at once | %d | %d |\n", today.peak, staged.peak)
	fmt.Printf("| CAPT writes | %d | %d |\n", today.writes, staged.writes)
	fmt.Printf("| CAPT writes per apply | %s | %s |\n", perApply(today), perApply(staged))
	fmt.Printf("| by verb and kind | %s | %s |\n", today.detail, staged.detail)
	return nil
}

// settled waits until every apply of the template reports its Workspace Ready with
// region, every Workspace is Ready with it, and, with a rollout, the template holds no
// slot and counts every apply updated.
func settled(ctx context.Context, env *testenv.Env, api workspace.API, key client.ObjectKey, n int, region string, rollout, noGenerations bool) error {
	return benchkit.WaitFor(ctx, func() (bool, error) {
		list := api.NewList()
		if err := env.Client.List(ctx, list); err != nil {
			return false, err
		}
		ready := 0
		for i := range list.Items {
			if regionOf(&list.Items[i]) == region && applied(&list.Items[i], noGenerations) {
				ready++
			}
		}
		if ready != n {
			return false, nil
		}
		applies := &infrav1.WorkspaceTemplateApplyList{}
		if err := env.Client.List(ctx, applies, client.InNamespace(key.Namespace)); err != nil {
			return false, err
		}
		for i := range applies.Items {
			a := &applies.Items[i]
			c := conditions.Get(a, infrav1.ReadyCondition)
			if c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != a.Generation || (rollout && a.Status.Rollout == nil) {
				return false, nil
			}
		}
		if !rollout {
			return true, nil
		}
		tmpl := &infrav1.WorkspaceTemplate{}
		if err := env.Client.Get(ctx, key, tmpl); err != nil {
			return false, err
		}
		r := tmpl.Status.Rollout
		return r != nil && len(r.Slots) == 0 && int(r.Updated) == n, nil
	})
}

// applied says the Workspace's provider applied its current spec: Ready for it, or,
// playing v0.21 (which says nothing of generations), the generation its last apply
// recorded in the output applied_generation.
func applied(u *unstructured.Unstructured, noGenerations bool) bool {
	if noGenerations {
		g, _, _ := unstructured.NestedFieldNoCopy(u.Object, "status", "atProvider", "outputs", "applied_generation")
		n, ok := g.(int64)
		if f, isFloat := g.(float64); isFloat {
			n, ok = int64(f), true
		}
		return ok && n >= u.GetGeneration()
	}
	w, err := workspace.FromUnstructured(u)
	return err == nil && w.IsReady()
}

// regionOf is the region variable a Workspace passes.
func regionOf(u *unstructured.Unstructured) string {
	w, err := workspace.FromUnstructured(u)
	if err != nil {
		return ""
	}
	region, _ := w.Variable("region")
	return region
}

// changing follows the Workspaces that have the new region but are not Ready with it.
type changing struct {
	noGenerations bool
	mu            sync.Mutex
	region        string
	at            map[string]bool
	peak          int
}

func (c *changing) reset(region string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.region, c.at, c.peak = region, map[string]bool{}, 0
}

func (c *changing) most() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peak
}

func (c *changing) watch(ctx context.Context, env *testenv.Env, api workspace.API) error {
	ch, err := cache.New(env.Config, cache.Options{Scheme: env.Scheme})
	if err != nil {
		return err
	}
	inf, err := ch.GetInformer(ctx, api.NewObject())
	if err != nil {
		return err
	}
	on := func(obj any) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.at[u.GetName()] = c.region != "" && regionOf(u) == c.region && !applied(u, c.noGenerations)
		n := 0
		for _, on := range c.at {
			if on {
				n++
			}
		}
		c.peak = max(c.peak, n)
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: on, UpdateFunc: func(_, obj any) { on(obj) }}); err != nil {
		return err
	}
	go func() { _ = ch.Start(ctx) }()
	if !ch.WaitForCacheSync(ctx) {
		return fmt.Errorf("the Workspace cache did not sync")
	}
	return nil
}
