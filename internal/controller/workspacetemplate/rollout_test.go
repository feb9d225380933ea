package workspacetemplate

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// slot is a slot of apply "ns/<name>" for hash.
func slot(name, hash string) infrav1.RolloutSlot {
	return infrav1.RolloutSlot{Apply: "ns/" + name, Hash: hash, Since: metav1.NewTime(time.Unix(1, 0))}
}

func accepted(s infrav1.RolloutSlot) infrav1.RolloutSlot { s.Accepted = true; return s }

// waits, applying, ready and failing are applies in each state, for hash h.
func waits(h string) applyState      { return applyState{Pending: h, Hash: "old", Ready: true} }
func applying(h string) applyState   { return applyState{Hash: h} }
func ready(h string) applyState      { return applyState{Hash: h, Ready: true} }
func failing(h string) applyState    { return applyState{Hash: h, Failing: true} }
func canary(a applyState) applyState { a.Canary, a.Rendered = true, true; return a }
func policy(limit intstr.IntOrString) infrav1.RolloutPolicy {
	return infrav1.RolloutPolicy{MaxConcurrent: limit, PauseAfterFailures: 1}
}

func applies(m map[string]applyState) map[string]applyState {
	out := map[string]applyState{}
	for k, v := range m {
		out["ns/"+k] = v
	}
	return out
}

func TestAllocate(t *testing.T) {
	pausedAt := func(generation int64, token string, failed ...string) *infrav1.RolloutPause {
		return &infrav1.RolloutPause{Reason: infrav1.RolloutApplyFailedReason, Generation: generation, Token: token, Failed: failed}
	}
	cases := []struct {
		name       string
		policy     infrav1.RolloutPolicy
		status     *infrav1.RolloutStatus
		generation int64
		resume     string
		applies    map[string]applyState
		selectErr  error
		// wantSlots are "name=hash", with "!" after an accepted one.
		wantSlots  []string
		wantPaused bool
		// wantFailed are the pause's failed applies, when it paused in this pass.
		wantFailed []string
		// wantCounts are updated, applying, failed, waiting.
		wantCounts [4]int32
	}{{
		name:   "free slots go to the waiting applies by name",
		policy: policy(intstr.FromInt32(2)), generation: 1,
		applies:    applies(map[string]applyState{"c": waits("h"), "a": waits("h"), "b": waits("h"), "d": ready("h")}),
		wantSlots:  []string{"a=h", "b=h"},
		wantCounts: [4]int32{1, 2, 0, 1},
	}, {
		name:   "no grant at the limit",
		policy: policy(intstr.FromInt32(2)), generation: 1,
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{slot("a", "h"), slot("b", "h")}},
		applies:    applies(map[string]applyState{"a": applying("h"), "b": applying("h"), "c": waits("h")}),
		wantSlots:  []string{"a=h", "b=h"},
		wantCounts: [4]int32{0, 2, 0, 1},
	}, {
		name:   "a slot whose apply is Ready with its rendering goes to the next",
		policy: policy(intstr.FromInt32(2)), generation: 1,
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{slot("a", "h"), slot("b", "h")}},
		applies:    applies(map[string]applyState{"a": ready("h"), "b": applying("h"), "c": waits("h"), "d": waits("h")}),
		wantSlots:  []string{"b=h", "c=h"},
		wantCounts: [4]int32{1, 2, 0, 1},
	}, {
		name:   "Ready with another rendering than the slot's is not done",
		policy: policy(intstr.FromInt32(1)), generation: 1,
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{slot("a", "h")}},
		applies:    applies(map[string]applyState{"a": waits("h"), "b": waits("h")}),
		wantSlots:  []string{"a=h"},
		wantCounts: [4]int32{0, 1, 0, 1},
	}, {
		name:   "an apply that has not reported the slot's rendering keeps its slot",
		policy: policy(intstr.FromInt32(1)), generation: 1,
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{slot("a", "h")}},
		applies:    applies(map[string]applyState{"a": {Ready: true}, "b": waits("h")}),
		wantSlots:  []string{"a=h"},
		wantCounts: [4]int32{0, 1, 0, 1},
	}, {
		name:   "an apply back at a rendering it is Ready with gives its slot back",
		policy: policy(intstr.FromInt32(1)), generation: 1,
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{slot("a", "h")}},
		applies:    applies(map[string]applyState{"a": ready("h0"), "b": waits("h")}),
		wantSlots:  []string{"b=h"},
		wantCounts: [4]int32{1, 1, 0, 0},
	}, {
		name:   "canaries first, and alone while one of them changes",
		policy: policy(intstr.FromInt32(3)), generation: 1,
		applies:    applies(map[string]applyState{"a": waits("h"), "b": waits("h"), "z": canary(waits("h"))}),
		wantSlots:  []string{"z=h"},
		wantCounts: [4]int32{0, 1, 0, 2},
	}, {
		name:   "no other apply gets a slot before every canary rendered the template",
		policy: policy(intstr.FromInt32(3)), generation: 2,
		applies:    applies(map[string]applyState{"a": waits("h"), "z": {Canary: true, Hash: "h0", Ready: true}}),
		wantCounts: [4]int32{1, 0, 0, 1},
	}, {
		name:   "the others once the canaries are done",
		policy: policy(intstr.FromInt32(3)), generation: 1,
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{slot("z", "h")}},
		applies:    applies(map[string]applyState{"a": waits("h"), "b": waits("h"), "z": canary(ready("h"))}),
		wantSlots:  []string{"a=h", "b=h"},
		wantCounts: [4]int32{1, 2, 0, 0},
	}, {
		name:   "a percentage of the applies, rounded up",
		policy: policy(intstr.FromString("10%")), generation: 1,
		applies: applies(map[string]applyState{
			"a": waits("h"), "b": waits("h"), "c": waits("h"), "d": waits("h"), "e": waits("h"), "f": waits("h"),
			"g": waits("h"), "h": waits("h"), "i": waits("h"), "j": waits("h"), "k": waits("h"),
		}),
		wantSlots:  []string{"a=h", "b=h"},
		wantCounts: [4]int32{0, 2, 0, 9},
	}, {
		name:   "a percentage is at least one slot",
		policy: policy(intstr.FromString("1%")), generation: 1,
		applies:    applies(map[string]applyState{"a": waits("h"), "b": waits("h")}),
		wantSlots:  []string{"a=h"},
		wantCounts: [4]int32{0, 1, 0, 1},
	}, {
		name:   "a failure pauses: no more slots",
		policy: policy(intstr.FromInt32(3)), generation: 4,
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{slot("a", "h"), slot("b", "h")}},
		applies:    applies(map[string]applyState{"a": failing("h"), "b": ready("h"), "c": waits("h")}),
		wantSlots:  []string{"a=h"},
		wantPaused: true, wantFailed: []string{"ns/a"},
		wantCounts: [4]int32{1, 0, 1, 1},
	}, {
		name:   "fewer failures than pauseAfterFailures go on",
		policy: infrav1.RolloutPolicy{MaxConcurrent: intstr.FromInt32(3), PauseAfterFailures: 2}, generation: 1,
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{slot("a", "h2")}},
		applies:    applies(map[string]applyState{"a": failing("h2"), "c": waits("h")}),
		wantSlots:  []string{"a=h2", "c=h"},
		wantCounts: [4]int32{0, 1, 1, 0},
	}, {
		name:   "paused: free slots stay free",
		policy: policy(intstr.FromInt32(3)), generation: 4,
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{slot("a", "h")}, Paused: pausedAt(4, "4-aaaa", "ns/a")},
		applies:    applies(map[string]applyState{"a": failing("h"), "c": waits("h"), "d": waits("h")}),
		wantSlots:  []string{"a=h"},
		wantPaused: true,
		wantCounts: [4]int32{0, 0, 1, 2},
	}, {
		name:   "a resume with another pause's token does nothing",
		policy: policy(intstr.FromInt32(3)), generation: 4, resume: "4-bbbb",
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{slot("a", "h")}, Paused: pausedAt(4, "4-aaaa", "ns/a")},
		applies:    applies(map[string]applyState{"a": failing("h"), "c": waits("h")}),
		wantSlots:  []string{"a=h"},
		wantPaused: true,
		wantCounts: [4]int32{0, 0, 1, 1},
	}, {
		name:   "a resume with the pause's token goes on past the failure",
		policy: policy(intstr.FromInt32(2)), generation: 4, resume: "4-aaaa",
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{slot("a", "h")}, Paused: pausedAt(4, "4-aaaa", "ns/a")},
		applies:    applies(map[string]applyState{"a": failing("h"), "c": waits("h"), "d": waits("h"), "e": waits("h")}),
		wantSlots:  []string{"a=h!", "c=h", "d=h"},
		wantCounts: [4]int32{0, 2, 1, 1},
	}, {
		name:   "a change of the template's spec resumes; the failed apply's new rendering moves its slot",
		policy: policy(intstr.FromInt32(2)), generation: 5,
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{slot("a", "h")}, Paused: pausedAt(4, "4-aaaa", "ns/a")},
		applies:    applies(map[string]applyState{"a": {Pending: "fix", Hash: "h", Failing: true}, "c": waits("fix")}),
		wantSlots:  []string{"a=fix", "c=fix"},
		wantCounts: [4]int32{0, 2, 0, 0},
	}, {
		name:   "a change of the template's spec seen before the apply's: its failure does not pause again",
		policy: policy(intstr.FromInt32(2)), generation: 5,
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{slot("a", "h")}, Paused: pausedAt(4, "4-aaaa", "ns/a")},
		applies:    applies(map[string]applyState{"a": failing("h"), "c": waits("fix"), "d": waits("fix")}),
		wantSlots:  []string{"a=h!", "c=fix", "d=fix"},
		wantCounts: [4]int32{0, 2, 1, 0},
	}, {
		name:   "an accepted slot goes once its apply waits for a new rendering, which waits its turn",
		policy: policy(intstr.FromInt32(1)), generation: 5,
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{accepted(slot("a", "h")), slot("c", "fix")}},
		applies:    applies(map[string]applyState{"a": {Pending: "fix", Hash: "h", Failing: true}, "c": applying("fix")}),
		wantSlots:  []string{"c=fix"},
		wantCounts: [4]int32{0, 1, 0, 1},
	}, {
		name:   "an accepted slot goes once its Workspace recovers",
		policy: policy(intstr.FromInt32(1)), generation: 5,
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{accepted(slot("a", "h"))}},
		applies:    applies(map[string]applyState{"a": ready("h")}),
		wantCounts: [4]int32{1, 0, 0, 0},
	}, {
		name:   "a slot follows its apply to a new rendering, even paused, and takes nothing more",
		policy: policy(intstr.FromInt32(1)), generation: 4,
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{slot("a", "h")}, Paused: pausedAt(4, "4-aaaa", "ns/b")},
		applies:    applies(map[string]applyState{"a": {Pending: "h2", Hash: "h"}, "c": waits("h")}),
		wantSlots:  []string{"a=h2"},
		wantPaused: true,
		wantCounts: [4]int32{0, 1, 0, 1},
	}, {
		name:   "a slot follows the rendering its apply wrote",
		policy: policy(intstr.FromInt32(1)), generation: 1,
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{slot("a", "h")}},
		applies:    applies(map[string]applyState{"a": applying("h0"), "c": waits("h")}),
		wantSlots:  []string{"a=h0"},
		wantCounts: [4]int32{0, 1, 0, 1},
	}, {
		name:   "the slot of an apply that is gone is freed",
		policy: policy(intstr.FromInt32(1)), generation: 1,
		status:     &infrav1.RolloutStatus{Slots: []infrav1.RolloutSlot{slot("gone", "h")}},
		applies:    applies(map[string]applyState{"c": waits("h")}),
		wantSlots:  []string{"c=h"},
		wantCounts: [4]int32{0, 1, 0, 0},
	}, {
		name:   "a canary selector that cannot select grants nothing",
		policy: policy(intstr.FromInt32(2)), generation: 1, selectErr: errors.New("bad key"),
		applies:    applies(map[string]applyState{"a": waits("h")}),
		wantPaused: true,
		wantCounts: [4]int32{0, 0, 0, 1},
	}, {
		name:   "a fixed canary selector grants again",
		policy: policy(intstr.FromInt32(2)), generation: 2,
		status:     &infrav1.RolloutStatus{Paused: &infrav1.RolloutPause{Reason: infrav1.RolloutSelectorInvalidReason, Generation: 1}},
		applies:    applies(map[string]applyState{"a": waits("h")}),
		wantSlots:  []string{"a=h"},
		wantCounts: [4]int32{0, 1, 0, 0},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before *infrav1.RolloutStatus
			if c.status != nil {
				before = c.status.DeepCopy()
			}
			got := allocate(rolloutInput{Policy: c.policy, Status: c.status, UID: "uid", Generation: c.generation, Resume: c.resume,
				Applies: c.applies, SelectorErr: c.selectErr, Now: metav1.NewTime(time.Unix(100, 0))})
			var slots []string
			for _, s := range got.Slots {
				d := strings.TrimPrefix(s.Apply, "ns/") + "=" + s.Hash
				if s.Accepted {
					d += "!"
				}
				slots = append(slots, d)
			}
			if !slices.Equal(slots, c.wantSlots) {
				t.Errorf("slots = %v, want %v", slots, c.wantSlots)
			}
			if (got.Paused != nil) != c.wantPaused {
				t.Errorf("paused = %+v, want paused %v", got.Paused, c.wantPaused)
			}
			if c.wantFailed != nil {
				if got.Paused == nil || !slices.Equal(got.Paused.Failed, c.wantFailed) || got.Paused.Token == "" ||
					got.Paused.Generation != c.generation || !strings.Contains(got.Paused.Message, got.Paused.Token) {
					t.Errorf("pause = %+v, want failed %v at generation %d with a token", got.Paused, c.wantFailed, c.generation)
				}
			}
			if counts := [4]int32{got.Updated, got.Applying, got.Failed, got.Waiting}; counts != c.wantCounts {
				t.Errorf("updated, applying, failed, waiting = %v, want %v", counts, c.wantCounts)
			}
			if c.status != nil && !reflect.DeepEqual(before, c.status) {
				t.Errorf("allocate changed its input")
			}
		})
	}
}

// TestPauseTokensDiffer: two pauses at one generation have two tokens, so that the
// resume of the first never resumes the second.
func TestPauseTokensDiffer(t *testing.T) {
	p1 := &infrav1.RolloutPause{Reason: infrav1.RolloutApplyFailedReason, Generation: 3, Failed: []string{"ns/a"}, Since: metav1.NewTime(time.Unix(10, 0))}
	p2 := p1.DeepCopy()
	p2.Since = metav1.NewTime(time.Unix(10, 5))
	if a, b := pauseToken("uid", p1), pauseToken("uid", p2); a == b || !strings.HasPrefix(a, "3-") {
		t.Errorf("tokens %q and %q", a, b)
	}
}
