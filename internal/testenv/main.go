package testenv

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/go-logr/logr"
	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// RunOption changes how Run gets its environment.
type RunOption int

// Reusable says that the package's tests may run on a server make mutate shares between
// test binaries, brought back first to the state it had when it started (shared.go).
// They must neither stop nor restart the API server nor add users (UserConfig).
const Reusable RunOption = 1

// Run is a TestMain body: it starts the environment, hands it to setup (which may store
// it in a package variable), runs the tests and stops the environment.
func Run(m *testing.M, setup func(*Env), options ...RunOption) {
	ctrl.SetLogger(testLogger())
	env, err := start(slices.Contains(options, Reusable))
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(1)
	}
	setup(env)
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// start attaches to the shared server SharedServerEnv names when the package is
// Reusable, and starts a server of its own otherwise or when that server cannot be
// brought back to its snapshot.
func start(reusable bool) (*Env, error) {
	dir := os.Getenv(SharedServerEnv)
	if !reusable || dir == "" {
		return Start()
	}
	e, err := attach(context.Background(), dir)
	if err == nil {
		return e, nil
	}
	fmt.Fprintf(os.Stderr, "testenv: %v; starting a server of its own\n", err)
	return Start()
}

// testLogger logs errors only, unless CAPT_TEST_LOG_LEVEL sets a verbosity (0 info, 1-5 debug).
func testLogger() logr.Logger {
	level := zapcore.ErrorLevel
	if v, err := strconv.Atoi(os.Getenv("CAPT_TEST_LOG_LEVEL")); err == nil {
		level = zapcore.Level(-v)
	}
	return zap.New(zap.WriteTo(os.Stderr), zap.Level(level), zap.StacktraceLevel(zapcore.PanicLevel))
}
