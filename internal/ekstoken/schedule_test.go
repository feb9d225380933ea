package ekstoken

import (
	"fmt"
	"testing"
	"time"
)

func TestRefreshAt(t *testing.T) {
	const interval = 10 * time.Minute
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, key := range []string{"uid-a", "uid-b", "uid-c"} {
		// The first refresh comes within an interval of the first token.
		at := RefreshAt(t0, interval, key)
		if !at.After(t0) || at.Sub(t0) > interval {
			t.Fatalf("%s: first refresh at +%s, want within (0, %s]", key, at.Sub(t0), interval)
		}
		// A clock that runs the reconciler at each refresh time, late by up to 3 s: each
		// token is then replaced exactly one interval after the previous refresh time.
		clock := at
		for i := range 6 {
			signed := clock.Add(time.Duration(i%4) * time.Second).Truncate(time.Second)
			next := RefreshAt(signed, interval, key)
			if next.Sub(clock) != interval {
				t.Errorf("%s round %d: refresh %s after the previous one, want %s", key, i, next.Sub(clock), interval)
			}
			if age := next.Sub(signed); age > interval {
				t.Errorf("%s round %d: token %s old at its refresh, want at most %s", key, i, age, interval)
			}
			clock = next
		}
	}
}

func TestRefreshAtSpreadsClusters(t *testing.T) {
	// A thousand clusters whose tokens were all signed in the same second refresh in
	// many different seconds of the interval.
	const interval = 10 * time.Minute
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	perSecond := map[int64]int{}
	for i := range 1000 {
		perSecond[RefreshAt(t0, interval, fmt.Sprintf("cluster-%d", i)).Unix()]++
	}
	busiest := 0
	for _, n := range perSecond {
		busiest = max(busiest, n)
	}
	if len(perSecond) < 400 || busiest > 10 {
		t.Errorf("1000 clusters refresh in %d distinct seconds, at most %d in one; want them spread over the %s", len(perSecond), busiest, interval)
	}
}

func TestRefreshAtSubSecondInterval(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	if at := RefreshAt(t0, 300*time.Millisecond, "k"); at.Sub(t0) != time.Second {
		t.Errorf("interval below a second: refresh at +%s, want +1s", at.Sub(t0))
	}
}
