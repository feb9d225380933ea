package workspaceapply

import (
	"encoding/json"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// TestAccount is the drift accounting's table: a generation explains one update, an
// update no generation explains is drift, a new Event counts once, nothing is written
// for updates the generations explain, and nothing before the Workspace's first Ready.
func TestAccount(t *testing.T) {
	const uid = types.UID("ws-1")
	t0 := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	ev := func(name string, count int32, at metav1.Time) updateEvent {
		return updateEvent{name: name, count: count, time: at}
	}
	acc := func(gen, unmatched int64, events ...infrav1.AccountedEvent) *infrav1.DriftAccounting {
		return &infrav1.DriftAccounting{WorkspaceUID: uid, WorkspaceGeneration: gen, UnmatchedChanges: unmatched, Events: events}
	}
	seen := func(name string, count int32) infrav1.AccountedEvent {
		return infrav1.AccountedEvent{Name: name, Count: count}
	}
	settled := &infrav1.WorkspaceDrift{Accounted: acc(2, 0, seen("a", 1))}

	for _, tc := range []struct {
		name       string
		prev       *infrav1.WorkspaceDrift
		uid        types.UID
		generation int64
		notReady   bool
		events     []updateEvent
		want       *infrav1.WorkspaceDrift
		reverted   int32
		same       bool // prev itself returned: nothing to write
	}{{
		name: "before the first Ready nothing is accounted: a failed creation's update is the creation's",
		uid:  uid, generation: 1, notReady: true, events: []updateEvent{ev("a", 1, t0)},
		same: true,
	}, {
		name: "the first Ready starts the accounting with the updates so far",
		uid:  uid, generation: 1, events: []updateEvent{ev("a", 1, t0)},
		want: &infrav1.WorkspaceDrift{Accounted: acc(1, 0, seen("a", 1))},
	}, {
		name: "a new Workspace starts anew, the count of the earlier one stays",
		prev: &infrav1.WorkspaceDrift{Count: 3, LastRevertedTime: &t0, Accounted: &infrav1.DriftAccounting{WorkspaceUID: "old", WorkspaceGeneration: 9, Events: []infrav1.AccountedEvent{seen("x", 5)}}},
		uid:  uid, generation: 1,
		want: &infrav1.WorkspaceDrift{Count: 3, LastRevertedTime: &t0, Accounted: acc(1, 0)},
	}, {
		name: "at rest nothing changes",
		prev: settled, uid: uid, generation: 2, events: []updateEvent{ev("a", 1, t0)},
		same: true,
	}, {
		name: "an Event gone (expired) is not written away at rest",
		prev: settled, uid: uid, generation: 2,
		same: true,
	}, {
		name: "a change and its update: explained, nothing to write",
		prev: settled, uid: uid, generation: 3, events: []updateEvent{ev("a", 2, t1)},
		same: true,
	}, {
		name: "a change whose update is a new Event: explained, the Event written",
		prev: settled, uid: uid, generation: 3, events: []updateEvent{ev("a", 1, t0), ev("b", 1, t1)},
		want: &infrav1.WorkspaceDrift{Accounted: acc(3, 0, seen("a", 1), seen("b", 1))},
	}, {
		name: "an update with the spec unchanged is drift, at the Event's time",
		prev: settled, uid: uid, generation: 2, events: []updateEvent{ev("a", 2, t1)},
		want:     &infrav1.WorkspaceDrift{Count: 1, LastRevertedTime: &t1, Accounted: acc(2, 0, seen("a", 2))},
		reverted: 1,
	}, {
		name: "two updates after one change: one is drift",
		prev: settled, uid: uid, generation: 3, events: []updateEvent{ev("a", 3, t1)},
		want:     &infrav1.WorkspaceDrift{Count: 1, LastRevertedTime: &t1, Accounted: acc(3, 0, seen("a", 3))},
		reverted: 1,
	}, {
		name: "a new Event counts once whatever its count (an expired Event recorded again)",
		prev: settled, uid: uid, generation: 2, events: []updateEvent{ev("b", 7, t1)},
		want:     &infrav1.WorkspaceDrift{Count: 1, LastRevertedTime: &t1, Accounted: acc(2, 0, seen("b", 7))},
		reverted: 1,
	}, {
		name: "changes without their own update stay unmatched and explain a later update",
		prev: settled, uid: uid, generation: 4, events: []updateEvent{ev("a", 1, t0), ev("b", 1, t1)},
		want: &infrav1.WorkspaceDrift{Accounted: acc(4, 1, seen("a", 1), seen("b", 1))},
	}, {
		name: "unmatched changes carried over explain updates",
		prev: &infrav1.WorkspaceDrift{Accounted: acc(4, 1, seen("a", 1))}, uid: uid, generation: 4, events: []updateEvent{ev("a", 2, t1)},
		same: true,
	}, {
		name: "a count that went down is no update",
		prev: &infrav1.WorkspaceDrift{Accounted: acc(2, 0, seen("a", 4))}, uid: uid, generation: 2, events: []updateEvent{ev("a", 3, t1)},
		same: true,
	}, {
		name: "drift adds to the count",
		prev: &infrav1.WorkspaceDrift{Count: 2, LastRevertedTime: &t0, Accounted: acc(2, 0, seen("a", 4))}, uid: uid, generation: 2, events: []updateEvent{ev("a", 6, t1)},
		want:     &infrav1.WorkspaceDrift{Count: 4, LastRevertedTime: &t1, Accounted: acc(2, 0, seen("a", 6))},
		reverted: 2,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, reverted := account(tc.prev, tc.uid, tc.generation, !tc.notReady, tc.events)
			if tc.same {
				if got != tc.prev || reverted != 0 {
					t.Errorf("got %+v (%d reverted), want the previous status unchanged", got, reverted)
				}
				return
			}
			if got == tc.prev {
				t.Fatal("the previous status itself was returned, want a new one to write")
			}
			if !equality.Semantic.DeepEqual(tc.want, got) || reverted != tc.reverted {
				t.Errorf("got %s (%d reverted), want %s (%d)", show(got), reverted, show(tc.want), tc.reverted)
			}
		})
	}
}

func show(d *infrav1.WorkspaceDrift) string {
	b, _ := json.Marshal(d)
	return string(b)
}

// TestAccountedKeepsTheNewest bounds the accounted Events to the CRD's maxItems, the
// newest kept.
func TestAccountedKeepsTheNewest(t *testing.T) {
	events := make([]updateEvent, 0, maxAccountedEvents+2)
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range maxAccountedEvents + 2 {
		events = append(events, updateEvent{name: string(rune('a' + i)), count: 1, time: metav1.NewTime(base.Add(time.Duration(i) * time.Second))})
	}
	got := accounted(events)
	if len(got) != maxAccountedEvents || got[0].Name != "c" {
		t.Errorf("accounted = %+v, want the %d newest from c", got, maxAccountedEvents)
	}
}
