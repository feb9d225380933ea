// Package logging keeps request and response bodies out of CAPT's logs. At verbosity 8
// and above client-go logs every request and response body through the logger of the
// request's context, or klog's global logger when the context has none (informers' lists
// and watches): Secrets, kubeconfigs and Terraform variables included. CAPT's loggers,
// klog's global one among them, drop those lines whatever the verbosity; the rest of the
// debug output stays.
package logging

import (
	"io"
	"log/slog"
	"os"
	"reflect"

	"github.com/go-logr/logr"
	logsv1 "k8s.io/component-base/logs/api/v1"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/textlogger"
)

// bodyMessages are the messages client-go logs bodies with.
var bodyMessages = map[string]bool{"Request Body": true, "Response Body": true}

// Setup applies the logging flags (k8s.io/component-base/logs/api/v1: format, verbosity,
// vmodule) and returns the logger to give controller-runtime; client-go's body lines are
// dropped from it AND from klog's global logger.
func Setup(c *logsv1.LoggingConfiguration) (logr.Logger, error) {
	return setup(c, os.Stderr)
}

// setup is Setup writing to out instead of stderr, for tests. Like
// logsv1.ValidateAndApply, it may run once per process (logsv1.ResetForTest allows
// another run).
func setup(c *logsv1.LoggingConfiguration, out io.Writer) (logr.Logger, error) {
	if err := logsv1.ValidateAndApplyWithOptions(c, &logsv1.LoggingOptions{ErrorStream: out, InfoStream: out}, nil); err != nil {
		return logr.Logger{}, err
	}
	return install(c, out), nil
}

// install wraps klog's global logger with DropBodies and installs the result as klog's
// global logger, for klog's calls and for klog.FromContext without a logger in the
// context. It returns the wrapped logger.
//
// component-base's apply installs a logr logger on klog for every format (for the text
// format a textlogger writing to out), with contextual logging on: klog.Background()
// returns it, and wrapping it keeps component-base's output, verbosity and vmodule
// settings. Were it klog's own logger instead (no logger installed), wrapping it would
// recurse forever: klog's own logger writes through klog's global logger, which would
// be the wrapper. In that case an independent textlogger with the configured verbosity
// and vmodule takes its place.
func install(c *logsv1.LoggingConfiguration, out io.Writer) logr.Logger {
	base := klog.Background()
	if isKlogItself(base) {
		cfg := textlogger.NewConfig(textlogger.Verbosity(int(c.Verbosity)), textlogger.Output(out))
		// The configuration was validated: the vmodule string parses.
		_ = cfg.VModule().Set(logsv1.VModuleConfigurationPflag(&c.VModule).String())
		base = textlogger.NewLogger(cfg)
	}
	wrapped := DropBodies(base)
	opts := []klog.LoggerOption{klog.ContextualLogger(true)}
	if w, ok := base.GetSink().(textlogger.KlogBufferWriter); ok {
		// klog's printf-style calls keep klog's own header, as component-base sets it up.
		// They carry no client-go body lines.
		opts = append(opts, klog.WriteKlogBuffer(w.WriteKlogBuffer))
	}
	// component-base started klog's flush daemon, which reads the logger's options: stop
	// it while they change.
	klog.StopFlushDaemon()
	klog.SetLoggerWithOptions(wrapped, opts...)
	klog.StartFlushDaemon(c.FlushFrequency.Duration.Duration)
	// component-base pointed slog's default at the unwrapped logger.
	slog.SetDefault(slog.New(logr.ToSlogHandler(wrapped)))
	return wrapped
}

// isKlogItself reports whether l is klog's own logger, which writes through klog's
// global logger.
func isKlogItself(l logr.Logger) bool {
	return reflect.TypeOf(l.GetSink()) == reflect.TypeOf(klog.NewKlogr().GetSink())
}

// DropBodies returns l without client-go's request and response body lines.
func DropBodies(l logr.Logger) logr.Logger {
	s := l.GetSink()
	if s == nil {
		return l
	}
	// The wrapper's methods are one more frame between the caller and the sink; tell a
	// sink that reports its caller (or checks vmodule) about it. WithSink, unlike
	// logr.New, does not Init the shared sink again.
	if cd, ok := s.(logr.CallDepthLogSink); ok {
		s = cd.WithCallDepth(1)
	}
	return l.WithSink(&sink{LogSink: s})
}

// sink forwards everything but the body lines. Enabled, Info and Error are written out
// so that each is exactly one frame, as DropBodies' call depth assumes.
type sink struct {
	logr.LogSink
}

func (s *sink) Enabled(level int) bool {
	return s.LogSink.Enabled(level)
}

func (s *sink) Info(level int, msg string, keysAndValues ...any) {
	if bodyMessages[msg] {
		return
	}
	s.LogSink.Info(level, msg, keysAndValues...)
}

func (s *sink) Error(err error, msg string, keysAndValues ...any) {
	s.LogSink.Error(err, msg, keysAndValues...)
}

func (s *sink) WithValues(keysAndValues ...any) logr.LogSink {
	return &sink{LogSink: s.LogSink.WithValues(keysAndValues...)}
}

func (s *sink) WithName(name string) logr.LogSink {
	return &sink{LogSink: s.LogSink.WithName(name)}
}

// WithCallDepth keeps caller information right when the wrapped sink reports it.
func (s *sink) WithCallDepth(depth int) logr.LogSink {
	if cd, ok := s.LogSink.(logr.CallDepthLogSink); ok {
		return &sink{LogSink: cd.WithCallDepth(depth)}
	}
	return s
}
