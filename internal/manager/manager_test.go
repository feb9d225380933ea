package manager

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/capt-dev/capt/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Run(m, func(e *testenv.Env) { env = e })
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestManagerServesHealthAndProtectedMetrics starts the manager with every controller on
// the real API server and checks that health probes answer and that metrics need an
// authorized token.
func TestManagerServesHealthAndProtectedMetrics(t *testing.T) {
	o := parse(t,
		"--health-addr="+freeAddr(t),
		"--diagnostics-address="+freeAddr(t),
		"--leader-elect", "--leader-election-namespace=default",
		"--namespace=default",
	)
	mgr, err := New(env.Config, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Every controller and index registers, as `capt manager` does it.
	if err := SetupControllers(ctx, mgr, o); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager stopped with %v", err)
		}
	})

	waitStatus(t, http.DefaultClient, "http://"+o.HealthAddr+"/readyz", "", http.StatusOK)
	waitStatus(t, http.DefaultClient, "http://"+o.HealthAddr+"/healthz", "", http.StatusOK)

	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the diagnostics server uses a self-signed certificate
	metricsURL := "https://" + o.Diagnostics.DiagnosticsAddress + "/metrics"
	waitStatus(t, insecure, metricsURL, "", http.StatusUnauthorized)
	waitStatus(t, insecure, metricsURL, serviceAccountToken(t, "no-metrics", false), http.StatusForbidden)
	reader := serviceAccountToken(t, "metrics-reader", true)
	waitStatus(t, insecure, metricsURL, reader, http.StatusOK)

	// A token the API server does not know gets no metrics either. controller-runtime's
	// filter answers 500, not 401: the TokenReview's error becomes an authentication error.
	if status, body, err := get(insecure, metricsURL, "not-a-token"); err != nil || status == http.StatusOK || strings.Contains(body, "# TYPE") {
		t.Errorf("GET /metrics with an unknown token: status %d, error %v, body %.200q; want no metrics", status, err, body)
	}
	// Metrics are served over HTTPS only: plain HTTP gets no metrics, even with a token
	// that may read them (Go's TLS server answers 400 to a plain HTTP request).
	if status, body, err := get(http.DefaultClient, "http://"+o.Diagnostics.DiagnosticsAddress+"/metrics", reader); err == nil &&
		(status != http.StatusBadRequest || strings.Contains(body, "# TYPE")) {
		t.Errorf("plain HTTP GET /metrics: status %d, body %.200q; want 400 and no metrics", status, body)
	}
}

// serviceAccountToken creates a ServiceAccount, optionally allowed to read /metrics,
// and returns a token for it.
func serviceAccountToken(t *testing.T, name string, allowMetrics bool) string {
	t.Helper()
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
	if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if allowMetrics {
		role := &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
		}
		if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		binding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: "default"}},
		}
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := cs.CoreV1().ServiceAccounts("default").CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

// get GETs url, with token as the bearer token when not empty.
func get(c *http.Client, url, token string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// waitStatus polls url until it answers want; servers start asynchronously.
func waitStatus(t *testing.T, c *http.Client, url, token string, want int) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		status, _, err := get(c, url, token)
		if err != nil {
			last = err.Error()
			continue
		}
		if status == want {
			return
		}
		last = fmt.Sprintf("status %d", status)
	}
	t.Fatalf("GET %s: %s, want status %d", url, last, want)
}
