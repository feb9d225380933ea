package testenv

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// WaitTimeout bounds how long a test waits for the controllers to converge. It is a
// deadline against hangs, not a performance assertion; benchmarks measure speed.
const WaitTimeout = 30 * time.Second

// Eventually retries check until it returns nil, failing the test with its last error
// after WaitTimeout.
func Eventually(t testing.TB, what string, check func() error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(WaitTimeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = check(); err == nil {
			return
		}
	}
	t.Fatalf("%s: still not true after %s: %v", what, WaitTimeout, err)
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
