package workspace

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSyncFailed: a failed reconcile counts for the current spec when the provider says
// it was for the current generation, or says nothing of generations; a failure the
// provider reported for the spec before (a Workspace CAPT has just changed) does not.
func TestSyncFailed(t *testing.T) {
	ws := func(generation int64, conds ...Condition) *Workspace {
		return &Workspace{ObjectMeta: metav1.ObjectMeta{Generation: generation}, Status: Status{Conditions: conds}}
	}
	failed := func(observed int64) Condition {
		return Condition{Type: ConditionSynced, Status: metav1.ConditionFalse, ObservedGeneration: observed}
	}
	ready := func(observed int64) Condition {
		return Condition{Type: ConditionReady, Status: metav1.ConditionTrue, ObservedGeneration: observed}
	}
	cases := []struct {
		name string
		w    *Workspace
		want bool
	}{
		{"synced", ws(2, Condition{Type: ConditionSynced, Status: metav1.ConditionTrue}), false},
		{"failed for the current generation", ws(2, failed(2), ready(1)), true},
		{"failed for the spec before", ws(2, failed(1), ready(1)), false},
		{"no generation anywhere (provider-terraform v0.21)", ws(2, failed(0), ready(0)), true},
		{"no generation on Synced, Ready of the spec before", ws(2, failed(0), ready(1)), false},
		{"no generation on Synced, Ready of the current spec", ws(2, failed(0), ready(2)), true},
	}
	for _, c := range cases {
		if got := c.w.SyncFailed(); got != c.want {
			t.Errorf("%s: SyncFailed = %v, want %v", c.name, got, c.want)
		}
	}
}
