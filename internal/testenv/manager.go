package testenv

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// SetupFunc registers controllers with mgr; c is the client they must use: it reads from
// the manager's cache, as in production, and counts every write.
type SetupFunc func(ctx context.Context, mgr ctrl.Manager, c client.Client) error

// StartManager runs controllers on the environment until the test ends and returns the
// counter of their writes.
func (e *Env) StartManager(t testing.TB, setup SetupFunc, options ...ManagerOption) *WriteCounter {
	t.Helper()
	counter, stop, err := e.RunManager(setup, options...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("manager stopped with an error: %v", err)
		}
	})
	return counter
}

// slowStop is how long a test manager may take to stop before its goroutines are dumped.
const slowStop = 15 * time.Second

// ManagerOption adjusts the test manager's options.
type ManagerOption func(*ctrl.Options)

// WithLogger gives the manager, and so every controller's reconcile logger, l.
func WithLogger(l logr.Logger) ManagerOption {
	return func(o *ctrl.Options) { o.Logger = l }
}

// RunManager starts a manager with the controllers setup registers; stop ends it.
func (e *Env) RunManager(setup SetupFunc, options ...ManagerOption) (counter *WriteCounter, stop func() error, err error) {
	mgrOpts := ctrl.Options{
		Scheme:                 e.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller: config.Controller{
			// Tests start several managers in one process.
			SkipNameValidation: ptr.To(true),
			// As in production (internal/manager): the priority queue of controller-runtime
			// v0.24.1 can hang a manager's stop (kubernetes-sigs/controller-runtime#3538).
			UsePriorityQueue: ptr.To(false),
		},
	}
	for _, o := range options {
		o(&mgrOpts)
	}
	mgr, err := ctrl.NewManager(e.Config, mgrOpts)
	if err != nil {
		return nil, nil, fmt.Errorf("creating manager: %w", err)
	}
	c, err := client.NewWithWatch(e.Config, client.Options{
		Scheme: e.Scheme,
		Cache:  &client.CacheOptions{Reader: mgr.GetCache(), Unstructured: true},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("creating client: %w", err)
	}
	counter, counting := NewWriteCounter(c)
	ctx, cancel := context.WithCancel(context.Background())
	if err := setup(ctx, mgr, counting); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("setting up controllers: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	stop = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(slowStop):
			// A manager that does not stop in time has a runnable stuck somewhere: the
			// stacks name it, where the manager's own error only says that it waited.
			_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			return <-done
		}
	}
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		_ = stop()
		return nil, nil, fmt.Errorf("manager cache did not sync")
	}
	return counter, stop, nil
}
