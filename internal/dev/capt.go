package dev

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/spf13/pflag"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/capt-dev/capt/internal/logging"
	"github.com/capt-dev/capt/internal/manager"
)

// globalLogger sets controller-runtime's process-wide logger once, to the first
// manager's log: each manager logs to its own file (ctrl.Options.Logger), and the
// process-wide logger only gets what is no manager's.
var globalLogger sync.Once

// StartCAPT runs CAPT's manager, as `capt manager` runs it (default flags plus args), in
// this process, logging JSON lines to logPath. stop ends it and waits. It may run more
// than once in a process, on several API servers (test/move: the source and the target
// of clusterctl move), each manager logging to its own file.
func StartCAPT(cfg *rest.Config, logPath string, args ...string) (stop func() error, err error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening CAPT's log: %w", err)
	}
	logger := logging.DropBodies(zap.New(zap.WriteTo(log), zap.Level(zapcore.InfoLevel)))
	globalLogger.Do(func() { ctrl.SetLogger(logger) })
	opts := manager.NewOptions()
	fs := pflag.NewFlagSet("capt manager", pflag.ContinueOnError)
	opts.AddFlags(fs)
	// Health and diagnostics endpoints are not needed here; the ports stay free.
	if err := fs.Parse(append([]string{"--health-addr=0", "--diagnostics-address=0"}, args...)); err != nil {
		_ = log.Close()
		return nil, err
	}
	mgr, err := manager.New(cfg, opts, func(o *ctrl.Options) {
		o.Logger = logger
		// controller-runtime refuses a second controller of one name in a process, which
		// a second manager here is.
		o.Controller.SkipNameValidation = ptr.To(true)
	})
	if err != nil {
		_ = log.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := manager.SetupControllers(ctx, mgr, opts); err != nil {
		cancel()
		_ = log.Close()
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return func() error {
		cancel()
		err := <-done
		_ = log.Close()
		if err != nil {
			return fmt.Errorf("CAPT's manager: %w", err)
		}
		return nil
	}, nil
}
