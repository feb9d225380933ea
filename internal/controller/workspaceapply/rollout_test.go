package workspaceapply

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/cluster-api/util/conditions"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/workspacetemplate"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// The rollout tests run both controllers with the simulated provider-terraform
// (testenv.Provider), which applies a Workspace a moment after it changes and reports
// Ready for the generation it applied, and check the order of what happened by etcd
// revision (testenv.RevisionLog), never by the clock.

// rolloutFleet is a template with a rollout policy and its applies, in a namespace of
// their own, each applied with region "v1".
type rolloutFleet struct {
	api      workspace.API
	ns       string
	template string
	applies  []string
	provider *testenv.Provider
}

// newRolloutFleet creates the template (its rollout policy rollout, nil for none) and n
// applies, the applies named in canaries labelled canary=true, and waits until every
// Workspace is Ready with region v1. The controllers are the caller's to start.
func newRolloutFleet(t *testing.T, n int, rollout *infrav1.RolloutPolicy, canaries ...string) *rolloutFleet {
	return newFleet(t, n, rollout, false, canaries...)
}

// newFleet is newRolloutFleet, its provider playing provider-terraform v0.21 (no
// generations) when old is true.
func newFleet(t *testing.T, n int, rollout *infrav1.RolloutPolicy, old bool, canaries ...string) *rolloutFleet {
	t.Helper()
	f := &rolloutFleet{api: workspace.DefaultAPI(), ns: newNamespace(t), template: "fleet"}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, err := testenv.StartProvider(ctx, env.Config, env.Scheme, testenv.ProviderOptions{API: f.api, Delay: 200 * time.Millisecond, NoGenerations: old})
	if err != nil {
		t.Fatal(err)
	}
	f.provider = p
	tmpl := newTemplate(f.ns, f.template)
	tmpl.Spec.Template.Spec.ForProvider.Vars = []infrav1.Var{{Key: "region", Value: "v1"}}
	tmpl.Spec.Rollout = rollout
	create(t, tmpl)
	for i := range n {
		a := newApply(f.ns, fmt.Sprintf("a%02d", i), f.template, nil)
		if slices.Contains(canaries, a.Name) {
			a.Labels = map[string]string{"canary": "true"}
		}
		create(t, a)
		f.applies = append(f.applies, a.Name)
	}
	f.waitAt(t, "v1")
	return f
}

// setRegion changes the template's rendering: region becomes value.
func (f *rolloutFleet) setRegion(t *testing.T, value string) {
	t.Helper()
	f.patchTemplate(t, fmt.Sprintf(`{"spec":{"template":{"spec":{"forProvider":{"vars":[{"key":"region","value":%q}]}}}}}`, value))
}

func (f *rolloutFleet) patchTemplate(t *testing.T, patch string) {
	t.Helper()
	tmpl := &infrav1.WorkspaceTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: f.template}}
	if err := env.Client.Patch(context.Background(), tmpl, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
}

// waitAt waits until every apply reports its Workspace Ready with region value, step by
// step (testenv.EventuallyProgress): a staged rollout's length grows with the fleet.
func (f *rolloutFleet) waitAt(t *testing.T, value string, except ...string) {
	t.Helper()
	testenv.EventuallyProgress(t, "Workspaces Ready with region "+value, len(f.applies)-len(except), func() (int, error) {
		return f.countAt(t, value, except)
	})
}

// countAt counts the applies that report their Workspace Ready with region value, and
// says why the first that does not, does not.
func (f *rolloutFleet) countAt(t *testing.T, value string, except []string) (int, error) {
	t.Helper()
	n := 0
	var first error
	for _, name := range f.applies {
		if slices.Contains(except, name) {
			continue
		}
		a := getApply(t, f.ns, name)
		if c := condition(a, infrav1.ReadyCondition); c.Status != metav1.ConditionTrue || c.ObservedGeneration != a.Generation {
			if first == nil {
				first = fmt.Errorf("%s: Ready %s (%s): %s", name, c.Status, c.Reason, c.Message)
			}
			continue
		}
		w := getWorkspace(t, f.api, f.ns, render.WorkspaceName(f.api, f.ns, name))
		if w == nil || varValue(w, "region") != value || !w.IsReady() {
			if first == nil {
				first = fmt.Errorf("%s: Workspace not Ready with region %s", name, value)
			}
			continue
		}
		n++
	}
	return n, first
}

// template reads the template from the API server.
func (f *rolloutFleet) templateNow(t *testing.T) *infrav1.WorkspaceTemplate {
	t.Helper()
	tmpl := &infrav1.WorkspaceTemplate{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: f.template}, tmpl); err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// waitRollout waits until the template's rollout status satisfies ok.
func (f *rolloutFleet) waitRollout(t *testing.T, what string, ok func(*infrav1.RolloutStatus) error) *infrav1.RolloutStatus {
	t.Helper()
	var r *infrav1.RolloutStatus
	testenv.Eventually(t, what, func() error {
		r = f.templateNow(t).Status.Rollout
		if r == nil {
			return fmt.Errorf("no status.rollout")
		}
		return ok(r)
	})
	return r
}

// atRegion counts the fleet's Workspaces whose spec has region value.
func (f *rolloutFleet) atRegion(t *testing.T, value string) int {
	t.Helper()
	n := 0
	for _, name := range f.applies {
		if w := getWorkspace(t, f.api, f.ns, render.WorkspaceName(f.api, f.ns, name)); w != nil && varValue(w, "region") == value {
			n++
		}
	}
	return n
}

// watch starts recording the fleet's Workspaces and its template by revision.
func (f *rolloutFleet) watch(t *testing.T) *testenv.RevisionLog {
	return env.WatchRevisions(t, "", &infrav1.WorkspaceTemplateList{}, f.api.NewList())
}

// changing replays the log's Workspace changes in revision order and returns, for each
// revision at which a Workspace of the fleet changed, which of them (but except) had
// region value in their spec but were not yet Ready with it: the Workspaces changing at
// that moment.
func (f *rolloutFleet) changing(t *testing.T, log *testenv.RevisionLog, value string, except ...string) []changingAt {
	t.Helper()
	changes := log.Changes(f.api.NewList())
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Revision < changes[j].Revision })
	state := map[string]bool{}
	var out []changingAt
	for _, c := range changes {
		u, ok := c.Object.(*unstructured.Unstructured)
		if !ok || u.GetLabels()[infrav1.WorkspaceTemplateApplyNamespaceLabel] != f.ns {
			continue
		}
		owner := strings.TrimPrefix(u.GetAnnotations()[infrav1.WorkspaceTemplateApplyAnnotation], f.ns+"/")
		w, err := workspace.FromUnstructured(u)
		if err != nil {
			t.Fatal(err)
		}
		state[owner] = c.Type != watch.Deleted && varValue(w, "region") == value && !w.IsReady() && !slices.Contains(except, owner)
		at := changingAt{revision: c.Revision}
		for name, on := range state {
			if on {
				at.names = append(at.names, name)
			}
		}
		sort.Strings(at.names)
		out = append(out, at)
	}
	return out
}

// awaitReady waits until the log has seen each Workspace of the fleet Ready with region
// value: the API server showed it, the watch shows it an instant later.
func (f *rolloutFleet) awaitReady(t *testing.T, log *testenv.RevisionLog, value string) {
	t.Helper()
	for _, name := range f.applies {
		wsName := render.WorkspaceName(f.api, f.ns, name)
		log.Await(t, "Workspace "+wsName+" Ready with region "+value, func(c testenv.Change) bool {
			u, ok := c.Object.(*unstructured.Unstructured)
			if !ok || u.GetName() != wsName {
				return false
			}
			w, err := workspace.FromUnstructured(u)
			return err == nil && varValue(w, "region") == value && w.IsReady()
		})
	}
}

type changingAt struct {
	revision int64
	names    []string
}

// maxChanging is the most Workspaces changing at one revision, and that revision.
func maxChanging(at []changingAt) changingAt {
	var most changingAt
	for _, a := range at {
		if len(a.names) > len(most.names) {
			most = a
		}
	}
	return most
}

// slotsByRevision are the template's slots at each revision its status changed.
func (f *rolloutFleet) slotsByRevision(log *testenv.RevisionLog) []changingAt {
	var out []changingAt
	for _, c := range log.Changes(&infrav1.WorkspaceTemplateList{}) {
		tmpl, ok := c.Object.(*infrav1.WorkspaceTemplate)
		if !ok || tmpl.Namespace != f.ns || tmpl.Status.Rollout == nil {
			continue
		}
		at := changingAt{revision: c.Revision}
		for _, s := range tmpl.Status.Rollout.Slots {
			if !s.Accepted {
				at.names = append(at.names, strings.TrimPrefix(s.Apply, f.ns+"/"))
			}
		}
		out = append(out, at)
	}
	return out
}

// TestRolloutChangesAtMostMaxConcurrent: a template edit reaches 20 applies three at a
// time. By etcd revision, never more than three Workspaces have the new spec without
// being Ready with it, and the template never holds more than three slots, across a
// restart of the manager in the middle of the rollout, made as a leader handover where
// the new manager starts before the old one has stopped; every Workspace reaches the
// new rendering and no slot is left.
func TestRolloutChangesAtMostMaxConcurrent(t *testing.T) {
	api := workspace.DefaultAPI()
	_, stopFirst, err := env.RunManager(controllers(api))
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = stopFirst()
		}
	})
	f := newRolloutFleet(t, 20, &infrav1.RolloutPolicy{MaxConcurrent: intstr.FromInt32(3), PauseAfterFailures: 1})
	log := f.watch(t)
	// Every apply is held until three are changing, so that the limit is reached for
	// certain, whatever the machine's speed: a fast apply could otherwise give its slot
	// back before the third is granted, and the check below that three were changing
	// at once would fail by timing.
	ctx := context.Background()
	hold := func(held bool) {
		t.Helper()
		for _, name := range f.applies {
			if err := f.provider.HoldApply(ctx, client.ObjectKey{Name: render.WorkspaceName(api, f.ns, name)}, held); err != nil {
				t.Fatal(err)
			}
		}
	}
	hold(true)
	f.setRegion(t, "v2")
	testenv.Eventually(t, "three Workspaces changing", func() error {
		if n := f.atRegion(t, "v2"); n < 3 {
			return fmt.Errorf("%d changing", n)
		}
		return nil
	})
	hold(false)

	testenv.EventuallyProgress(t, "a third of the fleet changed", 7, func() (int, error) {
		return f.atRegion(t, "v2"), nil
	})
	env.StartManager(t, controllers(api))
	stopped = true
	if err := stopFirst(); err != nil {
		t.Fatal(err)
	}
	f.waitAt(t, "v2")
	f.waitRollout(t, "every slot given back", func(r *infrav1.RolloutStatus) error {
		if len(r.Slots) != 0 || r.Updated != 20 || r.Waiting != 0 || r.Applying != 0 {
			return fmt.Errorf("rollout %+v", r)
		}
		return nil
	})
	f.awaitReady(t, log, "v2")

	most := maxChanging(f.changing(t, log, "v2"))
	if len(most.names) > 3 {
		t.Errorf("at revision %d, %d Workspaces were changing: %v", most.revision, len(most.names), most.names)
	}
	if len(most.names) < 3 {
		t.Errorf("at most %d Workspaces were changing at once: the limit of 3 was never reached", len(most.names))
	}
	if most := maxChanging(f.slotsByRevision(log)); len(most.names) > 3 {
		t.Errorf("at revision %d the template held %d slots: %v", most.revision, len(most.names), most.names)
	}
}

// failingAt makes the applies of the Workspace of apply name fail while its region is
// value.
func (f *rolloutFleet) failingAt(t *testing.T, failures map[string]string) {
	t.Helper()
	byWorkspace := map[string]string{}
	for name, value := range failures {
		byWorkspace[render.WorkspaceName(f.api, f.ns, name)] = value
	}
	err := f.provider.FailApplies(context.Background(), func(u *unstructured.Unstructured) string {
		value, ok := byWorkspace[u.GetName()]
		if w, err := workspace.FromUnstructured(u); ok && err == nil && varValue(w, "region") == value {
			return "apply failed: Error: creating EC2 VPC: VpcLimitExceeded"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
}

// pausedAndSettled waits until the rollout is paused with failed as its failures and
// every other slot given back: each pass since the pause had slots to give and gave none.
func (f *rolloutFleet) pausedAndSettled(t *testing.T, failed ...string) *infrav1.RolloutStatus {
	t.Helper()
	want := make([]string, 0, len(failed))
	for _, name := range failed {
		want = append(want, f.ns+"/"+name)
	}
	return f.waitRollout(t, fmt.Sprintf("the rollout paused by %v, the other slots given back", failed), func(r *infrav1.RolloutStatus) error {
		if r.Paused == nil || !slices.Equal(r.Paused.Failed, want) {
			return fmt.Errorf("paused %+v", r.Paused)
		}
		if r.Applying != 0 {
			return fmt.Errorf("%d applying", r.Applying)
		}
		return nil
	})
}

// grantsAfter fails the test when a slot was granted after revision from (up to
// revision to, when not zero): a paused rollout grants none.
func (f *rolloutFleet) grantsAfter(t *testing.T, log *testenv.RevisionLog, from, to int64) {
	t.Helper()
	held := map[string]bool{}
	for _, at := range f.slotsByRevision(log) {
		if to != 0 && at.revision >= to {
			return
		}
		for _, name := range at.names {
			if !held[name] && at.revision > from {
				t.Errorf("a slot was granted to %s at revision %d, after the pause at revision %d", name, at.revision, from)
			}
		}
		held = map[string]bool{}
		for _, name := range at.names {
			held[name] = true
		}
	}
}

// pauseRevision is the revision of the first template status showing pause token.
func (f *rolloutFleet) pauseRevision(t *testing.T, log *testenv.RevisionLog, token string) int64 {
	t.Helper()
	var rev int64
	log.Await(t, "the pause "+token, func(c testenv.Change) bool {
		tmpl, ok := c.Object.(*infrav1.WorkspaceTemplate)
		if ok && tmpl.Namespace == f.ns && tmpl.Status.Rollout != nil && tmpl.Status.Rollout.Paused != nil && tmpl.Status.Rollout.Paused.Token == token {
			rev = c.Revision
			return true
		}
		return false
	})
	return rev
}

// TestRolloutPausesOnFailure: one Workspace failing with the new rendering pauses the
// rollout, and no slot is granted after that revision; the resume annotation with the
// pause's token goes on past the failure; a later pause is not resumed by the annotation
// left from the first; a fix of the template resumes it, and the whole fleet, the
// failed Workspaces too, reaches the fix two at a time.
func TestRolloutPausesOnFailure(t *testing.T) {
	api := workspace.DefaultAPI()
	startControllers(t, api)
	f := newRolloutFleet(t, 10, &infrav1.RolloutPolicy{MaxConcurrent: intstr.FromInt32(2), PauseAfterFailures: 1})
	log := f.watch(t)

	// a03 fails with v2: the rollout pauses there.
	f.failingAt(t, map[string]string{"a03": "v2"})
	f.setRegion(t, "v2")
	r := f.pausedAndSettled(t, "a03")
	first := r.Paused.Token
	pausedAt := f.pauseRevision(t, log, first)
	changed := f.atRegion(t, "v2")
	if changed >= len(f.applies) || changed < 1 {
		t.Errorf("%d Workspaces have the new spec after the pause, want those granted a slot before a03 failed", changed)
	}
	if r.Waiting != int32(len(f.applies)-changed) || r.Failed != 1 {
		t.Errorf("rollout %+v, with %d Workspaces changed", r, changed)
	}
	for _, name := range f.applies {
		if w := getWorkspace(t, f.api, f.ns, render.WorkspaceName(f.api, f.ns, name)); varValue(w, "region") == "v1" {
			a := waitCondition(t, f.ns, name, infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.WaitingForRolloutSlotReason)
			if p := a.Status.Rollout; p == nil || p.PendingHash == "" || p.PendingHash == p.Hash {
				t.Errorf("a waiting apply's status.rollout = %+v", p)
			}
		}
	}
	waitCondition(t, f.ns, "a03", infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.WorkspaceNotSyncedReason)

	// A person resumes with the pause's token: the others go on, a03 stays failing.
	f.patchTemplate(t, fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, infrav1.ResumeRolloutAnnotation, first))
	f.waitAt(t, "v2", "a03")
	f.waitRollout(t, "the rollout resumed past a03", func(r *infrav1.RolloutStatus) error {
		if r.Paused != nil || r.Waiting != 0 || r.Failed != 1 || len(r.Slots) != 1 || !r.Slots[0].Accepted {
			return fmt.Errorf("rollout %+v", r)
		}
		return nil
	})
	f.grantsAfter(t, log, pausedAt, f.resumeRevision(t, log))

	// a07 fails with v3: a new pause, which the annotation left from the first does not
	// resume.
	f.failingAt(t, map[string]string{"a07": "v3"})
	f.setRegion(t, "v3")
	r = f.pausedAndSettled(t, "a07")
	if r.Paused.Token == first {
		t.Fatalf("the second pause has the first's token %s", first)
	}
	second := f.pauseRevision(t, log, r.Paused.Token)
	// A new apply is created with v3 at once, paused or not; the template's pass that
	// counts it Updated had the first pause's token before it, and stayed paused.
	create(t, newApply(f.ns, "a10", f.template, nil))
	f.applies = append(f.applies, "a10")
	updated := r.Updated
	f.waitRollout(t, "the new apply counted", func(r *infrav1.RolloutStatus) error {
		if r.Updated != updated+1 {
			return fmt.Errorf("rollout %+v", r)
		}
		if r.Paused == nil || r.Applying != 0 {
			return fmt.Errorf("the annotation of the first pause resumed the second: rollout %+v", r)
		}
		return nil
	})
	if w := getWorkspace(t, f.api, f.ns, render.WorkspaceName(f.api, f.ns, "a10")); w == nil || varValue(w, "region") != "v3" {
		t.Errorf("the new apply's Workspace is not created with v3 during the pause")
	}

	// The fix: every Workspace reaches it, the failed ones too, two at a time.
	f.failingAt(t, nil)
	f.setRegion(t, "v4")
	f.waitAt(t, "v4")
	f.awaitReady(t, log, "v4")
	f.grantsAfter(t, log, second, f.fixRevision(t, log))
	// The failures the rollout went past, by a resume or a fix, no longer count.
	for value, accepted := range map[string]string{"v2": "a03", "v3": "a07", "v4": ""} {
		if most := maxChanging(f.changing(t, log, value, accepted)); len(most.names) > 2 {
			t.Errorf("at revision %d, %d Workspaces were changing to %s: %v", most.revision, len(most.names), value, most.names)
		}
	}
}

// resumeRevision is the revision of the first template status after a pause that shows
// no pause.
func (f *rolloutFleet) resumeRevision(t *testing.T, log *testenv.RevisionLog) int64 {
	t.Helper()
	return f.firstAfterPause(t, log, "the resume", func(tmpl *infrav1.WorkspaceTemplate) bool { return tmpl.Status.Rollout.Paused == nil })
}

// fixRevision is the revision of the template's last spec change.
func (f *rolloutFleet) fixRevision(t *testing.T, log *testenv.RevisionLog) int64 {
	t.Helper()
	var rev, generation int64
	for _, c := range log.Changes(&infrav1.WorkspaceTemplateList{}) {
		if tmpl, ok := c.Object.(*infrav1.WorkspaceTemplate); ok && tmpl.Namespace == f.ns && tmpl.Generation > generation {
			rev, generation = c.Revision, tmpl.Generation
		}
	}
	return rev
}

// firstAfterPause is the revision of the first template status that matches after one
// that showed a pause.
func (f *rolloutFleet) firstAfterPause(t *testing.T, log *testenv.RevisionLog, what string, match func(*infrav1.WorkspaceTemplate) bool) int64 {
	t.Helper()
	var rev int64
	paused := false
	for _, c := range log.Changes(&infrav1.WorkspaceTemplateList{}) {
		tmpl, ok := c.Object.(*infrav1.WorkspaceTemplate)
		if !ok || tmpl.Namespace != f.ns || tmpl.Status.Rollout == nil {
			continue
		}
		if tmpl.Status.Rollout.Paused != nil {
			paused = true
			continue
		}
		if paused && match(tmpl) {
			rev = c.Revision
			break
		}
	}
	if rev == 0 {
		t.Fatalf("%s: never seen", what)
	}
	return rev
}

// workspaceFirst is the revision of the first change of apply name's Workspace that
// match accepts.
func (f *rolloutFleet) workspaceFirst(t *testing.T, log *testenv.RevisionLog, name string, match func(*workspace.Workspace) bool) int64 {
	t.Helper()
	wsName := render.WorkspaceName(f.api, f.ns, name)
	rev, ok := log.First(func(c testenv.Change) bool {
		u, isU := c.Object.(*unstructured.Unstructured)
		if !isU || u.GetName() != wsName {
			return false
		}
		w, err := workspace.FromUnstructured(u)
		return err == nil && match(w)
	})
	if !ok {
		t.Fatalf("Workspace of %s: never seen", name)
	}
	return rev
}

// TestRolloutCanariesFirst: the applies the canarySelector selects change first, and no
// other Workspace gets the new spec before both canaries are Ready with it, by etcd
// revision, whatever order the applies' passes ran in.
func TestRolloutCanariesFirst(t *testing.T) {
	api := workspace.DefaultAPI()
	startControllers(t, api)
	f := newRolloutFleet(t, 6, &infrav1.RolloutPolicy{MaxConcurrent: intstr.FromInt32(3), PauseAfterFailures: 1,
		CanarySelector: &metav1.LabelSelector{MatchLabels: map[string]string{"canary": "true"}}}, "a04", "a05")
	log := f.watch(t)
	f.setRegion(t, "v2")
	f.waitAt(t, "v2")
	f.awaitReady(t, log, "v2")

	atV2 := func(w *workspace.Workspace) bool { return varValue(w, "region") == "v2" }
	readyAtV2 := func(w *workspace.Workspace) bool { return atV2(w) && w.IsReady() }
	canariesReady := max(f.workspaceFirst(t, log, "a04", readyAtV2), f.workspaceFirst(t, log, "a05", readyAtV2))
	for _, name := range []string{"a00", "a01", "a02", "a03"} {
		if rev := f.workspaceFirst(t, log, name, atV2); rev < canariesReady {
			t.Errorf("%s's Workspace got the new spec at revision %d, before the canaries were Ready with it (revision %d)", name, rev, canariesReady)
		}
	}
}

// TestRolloutHoldsNeitherCreationNorDeletion: while the one slot is taken, a new apply
// creates its Workspace at once with the new rendering, and an apply waiting for a slot
// is deleted, its Workspace with it; deleting the apply that holds the slot frees it for
// the next.
func TestRolloutHoldsNeitherCreationNorDeletion(t *testing.T) {
	ctx := context.Background()
	api := workspace.DefaultAPI()
	startControllers(t, api)
	f := newRolloutFleet(t, 3, &infrav1.RolloutPolicy{MaxConcurrent: intstr.FromInt32(1), PauseAfterFailures: 1})
	for _, name := range f.applies {
		key := client.ObjectKey{Name: render.WorkspaceName(api, f.ns, name)}
		if err := f.provider.HoldApply(ctx, key, true); err != nil {
			t.Fatal(err)
		}
	}
	f.setRegion(t, "v2")
	r := f.waitRollout(t, "one slot taken, two waiting", func(r *infrav1.RolloutStatus) error {
		if len(r.Slots) != 1 || r.Waiting != 2 {
			return fmt.Errorf("rollout %+v", r)
		}
		return nil
	})
	holder := strings.TrimPrefix(r.Slots[0].Apply, f.ns+"/")
	var waiting []string
	for _, name := range f.applies {
		if name != holder {
			waiting = append(waiting, name)
		}
	}

	// Creation: at once, with the new rendering.
	create(t, newApply(f.ns, "new", f.template, nil))
	if w := waitWorkspace(t, api, f.ns, "new"); varValue(w, "region") != "v2" {
		t.Errorf("the new apply's Workspace has region %s, want v2", varValue(w, "region"))
	}

	// Deletion of a waiting apply: its Workspace is deleted, nothing waits for a slot.
	for _, name := range []string{waiting[0], holder} {
		a := getApply(t, f.ns, name)
		if err := env.Client.Delete(ctx, a); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, name+" gone", func() error { return gone(a) })
	}
	// The holder's slot went with it: the last waiting apply gets it and changes.
	testenv.Eventually(t, waiting[1]+" changed", func() error {
		if w := getWorkspace(t, api, f.ns, render.WorkspaceName(api, f.ns, waiting[1])); varValue(w, "region") != "v2" {
			return fmt.Errorf("region %s", varValue(w, "region"))
		}
		return nil
	})
	r = f.templateNow(t).Status.Rollout
	if len(r.Slots) != 1 || r.Slots[0].Apply != f.ns+"/"+waiting[1] {
		t.Errorf("slots = %+v, want only %s's", r.Slots, waiting[1])
	}
}

// TestNoRolloutPolicyCostsNothing: a template without a rollout policy changes every
// Workspace at once, as before rollouts: no apply waits for a slot or carries rollout
// status, the template's status is written once for the edit (its observedGeneration),
// and the applies' changes bring the template's controller no pass.
func TestNoRolloutPolicyCostsNothing(t *testing.T) {
	api := workspace.DefaultAPI()
	startControllers(t, api)
	f := newRolloutFleet(t, 4, nil)
	log := env.WatchRevisions(t, f.ns, &infrav1.WorkspaceTemplateApplyList{})
	wsLog := f.watch(t)
	reconciles := testenv.ReconcileTotal("workspacetemplate")
	f.setRegion(t, "v2")
	f.waitAt(t, "v2")
	f.awaitReady(t, wsLog, "v2")

	if n := testenv.ReconcileTotal("workspacetemplate") - reconciles; n != 1 {
		t.Errorf("the template's controller ran %.0f passes for one edit, want 1", n)
	}
	var templateStatus []int64
	for _, c := range wsLog.Changes(&infrav1.WorkspaceTemplateList{}) {
		if tmpl, ok := c.Object.(*infrav1.WorkspaceTemplate); ok && tmpl.Namespace == f.ns && c.Type == watch.Modified {
			if tmpl.Status.Rollout != nil {
				t.Errorf("template status.rollout = %+v", tmpl.Status.Rollout)
			}
			templateStatus = append(templateStatus, tmpl.Status.ObservedGeneration)
		}
	}
	// The edit itself, then the status write that observes it.
	if len(templateStatus) != 2 {
		t.Errorf("template changes (observedGeneration) = %v, want the edit and one status write", templateStatus)
	}
	for _, c := range log.Changes(&infrav1.WorkspaceTemplateApplyList{}) {
		a := c.Object.(*infrav1.WorkspaceTemplateApply)
		if a.Status.Rollout != nil || condition(a, infrav1.ReadyCondition).Reason == infrav1.WaitingForRolloutSlotReason {
			t.Errorf("apply %s at revision %d: rollout %+v, Ready %+v", a.Name, c.Revision, a.Status.Rollout, condition(a, infrav1.ReadyCondition))
		}
	}
	if most := maxChanging(f.changing(t, wsLog, "v2")); len(most.names) != len(f.applies) {
		t.Errorf("at most %d Workspaces changed at once, want all %d", len(most.names), len(f.applies))
	}
}

// TestRolloutStaleViewCannotOvercount replays the template's pass from a view older than
// its last grant (a cache behind, or the old leader in a handover): it must meet the
// grant in etcd and decide again, not grant the two slots it thinks free over the two
// taken. Applies and template are written by hand; no manager runs.
func TestRolloutStaleViewCannotOvercount(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	tmpl := newTemplate(ns, "t")
	tmpl.Spec.Rollout = &infrav1.RolloutPolicy{MaxConcurrent: intstr.FromInt32(2), PauseAfterFailures: 1}
	create(t, tmpl)
	setRollout := func(name string, r infrav1.ApplyRolloutStatus, ready metav1.Condition) {
		a := getApply(t, ns, name)
		a.Status.Rollout = &r
		conditions.Set(a, ready)
		if err := env.Client.Status().Update(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	waiting := metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: infrav1.WaitingForRolloutSlotReason}
	for _, name := range []string{"a", "b", "c", "d"} {
		create(t, newApply(ns, name, "t", nil))
		setRollout(name, infrav1.ApplyRolloutStatus{Hash: "h0", PendingHash: "h1"}, waiting)
	}
	stale := &infrav1.WorkspaceTemplate{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tmpl), stale); err != nil {
		t.Fatal(err)
	}
	reconcile := func(c client.WithWatch) {
		r := &workspacetemplate.Reconciler{Client: byTemplateRef(c), APIReader: env.Client, API: workspace.DefaultAPI()}
		if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(tmpl)}); err != nil {
			t.Fatal(err)
		}
	}
	slots := func() []string {
		held := getTemplate(t, ns, "t").Status.Rollout.Slots
		names := make([]string, 0, len(held))
		for _, s := range held {
			names = append(names, strings.TrimPrefix(s.Apply, ns+"/"))
		}
		return names
	}

	live, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	reconcile(live)
	if got := slots(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("slots = %v, want a and b", got)
	}
	// a and b write their Workspaces with their slots; not Ready yet.
	notReady := metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: infrav1.WorkspaceNotReadyReason}
	setRollout("a", infrav1.ApplyRolloutStatus{Hash: "h1"}, notReady)
	setRollout("b", infrav1.ApplyRolloutStatus{Hash: "h1"}, notReady)

	reconcile(env.StaleClient(t, stale))
	if got := slots(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("after a pass from a stale view, slots = %v, want a and b: four Workspaces would change at once", got)
	}
}

// byTemplateRef serves the template controller's list of a template's applies, which
// the manager's cache answers by a field index, from the API server.
func byTemplateRef(c client.WithWatch) client.Client {
	return interceptor.NewClient(c, interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			o := &client.ListOptions{}
			o.ApplyOptions(opts)
			l, ok := list.(*infrav1.WorkspaceTemplateApplyList)
			if !ok || o.FieldSelector == nil {
				return c.List(ctx, list, opts...)
			}
			all := &infrav1.WorkspaceTemplateApplyList{}
			if err := c.List(ctx, all); err != nil {
				return err
			}
			for _, a := range all.Items {
				key := client.ObjectKey{Namespace: a.Namespace, Name: a.Spec.TemplateRef.Name}
				if o.FieldSelector.Matches(fields.Set{fieldOf(o.FieldSelector): key.String()}) {
					l.Items = append(l.Items, a)
				}
			}
			return nil
		},
	})
}

// fieldOf is the one field a selector of one requirement selects on.
func fieldOf(s fields.Selector) string {
	return s.Requirements()[0].Field
}

func getTemplate(t *testing.T, ns, name string) *infrav1.WorkspaceTemplate {
	t.Helper()
	tmpl := &infrav1.WorkspaceTemplate{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, tmpl); err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// TestRolloutGate: with a rollout policy, only a change of an existing Workspace to
// another rendering waits, until the template holds a slot for this apply and exactly
// that rendering; creation never waits, nor a write that keeps the rendering (a field
// set back after someone's edit); a Workspace written before rollout hashes waits only
// if its rendering differs. Every rendering is annotated with its hash.
func TestRolloutGate(t *testing.T) {
	api := workspace.DefaultAPI()
	apply := newApply("ns", "a", "t", nil)
	withPolicy := func(slots ...infrav1.RolloutSlot) *infrav1.WorkspaceTemplate {
		tmpl := newTemplate("ns", "t")
		tmpl.Spec.Rollout = &infrav1.RolloutPolicy{MaxConcurrent: intstr.FromInt32(1)}
		tmpl.Status.Rollout = &infrav1.RolloutStatus{Slots: slots}
		return tmpl
	}
	renderFrom := func(tmpl *infrav1.WorkspaceTemplate) *workspace.Workspace {
		w, err := render.Workspace(api, tmpl, apply)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	edited := func(tmpl *infrav1.WorkspaceTemplate) *infrav1.WorkspaceTemplate {
		tmpl = tmpl.DeepCopy()
		tmpl.Spec.Template.Spec.ForProvider.Vars = []infrav1.Var{{Key: "region", Value: "eu-west-1"}}
		return tmpl
	}
	// written is the Workspace as CAPT wrote it from tmpl; legacy drops the rollout hash.
	written := func(tmpl *infrav1.WorkspaceTemplate, legacy bool) *workspace.Workspace {
		w := renderFrom(tmpl)
		if _, err := rolloutGate(tmpl, apply, w, nil, &observation{}); err != nil {
			t.Fatal(err)
		}
		if legacy {
			delete(w.Annotations, infrav1.RolloutHashAnnotation)
		}
		return w
	}
	hashOf := func(tmpl *infrav1.WorkspaceTemplate) string {
		return written(tmpl, false).Annotations[infrav1.RolloutHashAnnotation]
	}
	base := withPolicy()
	drifted := written(base, false)
	drifted.Spec.ForProvider.Module = "changed by someone"
	cases := []struct {
		name     string
		tmpl     *infrav1.WorkspaceTemplate
		current  *workspace.Workspace
		wantWait bool
	}{
		{"no policy", func() *infrav1.WorkspaceTemplate { t := edited(base); t.Spec.Rollout = nil; return t }(), written(base, false), false},
		{"creation", edited(base), nil, false},
		{"the same rendering", base, written(base, false), false},
		{"the same rendering, set back after an edit", base, drifted, false},
		{"another rendering without a slot", edited(base), written(base, false), true},
		{"a slot for another rendering", edited(withPolicy(infrav1.RolloutSlot{Apply: "ns/a", Hash: hashOf(base)})), written(base, false), true},
		{"another apply's slot", edited(withPolicy(infrav1.RolloutSlot{Apply: "ns/b", Hash: hashOf(edited(base))})), written(base, false), true},
		{"its slot", edited(withPolicy(infrav1.RolloutSlot{Apply: "ns/a", Hash: hashOf(edited(base))})), written(base, false), false},
		{"written before rollout hashes, same rendering", base, written(base, true), false},
		{"written before rollout hashes, another rendering", edited(base), written(base, true), true},
	}
	for _, c := range cases {
		obs := &observation{workspaceName: "w"}
		desired := renderFrom(c.tmpl)
		wait, err := rolloutGate(c.tmpl, apply, desired, c.current, obs)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want := hashOf(c.tmpl)
		if wait != c.wantWait || desired.Annotations[infrav1.RolloutHashAnnotation] != want {
			t.Errorf("%s: wait %v, want %v; annotation %q, want %q", c.name, wait, c.wantWait, desired.Annotations[infrav1.RolloutHashAnnotation], want)
		}
		if c.wantWait && (obs.rollout.pendingHash != want || !strings.Contains(obs.rollout.waiting, "ns/t")) {
			t.Errorf("%s: observed %+v", c.name, obs.rollout)
		}
	}
}

// TestTemplateStatusWakesOnlyGrantedApplies: a change of a template's status wakes the
// applies whose slot it granted or moved, not the others; a change beyond its status
// wakes them all, as before rollouts.
func TestTemplateStatusWakesOnlyGrantedApplies(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	for _, name := range []string{"a", "b", "c", "d"} {
		create(t, newApply(ns, name, "t", nil))
	}
	live, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{Client: byTemplateRef(live)}
	slot := func(name, hash string) infrav1.RolloutSlot {
		return infrav1.RolloutSlot{Apply: ns + "/" + name, Hash: hash}
	}
	before := newTemplate(ns, "t")
	before.Generation = 2
	before.Status.Rollout = &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{slot("a", "h1"), slot("b", "h1")}}
	granted := before.DeepCopy()
	granted.Status.Rollout.Slots = []infrav1.RolloutSlot{slot("b", "h2"), slot("c", "h1")}
	granted.Status.Rollout.Updated = 1
	edited := before.DeepCopy()
	edited.Generation = 3
	for _, c := range []struct {
		name     string
		old, new *infrav1.WorkspaceTemplate
		want     []string
	}{
		{"a grant and a moved slot", before, granted, []string{"b", "c"}},
		{"a status without a grant", granted, func() *infrav1.WorkspaceTemplate { g := granted.DeepCopy(); g.Status.Rollout.Waiting = 3; return g }(), nil},
		{"a spec change", before, edited, []string{"a", "b", "c", "d"}},
	} {
		q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
		r.templateEvents().Update(ctx, event.UpdateEvent{ObjectOld: c.old, ObjectNew: c.new}, q)
		var got []string
		for q.Len() > 0 {
			item, _ := q.Get()
			got = append(got, item.Name)
			q.Done(item)
		}
		sort.Strings(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: woke %v, want %v", c.name, got, c.want)
		}
		q.ShutDown()
	}
}

// appliedGeneration is the generation the simulated provider playing v0.21 last applied,
// from its output.
func appliedGeneration(w *workspace.Workspace) int64 {
	var g int64
	if raw, ok := w.Output("applied_generation"); ok {
		_ = json.Unmarshal(raw, &g)
	}
	return g
}

// TestRolloutWithoutProviderGenerations: with a provider that reports no generation
// (provider-terraform v0.21 keeps Ready True while it applies a new spec), a slot is
// given back only once the provider applied the new spec: by etcd revision, never more
// than two Workspaces have the new spec and not yet its apply, and none of them ever
// shows the Ready of the spec before (which a cache would take for the new spec's).
func TestRolloutWithoutProviderGenerations(t *testing.T) {
	api := workspace.DefaultAPI()
	startControllers(t, api)
	f := newFleet(t, 6, &infrav1.RolloutPolicy{MaxConcurrent: intstr.FromInt32(2), PauseAfterFailures: 1}, true)
	log := f.watch(t)
	f.setRegion(t, "v2")
	f.waitAt(t, "v2")
	for _, name := range f.applies {
		wsName := render.WorkspaceName(api, f.ns, name)
		log.Await(t, "Workspace "+wsName+" applied with v2", func(c testenv.Change) bool {
			u, ok := c.Object.(*unstructured.Unstructured)
			if !ok || u.GetName() != wsName {
				return false
			}
			w, err := workspace.FromUnstructured(u)
			return err == nil && varValue(w, "region") == "v2" && appliedGeneration(w) == w.Generation
		})
	}

	changes := log.Changes(api.NewList())
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Revision < changes[j].Revision })
	changing, most := map[string]bool{}, 0
	for _, c := range changes {
		u, ok := c.Object.(*unstructured.Unstructured)
		if !ok || u.GetLabels()[infrav1.WorkspaceTemplateApplyNamespaceLabel] != f.ns {
			continue
		}
		w, err := workspace.FromUnstructured(u)
		if err != nil {
			t.Fatal(err)
		}
		changing[u.GetName()] = varValue(w, "region") == "v2" && appliedGeneration(w) < w.Generation
		if changing[u.GetName()] && w.IsTrue(workspace.ConditionReady) {
			// A view of it then (a cache) would take the old Ready for the new spec's.
			t.Errorf("at revision %d, Workspace %s had the new spec with the Ready of the spec before", c.Revision, u.GetName())
		}
		n := 0
		for _, on := range changing {
			if on {
				n++
			}
		}
		if n > 2 {
			t.Errorf("at revision %d, %d Workspaces had the new spec and not its apply", c.Revision, n)
		}
		most = max(most, n)
	}
	if most != 2 {
		t.Errorf("at most %d Workspaces changed at once, want the limit, 2", most)
	}
}
