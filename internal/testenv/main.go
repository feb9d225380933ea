package testenv

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/go-logr/logr"
	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// Run is a TestMain body: it starts the environment, hands it to setup (which may store
// it in a package variable), runs the tests and stops the environment.
func Run(m *testing.M, setup func(*Env)) {
	ctrl.SetLogger(testLogger())
	env, err := Start()
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

// testLogger logs errors only, unless CAPT_TEST_LOG_LEVEL sets a verbosity (0 info, 1-5 debug).
func testLogger() logr.Logger {
	level := zapcore.ErrorLevel
	if v, err := strconv.Atoi(os.Getenv("CAPT_TEST_LOG_LEVEL")); err == nil {
		level = zapcore.Level(-v)
	}
	return zap.New(zap.WriteTo(os.Stderr), zap.Level(level), zap.StacktraceLevel(zapcore.PanicLevel))
}
