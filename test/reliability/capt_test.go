package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/capt-dev/capt/internal/logging"
	"github.com/capt-dev/capt/internal/manager"
)

// errCrashed is what every write of a crashed manager returns: the process is gone.
var errCrashed = errors.New("the manager crashed (test fault)")

// write is one write CAPT's manager sent, in the order it returned.
type write struct {
	verb, kind, key string
	// nth says which write of its verb and kind it is in the scenario: 1 for the first.
	nth int
}

func (w write) String() string { return w.verb + " " + w.kind + " " + w.key }

// step names a write by its verb and kind and which one of them it is ("patch/status
// CAPTControlPlane #3"): the same step in every lifecycle, although the order of writes
// to different objects, and their positions, differ from one lifecycle to the next.
func (w write) step() string { return fmt.Sprintf("%s %s #%d", w.verb, w.kind, w.nth) }

// crashPoint says whether the manager crashes right after w, its n-th successful write.
type crashPoint func(n int, w write) bool

// runOptions adjust one run of the manager.
type runOptions struct {
	crash crashPoint
	// logger replaces the captured test logger (the canary test brings its own).
	logger *logr.Logger
	args   []string
}

// captRun is one run of CAPT's production manager, as managerUser.
type captRun struct {
	cancel  context.CancelFunc
	done    chan error
	crashed chan struct{}
	// crashedAfter is the write the run crashed after; set before crashed is closed.
	crashedAfter write
	logs         *logCapture

	haltOnce sync.Once
	haltErr  error
}

// startCAPT starts the production manager (manager.New and every controller) with the
// flags a deployment would pass, and returns once its caches are synced.
func startCAPT(t testing.TB, w *writeLog, o runOptions) *captRun {
	t.Helper()
	r, err := runCAPT(w, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runCAPT is startCAPT for goroutines other than the test's.
func runCAPT(w *writeLog, o runOptions) (*captRun, error) {
	opts := manager.NewOptions()
	fs := pflag.NewFlagSet("capt manager", pflag.ContinueOnError)
	opts.AddFlags(fs)
	args := append([]string{"--health-addr=0", "--diagnostics-address=0"}, o.args...)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	r := &captRun{done: make(chan error, 1), crashed: make(chan struct{}), logs: &logCapture{}}
	logger := r.logs.logger()
	if o.logger != nil {
		logger = *o.logger
	}
	var crashOnce sync.Once
	crash := func(after write) {
		crashOnce.Do(func() {
			r.crashedAfter = after
			close(r.crashed)
		})
	}
	mgr, err := manager.New(managerConfig, opts, func(co *ctrl.Options) {
		co.Logger = logger
		// Several managers run one after another in this process.
		co.Controller.SkipNameValidation = ptr.To(true)
		co.NewClient = func(cfg *rest.Config, options client.Options) (client.Client, error) {
			c, err := client.NewWithWatch(cfg, options)
			if err != nil {
				return nil, err
			}
			return w.wrap(c, r.crashed, o.crash, crash), nil
		}
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	if err := manager.SetupControllers(ctx, mgr, opts); err != nil {
		cancel()
		return nil, err
	}
	go func() { r.done <- mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		cancel()
		return nil, errors.New("the manager's cache did not sync")
	}
	return r, nil
}

// stop stops the manager and waits for it, dumping goroutines if it hangs.
func (r *captRun) stop(t testing.TB) {
	t.Helper()
	if err := r.halt(); err != nil {
		t.Error(err)
	}
}

// halt stops the manager once; later calls return the first call's result.
func (r *captRun) halt() error {
	r.haltOnce.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				r.haltErr = fmt.Errorf("manager stopped with an error: %w", err)
			}
		case <-time.After(40 * time.Second):
			_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			r.haltErr = errors.New("the manager did not stop within 40s")
		}
	})
	return r.haltErr
}

// supervisor plays the Deployment's restart policy: when the manager crashes it is
// started again (without a crash point), once per crash.
type supervisor struct {
	mu sync.Mutex
	// runs are the manager's runs, the current one last.
	runs []*captRun
	errs []error
	done chan struct{}
	quit chan struct{}

	stopOnce sync.Once
	crashes  []write
}

func supervise(t testing.TB, w *writeLog, o runOptions) *supervisor {
	t.Helper()
	s := &supervisor{runs: []*captRun{startCAPT(t, w, o)}, done: make(chan struct{}), quit: make(chan struct{})}
	// A test that failed before its stop still stops the manager, and says why one did
	// not restart (a manager that could not stop is the likeliest cause of its failure).
	t.Cleanup(func() { s.stop(t) })
	go func() {
		defer close(s.done)
		for {
			s.mu.Lock()
			run := s.runs[len(s.runs)-1]
			s.mu.Unlock()
			select {
			case <-s.quit:
				return
			case <-run.crashed:
			}
			err := run.halt()
			if err == nil || errors.Is(err, errCrashed) {
				var next *captRun
				next, err = runCAPT(w, runOptions{args: o.args})
				if err == nil {
					s.mu.Lock()
					s.runs = append(s.runs, next)
					s.mu.Unlock()
					continue
				}
			}
			s.mu.Lock()
			s.errs = append(s.errs, err)
			s.mu.Unlock()
			return
		}
	}()
	return s
}

// stop stops the supervision and the manager running now; it returns the writes after
// which a run crashed, one per crash. A run that crashed counts even if it was not
// restarted: a crash after the lifecycle's last write needs no restart to converge, and
// the supervision may stop before it restarts the manager. Later calls return the first
// call's crashes.
func (s *supervisor) stop(t testing.TB) []write {
	t.Helper()
	s.stopOnce.Do(func() {
		close(s.quit)
		<-s.done
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, err := range s.errs {
			t.Error(err)
		}
		s.runs[len(s.runs)-1].stop(t)
		for _, run := range s.runs {
			select {
			case <-run.crashed:
				s.crashes = append(s.crashes, run.crashedAfter)
			default:
			}
		}
	})
	return s.crashes
}

// writeLog records every write of every run of a scenario, across crashes.
type writeLog struct {
	mu      sync.Mutex
	writes  []write
	deletes map[string]int
	// byVerbAndKind counts the writes of each verb and kind.
	byVerbAndKind map[string]int
}

func newWriteLog() *writeLog {
	return &writeLog{deletes: map[string]int{}, byVerbAndKind: map[string]int{}}
}

// count returns how many writes of verb and kind the log holds.
func (l *writeLog) count(verb, kind string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byVerbAndKind[verb+" "+kind]
}

// all returns the writes so far.
func (l *writeLog) all() []write {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]write(nil), l.writes...)
}

// deletedMoreThanOnce lists the objects deleted more than once.
func (l *writeLog) deletedMoreThanOnce() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for key, n := range l.deletes {
		if n > 1 {
			out = append(out, fmt.Sprintf("%s (%d deletes)", key, n))
		}
	}
	return out
}

// wrap returns c recording its writes; after the write crash selects, the manager is
// crashed: that write reached the API server, no later one does.
func (l *writeLog) wrap(c client.WithWatch, crashed <-chan struct{}, at crashPoint, crash func(after write)) client.WithWatch {
	scheme := c.Scheme()
	do := func(verb string, obj runtime.Object, send func() error) error {
		select {
		case <-crashed:
			return errCrashed
		default:
		}
		if err := send(); err != nil {
			return err
		}
		w := write{verb: verb, kind: kindOf(scheme, obj), key: keyOf(obj)}
		l.mu.Lock()
		l.byVerbAndKind[verb+" "+w.kind]++
		w.nth = l.byVerbAndKind[verb+" "+w.kind]
		l.writes = append(l.writes, w)
		n := len(l.writes)
		if verb == "delete" {
			l.deletes[w.kind+" "+w.key]++
		}
		l.mu.Unlock()
		if at != nil && at(n, w) {
			crash(w)
		}
		return nil
	}
	return interceptor.NewClient(c, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			return do("create", obj, func() error { return c.Create(ctx, obj, opts...) })
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			return do("update", obj, func() error { return c.Update(ctx, obj, opts...) })
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			return do("patch", obj, func() error { return c.Patch(ctx, obj, patch, opts...) })
		},
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			return do("apply", nil, func() error { return c.Apply(ctx, obj, opts...) })
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			return do("delete", obj, func() error { return c.Delete(ctx, obj, opts...) })
		},
		DeleteAllOf: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteAllOfOption) error {
			return do("deletecollection", obj, func() error { return c.DeleteAllOf(ctx, obj, opts...) })
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			return do("update/"+sub, obj, func() error { return c.SubResource(sub).Update(ctx, obj, opts...) })
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			return do("patch/"+sub, obj, func() error { return c.SubResource(sub).Patch(ctx, obj, patch, opts...) })
		},
	})
}

func kindOf(scheme *runtime.Scheme, obj runtime.Object) string {
	if obj == nil {
		return "Workspace" // CAPT's only server-side apply
	}
	if gvk, err := apiutil.GVKForObject(obj, scheme); err == nil {
		return gvk.Kind
	}
	return "unknown"
}

func keyOf(obj runtime.Object) string {
	if o, ok := obj.(client.Object); ok {
		return client.ObjectKeyFromObject(o).String()
	}
	return ""
}

// logCapture keeps every log line of a run and counts error-level lines.
type logCapture struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	errors atomic.Int64
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// errorLines returns the error-level lines.
func (c *logCapture) errorLines() []string {
	var out []string
	for _, line := range strings.Split(c.String(), "\n") {
		if strings.Contains(line, `"level":"error"`) {
			out = append(out, line)
		}
	}
	return out
}

// logger logs at info level and above into the capture, as CAPT does by default.
func (c *logCapture) logger() logr.Logger {
	l := zap.New(zap.WriteTo(c), zap.Level(zapcore.InfoLevel), zap.StacktraceLevel(zapcore.PanicLevel))
	return logging.DropBodies(logr.New(&errorCounter{LogSink: l.GetSink(), n: &c.errors}))
}

// errorCounter counts error-level lines.
type errorCounter struct {
	logr.LogSink
	n *atomic.Int64
}

func (s *errorCounter) Error(err error, msg string, kv ...any) {
	s.n.Add(1)
	s.LogSink.Error(err, msg, kv...)
}

func (s *errorCounter) WithValues(kv ...any) logr.LogSink {
	return &errorCounter{LogSink: s.LogSink.WithValues(kv...), n: s.n}
}

func (s *errorCounter) WithName(name string) logr.LogSink {
	return &errorCounter{LogSink: s.LogSink.WithName(name), n: s.n}
}
