// Package logging keeps request and response bodies out of CAPT's logs. At verbosity 8
// and above client-go logs every request and response body through the logger of the
// request's context: Secrets, kubeconfigs and Terraform variables included. CAPT's
// loggers drop those lines whatever the verbosity; the rest of the debug output stays.
package logging

import (
	"github.com/go-logr/logr"
)

// bodyMessages are the messages client-go logs bodies with.
var bodyMessages = map[string]bool{"Request Body": true, "Response Body": true}

// DropBodies returns l without client-go's request and response body lines.
func DropBodies(l logr.Logger) logr.Logger {
	if l.GetSink() == nil {
		return l
	}
	return logr.New(&sink{LogSink: l.GetSink()})
}

type sink struct {
	logr.LogSink
}

func (s *sink) Info(level int, msg string, keysAndValues ...any) {
	if bodyMessages[msg] {
		return
	}
	s.LogSink.Info(level, msg, keysAndValues...)
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
		return &sink{LogSink: cd.WithCallDepth(depth + 1)}
	}
	return s
}
