package lifecycle

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
)

var owned = []string{infrav1.ReadyCondition, infrav1.PausedCondition}

func newApply(t *testing.T, name string) *infrav1.WorkspaceTemplateApply {
	t.Helper()
	a := &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: infrav1.WorkspaceTemplateApplySpec{TemplateRef: infrav1.WorkspaceTemplateReference{Name: "t"}}}
	if err := env.Client.Create(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

func counting(t *testing.T) (*testenv.WriteCounter, client.Client) {
	t.Helper()
	c, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return testenv.NewWriteCounter(c)
}

func get(t *testing.T, obj *infrav1.WorkspaceTemplateApply) *infrav1.WorkspaceTemplateApply {
	t.Helper()
	got := &infrav1.WorkspaceTemplateApply{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestOneStatusWrite: conditions, other status fields and observedGeneration go in one
// request; a pass that changes nothing sends none.
func TestOneStatusWrite(t *testing.T) {
	ctx := context.Background()
	writes, c := counting(t)
	a := newApply(t, "one-status-write")
	var ws LastWrites

	w := ws.Begin(c, c, a)
	conditions.Set(a, metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ReadyReason})
	a.Status.Applied = true
	if err := w.Patch(ctx, a, owned, true); err != nil {
		t.Fatal(err)
	}
	if got := writes.String(); got != "patch/status WorkspaceTemplateApply=1" {
		t.Errorf("writes: %s, want one status patch", got)
	}
	got := get(t, a)
	if !got.Status.Applied || !conditions.IsTrue(got, infrav1.ReadyCondition) || got.Status.ObservedGeneration != got.Generation {
		t.Errorf("status not written in full: %+v", got.Status)
	}

	writes.Reset()
	w = ws.Begin(c, c, got)
	conditions.Set(got, metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ReadyReason})
	if err := w.Patch(ctx, got, owned, true); err != nil {
		t.Fatal(err)
	}
	if writes.Total() != 0 {
		t.Errorf("a pass that changed nothing wrote: %s", writes)
	}
}

// TestStalePassWritesNothing: a pass that starts from a copy older than the controller's
// own last write (a cache that has not seen it) and computes the same status writes
// nothing, and meets no conflict; one that computes something new writes it in one
// request on top of the last write.
func TestStalePassWritesNothing(t *testing.T) {
	ctx := context.Background()
	writes, c := counting(t)
	a := newApply(t, "stale-pass")
	stale := a.DeepCopy()
	var ws LastWrites

	w := ws.Begin(c, c, a)
	conditions.Set(a, metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: "Waiting"})
	if err := w.Patch(ctx, a, owned, true); err != nil {
		t.Fatal(err)
	}

	writes.Reset()
	again := stale.DeepCopy()
	w = ws.Begin(c, c, again)
	conditions.Set(again, metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: "Waiting"})
	if err := w.Patch(ctx, again, owned, true); err != nil {
		t.Fatal(err)
	}
	if writes.Total() != 0 {
		t.Errorf("a pass from a stale copy rewrote what the API server has: %s", writes)
	}

	writes.Reset()
	next := stale.DeepCopy()
	w = ws.Begin(c, c, next)
	conditions.Set(next, metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ReadyReason})
	if err := w.Patch(ctx, next, owned, true); err != nil {
		t.Fatal(err)
	}
	if got := writes.String(); got != "patch/status WorkspaceTemplateApply=1" {
		t.Errorf("writes of a new status from a stale copy: %s, want one status patch and no conflict", got)
	}
	if !conditions.IsTrue(get(t, a), infrav1.ReadyCondition) {
		t.Errorf("Ready not written")
	}
}

// TestForeignConditionKept: another writer adds a condition between the pass's read and
// its write; the pass's one merge patch replaces the conditions list, so the optimistic
// lock makes it conflict, and the retry keeps the other writer's condition.
func TestForeignConditionKept(t *testing.T) {
	ctx := context.Background()
	a := newApply(t, "foreign-condition")
	var ws LastWrites
	w := ws.Begin(env.Client, env.Client, a)

	other := get(t, a)
	conditions.Set(other, metav1.Condition{Type: "Audited", Status: metav1.ConditionTrue, Reason: "Audited"})
	if err := env.Client.Status().Update(ctx, other); err != nil {
		t.Fatal(err)
	}

	conditions.Set(a, metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ReadyReason})
	if err := w.Patch(ctx, a, owned, true); err != nil {
		t.Fatal(err)
	}
	got := get(t, a)
	if !conditions.IsTrue(got, "Audited") || !conditions.IsTrue(got, infrav1.ReadyCondition) {
		t.Errorf("conditions %+v: want both the other writer's and the controller's", got.Status.Conditions)
	}
}

// TestFinalizerThenStatus: the finalizer is written first and the pass goes on; its
// status write is one more request, and what the pass set before the finalizer (Paused)
// is in it.
func TestFinalizerThenStatus(t *testing.T) {
	ctx := context.Background()
	writes, c := counting(t)
	a := newApply(t, "finalizer-then-status")
	var ws LastWrites
	w := ws.Begin(c, c, a)
	if SetPaused("WorkspaceTemplateApply", nil, a) {
		t.Fatal("paused without a reason")
	}
	f := Finalizer{Name: "capt.test/finalizer"}
	if err := w.EnsureFinalizer(ctx, f, a); err != nil {
		t.Fatal(err)
	}
	conditions.Set(a, metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: "Waiting"})
	if err := w.Patch(ctx, a, owned, true); err != nil {
		t.Fatal(err)
	}
	if got := writes.String(); got != "patch WorkspaceTemplateApply=1 patch/status WorkspaceTemplateApply=1" {
		t.Errorf("writes: %s, want the finalizer patch and one status patch", got)
	}
	got := get(t, a)
	if !f.Held(got) || conditions.Get(got, infrav1.PausedCondition) == nil || conditions.Get(got, infrav1.ReadyCondition) == nil {
		t.Errorf("finalizers %v, conditions %+v", got.Finalizers, got.Status.Conditions)
	}
}

// TestSpecWriteRestampsTheStatus: a pass that changes the spec (a new generation) and the
// status writes a status that observed the new generation, so that the next pass has
// nothing to rewrite.
func TestSpecWriteRestampsTheStatus(t *testing.T) {
	ctx := context.Background()
	writes, c := counting(t)
	a := newApply(t, "spec-and-status")
	var ws LastWrites
	w := ws.Begin(c, c, a)
	created := a.Generation
	a.Spec.Variables = map[string]string{"region": "us-west-2"}
	conditions.Set(a, metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: "Waiting"})
	if err := w.Patch(ctx, a, owned, true); err != nil {
		t.Fatal(err)
	}
	got := get(t, a)
	if got.Generation == created || got.Status.ObservedGeneration != got.Generation ||
		conditions.Get(got, infrav1.ReadyCondition).ObservedGeneration != got.Generation {
		t.Errorf("generation %d, observedGeneration %d, Ready %+v", got.Generation, got.Status.ObservedGeneration, conditions.Get(got, infrav1.ReadyCondition))
	}

	writes.Reset()
	w = ws.Begin(c, c, got)
	conditions.Set(got, metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: "Waiting"})
	if err := w.Patch(ctx, got, owned, true); err != nil {
		t.Fatal(err)
	}
	if writes.Total() != 0 {
		t.Errorf("the next pass rewrote the status: %s", writes)
	}
}
