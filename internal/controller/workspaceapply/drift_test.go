package workspaceapply

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/workspacetemplate"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestDriftReverted plays provider-terraform's update events (the simulated provider
// records them through client-go's recorder, as crossplane-runtime does) for both
// scopes of Workspace: a change from CAPT and the update that applies it is not drift;
// an update with the spec unchanged is, counted once at the Event's time, with one
// Warning; a restarted manager counts nothing twice and writes nothing; an
// acknowledgement turns DriftReverted false until the next revert.
func TestDriftReverted(t *testing.T) {
	ctx := context.Background()
	if err := env.InstallNamespacedWorkspaceCRD(ctx, workspace.GroupTerraformNamespaced); err != nil {
		t.Fatal(err)
	}
	for _, group := range []string{workspace.GroupTerraform, workspace.GroupTerraformNamespaced} {
		t.Run(group, func(t *testing.T) {
			api, err := workspace.NewAPI(group)
			if err != nil {
				t.Fatal(err)
			}
			testDriftReverted(t, api)
		})
	}
}

func testDriftReverted(t *testing.T, api workspace.API) {
	ctx := context.Background()
	provider := startEventingProvider(t, api)
	_, stop, err := env.RunManager(driftControllers(api))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	ns := newNamespace(t)
	create(t, newTemplate(ns, "vpc"), newApply(ns, "drift", "vpc", map[string]string{"region": "ap-northeast-1"}))
	ws := waitWorkspace(t, api, ns, "drift")
	key := client.ObjectKey{Namespace: ws.Namespace, Name: ws.Name}

	// Created and Ready (CreatedExternalResource): the accounting starts, nothing counted.
	a := waitDrift(t, ns, "drift", "the accounting starts at the first Ready", func(d *infrav1.WorkspaceDrift) error {
		if d == nil || d.Accounted == nil || d.Accounted.WorkspaceUID != ws.UID {
			return fmt.Errorf("not started")
		}
		return nil
	})
	if d := a.Status.Drift; d.Count != 0 || len(d.Accounted.Events) != 0 {
		t.Errorf("drift after creation = %+v, want nothing", d)
	}

	// A change from CAPT, and the provider's update that applies it: not drift.
	testenv.Eventually(t, "change a variable", func() error {
		cur := getApply(t, ns, "drift")
		cur.Spec.Variables["region"] = "eu-west-1"
		return env.Client.Update(ctx, cur)
	})
	a = waitDrift(t, ns, "drift", "the change's update accounted", func(d *infrav1.WorkspaceDrift) error {
		if len(d.Accounted.Events) != 1 || d.Accounted.Events[0].Count != 1 {
			return fmt.Errorf("accounted %+v", d.Accounted.Events)
		}
		return nil
	})
	if a.Status.Drift.Count != 0 || hasCondition(a, infrav1.DriftRevertedCondition) {
		t.Errorf("a change from CAPT was taken for drift: %+v", a.Status.Drift)
	}

	// The spec unchanged, the provider applies again: drift, counted once.
	if err := provider.RevertDrift(ctx, key); err != nil {
		t.Fatal(err)
	}
	a = waitCondition(t, ns, "drift", infrav1.DriftRevertedCondition, metav1.ConditionTrue, infrav1.DriftRevertedReason)
	if d := a.Status.Drift; d.Count != 1 || d.LastRevertedTime == nil {
		t.Errorf("drift = %+v, want count 1", d)
	}
	if msg := condition(a, infrav1.DriftRevertedCondition).Message; strings.Contains(msg, "eu-west-1") || !strings.Contains(msg, ws.Name) {
		t.Errorf("DriftReverted message = %q, want the Workspace named and no variable value", msg)
	}
	if c := condition(a, infrav1.ReadyCondition); c.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %+v: a repaired drift leaves the apply Ready", c)
	}
	waitWarnings(t, ns, 1)

	// A revert while the manager is down: the restarted manager counts it, and only it,
	// at the time the provider recorded it (a later second than the count's pass).
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := provider.RevertDrift(ctx, key); err != nil {
		t.Fatal(err)
	}
	var updated corev1.Event
	testenv.Eventually(t, "the revert recorded", func() error {
		if updated = providerUpdateEvent(t, api, ws); updated.Count != 3 {
			return fmt.Errorf("count %d", updated.Count)
		}
		return nil
	})
	testenv.Eventually(t, "a second later than the revert", func() error {
		if !time.Now().Truncate(time.Second).After(updated.LastTimestamp.Time) {
			return fmt.Errorf("still %v", updated.LastTimestamp)
		}
		return nil
	})
	if _, stop, err = env.RunManager(driftControllers(api)); err != nil {
		t.Fatal(err)
	}
	a = waitDrift(t, ns, "drift", "the revert counted", func(d *infrav1.WorkspaceDrift) error {
		if d.Count < 2 {
			return fmt.Errorf("count %d", d.Count)
		}
		return nil
	})
	if d := a.Status.Drift; d.Count != 2 || !d.LastRevertedTime.Equal(&updated.LastTimestamp) {
		t.Errorf("drift = %+v, want count 2 at %v (the provider's update event)", d, updated.LastTimestamp)
	}
	waitWarnings(t, ns, 2)

	// A restart with nothing new counts nothing and writes nothing.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	before := testenv.ReconcileTotal(controllerName)
	writes, stop, err := env.RunManager(driftControllers(api))
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the restarted manager reconciles", func() error {
		if testenv.ReconcileTotal(controllerName) <= before {
			return fmt.Errorf("no reconcile yet")
		}
		return nil
	})
	writes.Settle(time.Second)
	if got := writes.In(ns); len(got) != 0 {
		t.Errorf("the restarted manager wrote %v", got)
	}
	if d := getApply(t, ns, "drift").Status.Drift; d.Count != 2 {
		t.Errorf("after a restart drift = %+v, want count 2", d)
	}
	waitWarnings(t, ns, 2)

	// Acknowledged: false until the next revert, which counts once more.
	testenv.Eventually(t, "acknowledge", func() error {
		cur := getApply(t, ns, "drift")
		cur.Annotations[infrav1.DriftAcknowledgedAnnotation] = "2"
		return env.Client.Update(ctx, cur)
	})
	waitCondition(t, ns, "drift", infrav1.DriftRevertedCondition, metav1.ConditionFalse, infrav1.DriftAcknowledgedReason)
	if err := provider.RevertDrift(ctx, key); err != nil {
		t.Fatal(err)
	}
	a = waitCondition(t, ns, "drift", infrav1.DriftRevertedCondition, metav1.ConditionTrue, infrav1.DriftRevertedReason)
	if a.Status.Drift.Count != 3 {
		t.Errorf("drift = %+v, want count 3", a.Status.Drift)
	}
	waitWarnings(t, ns, 3)

	// At rest: nothing written.
	writes.Settle(time.Second)
	writes.Reset()
	testenv.Eventually(t, "touch the apply", func() error {
		cur := getApply(t, ns, "drift")
		cur.Annotations["touch"] = "1"
		return env.Client.Update(ctx, cur)
	})
	writes.Settle(time.Second)
	if got := writes.In(ns); len(got) != 0 {
		t.Errorf("a pass with nothing new wrote %v", got)
	}
}

// TestDriftReadsTheLiveGeneration replays a pass whose cache has not seen CAPT's last
// change of the Workspace while the provider's update applying it is already in: the
// change explains the update, so the pass reads the generation from the API server
// before it counts drift.
func TestDriftReadsTheLiveGeneration(t *testing.T) {
	ctx := context.Background()
	api := workspace.DefaultAPI()
	startEventingProvider(t, api)
	startControllers(t, api)
	ns := newNamespace(t)
	create(t, newTemplate(ns, "vpc"), newApply(ns, "stale", "vpc", map[string]string{"region": "ap-northeast-1"}))
	waitWorkspace(t, api, ns, "stale")
	waitDrift(t, ns, "stale", "the accounting starts", func(d *infrav1.WorkspaceDrift) error {
		if d == nil || d.Accounted == nil {
			return fmt.Errorf("not started")
		}
		return nil
	})
	// The first update makes the provider's Event, accounted at once.
	testenv.Eventually(t, "change a variable", func() error {
		cur := getApply(t, ns, "stale")
		cur.Spec.Variables["region"] = "eu-west-1"
		return env.Client.Update(ctx, cur)
	})
	waitDrift(t, ns, "stale", "the first update accounted", func(d *infrav1.WorkspaceDrift) error {
		if len(d.Accounted.Events) != 1 {
			return fmt.Errorf("accounted %+v", d.Accounted.Events)
		}
		return nil
	})
	stale := getWorkspace(t, api, ns, render.WorkspaceName(api, ns, "stale"))
	// A second change, and its update: the Event's count goes up.
	testenv.Eventually(t, "change it again", func() error {
		cur := getApply(t, ns, "stale")
		cur.Spec.Variables["region"] = "us-east-1"
		return env.Client.Update(ctx, cur)
	})
	testenv.Eventually(t, "the second update recorded", func() error {
		if e := providerUpdateEvent(t, api, stale); e.Count != 2 {
			return fmt.Errorf("count %d", e.Count)
		}
		return nil
	})

	r := &Reconciler{Client: env.Client, APIReader: env.Client, API: api, events: env.Client}
	obs, err := r.observeDrift(ctx, getApply(t, ns, "stale"), stale)
	if err != nil {
		t.Fatal(err)
	}
	if obs == nil || obs.reverted != 0 {
		t.Errorf("a pass on a Workspace cache one change behind counted %+v", obs)
	}
}

// driftControllers sets up the WorkspaceTemplate and WorkspaceTemplateApply controllers,
// the latter with an event recorder.
func driftControllers(api workspace.API) testenv.SetupFunc {
	return func(ctx context.Context, mgr ctrl.Manager, c client.Client) error {
		if err := (&workspacetemplate.Reconciler{Client: c, APIReader: mgr.GetAPIReader(), API: api}).SetupWithManager(mgr, controller.Options{}); err != nil {
			return err
		}
		return (&Reconciler{Client: c, APIReader: mgr.GetAPIReader(), API: api, Recorder: mgr.GetEventRecorder("workspacetemplateapply-controller")}).
			SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: 4})
	}
}

// startEventingProvider plays provider-terraform for the test, with its events.
func startEventingProvider(t *testing.T, api workspace.API) *testenv.Provider {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, err := testenv.StartProvider(ctx, env.Config, env.Scheme, testenv.ProviderOptions{API: api, Delay: 50 * time.Millisecond, Events: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitDrift waits until the apply's status.drift passes check.
func waitDrift(t *testing.T, ns, name, what string, check func(*infrav1.WorkspaceDrift) error) *infrav1.WorkspaceTemplateApply {
	t.Helper()
	var a *infrav1.WorkspaceTemplateApply
	testenv.Eventually(t, what, func() error {
		a = getApply(t, ns, name)
		if a.Status.Drift == nil {
			return check(nil)
		}
		return check(a.Status.Drift)
	})
	return a
}

// hasCondition reports whether the apply has a condition of the type.
func hasCondition(a *infrav1.WorkspaceTemplateApply, conditionType string) bool {
	return condition(a, conditionType).Type != ""
}

// providerUpdateEvent is the provider's one update Event on the Workspace.
func providerUpdateEvent(t *testing.T, api workspace.API, ws *workspace.Workspace) corev1.Event {
	t.Helper()
	list := &corev1.EventList{}
	if err := env.Client.List(context.Background(), list, client.MatchingFields{"involvedObject.uid": string(ws.UID), "reason": workspace.EventReasonUpdated}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || !api.IsUpdateEvent(&list.Items[0]) {
		t.Fatalf("the provider's update events on %s: %+v, want one", ws.Name, list.Items)
	}
	return list.Items[0]
}

// waitWarnings waits until the apply "drift" has n DriftReverted Warning events, and checks
// that it has no more once the recorder has had the time to send them.
func waitWarnings(t *testing.T, ns string, n int) {
	t.Helper()
	count := func() (int, error) {
		list := &corev1.EventList{}
		if err := env.Client.List(context.Background(), list, client.InNamespace(ns),
			client.MatchingFields{"involvedObject.name": "drift", "reason": infrav1.DriftRevertedReason}); err != nil {
			return 0, err
		}
		total := 0
		for _, e := range list.Items {
			if e.Type != corev1.EventTypeWarning {
				return 0, fmt.Errorf("event %s is %s", e.Name, e.Type)
			}
			total += max(1, int(e.Count))
			if e.Series != nil {
				total += int(e.Series.Count) - 1
			}
		}
		return total, nil
	}
	testenv.Eventually(t, fmt.Sprintf("%d DriftReverted events", n), func() error {
		if got, err := count(); err != nil || got < n {
			return fmt.Errorf("%d events (%w)", got, err)
		}
		return nil
	})
	time.Sleep(500 * time.Millisecond)
	if got, _ := count(); got != n {
		t.Errorf("%d DriftReverted events, want %d", got, n)
	}
}
