package logging

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	logsv1 "k8s.io/component-base/logs/api/v1"
	"k8s.io/klog/v2"
)

// secretValue is in the response body of the fake API server and must never be logged.
const secretValue = "c2VjcmV0LXZhcmlhYmxlLXZhbHVl"

// syncBuffer is the loggers' output; client-go may log from more than one goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// verbose returns the configuration of `capt manager -v=10`.
func verbose() *logsv1.LoggingConfiguration {
	c := logsv1.NewLoggingConfiguration()
	c.Verbosity = 10
	return c
}

// resetLogging restores klog's and component-base's defaults after a test changed them.
func resetLogging(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		if err := logsv1.ResetForTest(nil); err != nil {
			t.Error(err)
		}
	})
}

// getSecret GETs a Secret from a fake API server with a context that carries no logger,
// as informers' lists and watches do, so client-go logs through klog's global logger.
func getSecret(t *testing.T) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"vars","namespace":"default"},"data":{"token":"` + secretValue + `"}}`))
	}))
	defer srv.Close()
	// The clientset is built after the verbosity is set: client-go adds its debugging
	// round tripper only when klog's global verbosity is 6 or more at that time.
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	s, err := cs.CoreV1().Secrets("default").Get(context.Background(), "vars", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Data["token"]) == "" {
		t.Fatalf("secret = %+v", s)
	}
}

// TestComponentBaseAloneLogsBodies shows what Setup prevents: component-base's logger
// alone logs the Secret from the response body at -v=10. Without it the other tests
// could pass because no body was logged at all.
func TestComponentBaseAloneLogsBodies(t *testing.T) {
	resetLogging(t)
	var out syncBuffer
	if err := logsv1.ValidateAndApplyWithOptions(verbose(), &logsv1.LoggingOptions{ErrorStream: &out, InfoStream: &out}, nil); err != nil {
		t.Fatal(err)
	}
	getSecret(t)
	if !strings.Contains(out.String(), `"Response Body"`) || !strings.Contains(out.String(), secretValue) {
		t.Fatalf("component-base's logger did not log the response body; the test no longer shows anything:\n%s", out.String())
	}
}

// TestSetupDropsBodiesFromGlobalLogger checks that at -v=10 a request whose context has
// no logger logs its debug lines but not its body.
func TestSetupDropsBodiesFromGlobalLogger(t *testing.T) {
	resetLogging(t)
	var out syncBuffer
	logger, err := setup(verbose(), &out)
	if err != nil {
		t.Fatal(err)
	}
	getSecret(t)
	logged := out.String()
	for _, leak := range []string{secretValue, `"Response Body"`, `"Request Body"`} {
		if strings.Contains(logged, leak) {
			t.Errorf("output contains %s:\n%s", leak, logged)
		}
	}
	// The rest of client-go's debug output stays: the request line (or curl command) and
	// the response's status.
	for _, want := range []string{"/api/v1/namespaces/default/secrets/vars", "200 OK"} {
		if !strings.Contains(logged, want) {
			t.Errorf("output lacks %q:\n%s", want, logged)
		}
	}

	// The returned logger, for controller-runtime, drops bodies too and logs the rest.
	logger.V(8).Info("Response Body", "body", secretValue)
	logger.V(8).Info("Reconciling", "object", "a")
	if logged := out.String(); strings.Contains(logged, secretValue) || !strings.Contains(logged, `"Reconciling"`) {
		t.Errorf("controller-runtime's logger:\n%s", logged)
	}
}

// TestSetupKlogCalls checks that klog's own calls still reach the output once the
// wrapped logger is klog's global logger (no recursion), with the caller's file.
func TestSetupKlogCalls(t *testing.T) {
	resetLogging(t)
	var out syncBuffer
	if _, err := setup(verbose(), &out); err != nil {
		t.Fatal(err)
	}
	klogCalls(t, &out)
}

// TestSetupVModule checks that -vmodule still selects by the caller's file through the
// wrapper: the wrapper's frame must not hide the caller.
func TestSetupVModule(t *testing.T) {
	resetLogging(t)
	var out syncBuffer
	c := logsv1.NewLoggingConfiguration()
	c.VModule = logsv1.VModuleConfiguration{{FilePattern: "setup_test", Verbosity: 8}}
	logger, err := setup(c, &out)
	if err != nil {
		t.Fatal(err)
	}
	klog.Background().V(8).Info("global logger at v8")
	logger.V(8).Info("returned logger at v8")
	logger.V(9).Info("returned logger at v9")
	logged := out.String()
	if !strings.Contains(logged, "global logger at v8") || !strings.Contains(logged, "returned logger at v8") || strings.Contains(logged, "at v9") {
		t.Errorf("output:\n%s", logged)
	}
}

// TestInstallWithoutLogger covers the case where klog has no logger installed:
// klog.Background() is then klog itself, which writes through the global logger, and
// install must build its own logger rather than wrap klog in itself.
func TestInstallWithoutLogger(t *testing.T) {
	resetLogging(t)
	var out syncBuffer
	if err := logsv1.ValidateAndApplyWithOptions(verbose(), &logsv1.LoggingOptions{ErrorStream: &out, InfoStream: &out}, nil); err != nil {
		t.Fatal(err)
	}
	klog.ClearLogger()
	if !isKlogItself(klog.Background()) {
		t.Fatal("klog.Background() is not klog's own logger after ClearLogger")
	}
	install(verbose(), &out)
	if isKlogItself(klog.Background()) {
		t.Fatal("install left klog's own logger as the global logger")
	}
	klogCalls(t, &out)
	getSecret(t)
	if logged := out.String(); strings.Contains(logged, secretValue) || !strings.Contains(logged, "200 OK") {
		t.Errorf("output:\n%s", logged)
	}
}

// klogCalls logs through klog's functions and its global logger and checks the output.
func klogCalls(t *testing.T, out *syncBuffer) {
	t.Helper()
	klog.Info("klog info line")
	klog.InfoS("klog structured line", "k", "v")
	klog.V(8).InfoS("klog verbose line")
	klog.Background().V(8).Info("background line")
	klog.Background().V(8).Info("Response Body", "body", secretValue)
	klog.FromContext(context.Background()).V(8).Info("Request Body", "body", secretValue)
	klog.ErrorS(nil, "klog error line")
	klog.Flush()
	logged := out.String()
	for _, want := range []string{"klog info line", "klog structured line", "klog verbose line", "background line", "klog error line"} {
		i := strings.Index(logged, want)
		if i < 0 {
			t.Errorf("output lacks %q:\n%s", want, logged)
			continue
		}
		// The header names this file as the caller, not the wrapper.
		line := logged[strings.LastIndex(logged[:i], "\n")+1 : i]
		if !strings.Contains(line, "setup_test.go:") {
			t.Errorf("line of %q names another caller: %s", want, line)
		}
	}
	if strings.Contains(logged, secretValue) {
		t.Errorf("output contains the body:\n%s", logged)
	}
}
