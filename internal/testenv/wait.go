package testenv

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// WaitTimeout bounds how long a test waits for the controllers to converge. It is a
// deadline against hangs, not a performance assertion; benchmarks measure speed.
//
// CAPT_WAIT_TIMEOUT (a duration) replaces it. make mutate sets it shorter: there most
// mutations are killed by a test waiting out this deadline for a convergence the
// mutation prevents, so the deadline is most of what a kill costs. A shorter deadline
// proves the same only while every wait that must succeed does so well within it:
// under CAPT_WAIT_TIMEOUT, each such wait that took a second or more is logged (see
// ConvergedPrefix), and make mutate reports the longest (docs/reliability.md, make mutate).
var WaitTimeout = waitTimeout()

// ConvergedPrefix starts the log line of a wait that succeeded after a second or more,
// under CAPT_WAIT_TIMEOUT: "<prefix> 1.25s: <what>". hack/mutate reads it.
const ConvergedPrefix = "testenv: converged after"

// reportWaits says whether successful waits are logged: only when a run chose its own
// deadline, so that a plain go test -v says nothing new.
var reportWaits = os.Getenv("CAPT_WAIT_TIMEOUT") != ""

func waitTimeout() time.Duration {
	if v := os.Getenv("CAPT_WAIT_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			// A typo must not turn every wait into an instant failure (or a hang).
			panic(fmt.Sprintf("CAPT_WAIT_TIMEOUT=%q: want a positive duration such as 10s", v))
		}
		return d
	}
	return 30 * time.Second
}

// Eventually retries check until it returns nil, failing the test with its last error
// after WaitTimeout.
func Eventually(t testing.TB, what string, check func() error) {
	t.Helper()
	var err error
	start := time.Now()
	for deadline := start.Add(WaitTimeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = check(); err == nil {
			Converged(t, what, time.Since(start))
			return
		}
	}
	t.Fatalf("%s: still not true after %s: %v", what, WaitTimeout, err)
}

// EventuallyProgress waits until count reaches want. A process that gets there step by
// step (a staged rollout, batch by batch) takes longer the more there is to do: the
// deadline bounds each step of progress (count growing), which is what a stuck process
// misses, not the whole.
func EventuallyProgress(t testing.TB, what string, want int, count func() (int, error)) {
	t.Helper()
	for done := -1; done < want; {
		Eventually(t, fmt.Sprintf("%s: more than %d of %d", what, max(done, 0), want), func() error {
			n, err := count()
			if n >= want || n > done {
				done = n
				return nil
			}
			if err == nil {
				err = fmt.Errorf("%d of %d", n, want)
			}
			return err
		})
	}
}

// Converged logs a successful wait of a second or more when reportWaits is on. Waits of
// their own (test/reliability's scenarios) call it too, so make mutate sees them.
func Converged(t testing.TB, what string, took time.Duration) {
	t.Helper()
	if reportWaits && took >= time.Second {
		t.Logf("%s %.2fs: %s", ConvergedPrefix, took.Seconds(), what)
	}
}

// Consistently checks that check keeps returning nil for d.
func Consistently(t testing.TB, what string, d time.Duration, check func() error) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := check(); err != nil {
			t.Fatalf("%s: stopped being true: %v", what, err)
		}
	}
}

// Gone returns nil once obj no longer exists on the API server.
func (e *Env) Gone(obj client.Object) error {
	err := e.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("reading %s: %w", obj.GetName(), err)
	default:
		return fmt.Errorf("%T %s still exists", obj, obj.GetName())
	}
}
