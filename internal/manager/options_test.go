package manager

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/capt-dev/capt/internal/requeue"
)

func parse(t *testing.T, args ...string) *Options {
	t.Helper()
	o := NewOptions()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return o
}

func TestDefaultsFollowCAPTEP0016AndClusterAPI(t *testing.T) {
	o := parse(t)
	if err := o.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"requeue interval", o.Requeue.Default, 30 * time.Second},
		{"error requeue interval", o.Requeue.Error, 10 * time.Second},
		{"sync period", o.SyncPeriod, 10 * time.Minute},
		{"qps", o.KubeAPIQPS, float32(100)},
		{"burst", o.KubeAPIBurst, 200},
		{"diagnostics address", o.Diagnostics.DiagnosticsAddress, ":8443"},
		{"diagnostics secure", o.Diagnostics.InsecureDiagnostics, false},
		{"health address", o.HealthAddr, ":9440"},
		{"control plane concurrency", o.Concurrency.CAPTControlPlane, 10},
		{"kubeconfig", o.Kubeconfig, ""},
		{"EKS token refresh interval", o.EKSTokenRefreshInterval, 10 * time.Minute},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestValidateRejectsHotLoopsAndNonsense(t *testing.T) {
	cases := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--requeue-interval=1ms"}, "--requeue-interval must be between"},
		{[]string{"--controllers=bootstrap"}, "--controllers must be all, infrastructure or controlplane"},
		{[]string{"--error-requeue-interval=0"}, "--error-requeue-interval must be between"},
		// Deprecated and ignored: accepted, whatever its value, so Deployments keep starting.
		{[]string{"--initialization-requeue-interval=48h"}, ""},
		{[]string{"--captcontrolplane-concurrency=0"}, "--captcontrolplane-concurrency must be at least 1"},
		{[]string{"--kube-api-qps=0"}, "--kube-api-qps must be positive"},
		{[]string{"--kube-api-burst=0"}, "--kube-api-burst must be at least 1"},
		{[]string{"--sync-period=1s"}, "--sync-period must be at least 1m"},
		// A token clients stop using at 14 minutes cannot wait that long to be replaced.
		{[]string{"--eks-token-refresh-interval=14m"}, "--eks-token-refresh-interval must be at least 1s and below 14m"},
		{[]string{"--eks-token-refresh-interval=500ms"}, "--eks-token-refresh-interval must be at least 1s"},
		{[]string{"--leader-elect", "--leader-elect-renew-deadline=20s"}, "lease duration > renew deadline"},
		{[]string{"--namespace=capt-system", "--watch-filter=team-a", "--leader-elect"}, ""},
	}
	for _, c := range cases {
		err := parse(t, c.args...).Validate()
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%v: unexpected error %v", c.args, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%v: error %v, want it to contain %q", c.args, err, c.wantErr)
		}
	}
}

func TestControllersSelectTheProvider(t *testing.T) {
	for controllers, want := range map[string][2]bool{
		ControllersAll:            {true, true},
		ControllersInfrastructure: {true, false},
		ControllersControlPlane:   {false, true},
	} {
		infrastructure, controlPlane := parse(t, "--controllers="+controllers).providers()
		if [2]bool{infrastructure, controlPlane} != want {
			t.Errorf("--controllers=%s: infrastructure %v, control plane %v; want %v", controllers, infrastructure, controlPlane, want)
		}
	}
}

// writeKubeconfig writes a kubeconfig to dir whose current context points at server.
// Each file has a second context, which must not be used.
func writeKubeconfig(t *testing.T, dir, name, server string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	config := `apiVersion: v1
kind: Config
clusters:
- name: current
  cluster: {server: "` + server + `"}
- name: other
  cluster: {server: "https://not-the-current-context.invalid:6443"}
users:
- name: u
  user: {token: t}
contexts:
- name: current
  context: {cluster: current, user: u}
- name: other
  context: {cluster: other, user: u}
current-context: current
`
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKubeconfigFlagTakesPrecedence checks the order of RESTConfig: --kubeconfig over
// KUBECONFIG, KUBECONFIG without the flag, and an error naming a missing --kubeconfig file
// rather than a silent fall back to KUBECONFIG.
func TestKubeconfigFlagTakesPrecedence(t *testing.T) {
	dir := t.TempDir()
	fromEnv := writeKubeconfig(t, dir, "env", "https://from-env.invalid:6443")
	fromFlag := writeKubeconfig(t, dir, "flag", "https://from-flag.invalid:6443")
	t.Setenv("KUBECONFIG", fromEnv)

	o := parse(t, "--kubeconfig="+fromFlag)
	if o.Kubeconfig != fromFlag {
		t.Fatalf("--kubeconfig=%s parsed as %q", fromFlag, o.Kubeconfig)
	}
	for _, c := range []struct {
		path, want string
	}{
		{o.Kubeconfig, "https://from-flag.invalid:6443"},
		{"", "https://from-env.invalid:6443"},
	} {
		cfg, err := RESTConfig(c.path)
		if err != nil {
			t.Fatalf("RESTConfig(%q): %v", c.path, err)
		}
		if cfg.Host != c.want {
			t.Errorf("RESTConfig(%q) with KUBECONFIG=%s: host %q, want %q", c.path, fromEnv, cfg.Host, c.want)
		}
	}

	missing := filepath.Join(dir, "missing")
	if cfg, err := RESTConfig(missing); err == nil {
		t.Errorf("RESTConfig(%q): host %q, want an error", missing, cfg.Host)
	} else if !strings.Contains(err.Error(), missing) {
		t.Errorf("RESTConfig(%q): error %q, want it to name the file", missing, err)
	}
}

// TestDeprecatedInitializationInterval: the flag nothing read is still accepted (a
// Deployment that passes it keeps starting), hidden from --help, and changes nothing.
func TestDeprecatedInitializationInterval(t *testing.T) {
	o := parse(t, "--initialization-requeue-interval=1s")
	if o.Requeue != requeue.Defaults() {
		t.Errorf("intervals %+v, want the defaults", o.Requeue)
	}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	NewOptions().AddFlags(fs)
	if strings.Contains(fs.FlagUsages(), "initialization-requeue-interval") {
		t.Error("--help still lists --initialization-requeue-interval")
	}
}
