// Package benchkit is what the benchmark programs share: CAPT's manager started the way
// production starts it, with its writes and log lines counted.
package benchkit

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/capt-dev/capt/internal/manager"
	"github.com/capt-dev/capt/internal/testenv"
)

// Manager is CAPT's manager under measurement.
type Manager struct {
	Writes *testenv.WriteCounter
	// InfoLines counts log lines at info level or above.
	InfoLines atomic.Int64
}

// lineCounter counts the lines a logger writes and discards them.
type lineCounter struct{ n *atomic.Int64 }

func (l lineCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			l.n.Add(1)
		}
	}
	return len(p), nil
}

// StartManager runs CAPT's manager with its default flags (plus args) on env: the
// production code path, with the client counting writes and the logger counting lines.
func StartManager(ctx context.Context, env *testenv.Env, args ...string) (*Manager, error) {
	return StartManagerOn(ctx, env.Config, args...)
}

// StartManagerOn is StartManager with the manager's client configuration given (one
// that Requests wraps, say).
func StartManagerOn(ctx context.Context, cfg *rest.Config, args ...string) (*Manager, error) {
	m := &Manager{}
	ctrl.SetLogger(zap.New(zap.WriteTo(lineCounter{&m.InfoLines}), zap.Level(zapcore.InfoLevel)))
	opts := manager.NewOptions()
	fs := pflag.NewFlagSet("bench", pflag.ContinueOnError)
	opts.AddFlags(fs)
	if err := fs.Parse(append([]string{"--health-addr=0", "--diagnostics-address=0"}, args...)); err != nil {
		return nil, err
	}
	mgr, err := manager.New(cfg, opts, func(o *ctrl.Options) {
		o.NewClient = func(cfg *rest.Config, co client.Options) (client.Client, error) {
			c, err := client.NewWithWatch(cfg, co)
			if err != nil {
				return nil, err
			}
			counter, wrapped := testenv.NewWriteCounter(c)
			m.Writes = counter
			return wrapped, nil
		}
	})
	if err != nil {
		return nil, err
	}
	if err := manager.SetupControllers(ctx, mgr, opts); err != nil {
		return nil, err
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	return m, nil
}

// WaitFor polls cond every 20 ms for up to 5 minutes.
func WaitFor(ctx context.Context, cond func() (bool, error)) error {
	return wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 5*time.Minute, true, func(context.Context) (bool, error) { return cond() })
}

// Percentile of sorted durations, p in 1..100.
func Percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := min(max((len(sorted)*p+99)/100-1, 0), len(sorted)-1)
	return sorted[i].Round(time.Millisecond)
}

// Sorted returns the values of m, sorted.
func Sorted(m map[string]time.Duration) []time.Duration {
	out := make([]time.Duration, 0, len(m))
	for _, d := range m {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}
