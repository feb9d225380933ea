package manager

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
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
		{"initialization requeue interval", o.Requeue.Initialization, 5 * time.Second},
		{"sync period", o.SyncPeriod, 10 * time.Minute},
		{"qps", o.KubeAPIQPS, float32(100)},
		{"burst", o.KubeAPIBurst, 200},
		{"diagnostics address", o.Diagnostics.DiagnosticsAddress, ":8443"},
		{"diagnostics secure", o.Diagnostics.InsecureDiagnostics, false},
		{"health address", o.HealthAddr, ":9440"},
		{"control plane concurrency", o.Concurrency.CAPTControlPlane, 10},
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
		{[]string{"--initialization-requeue-interval=48h"}, "--initialization-requeue-interval must be between"},
		{[]string{"--captcontrolplane-concurrency=0"}, "--captcontrolplane-concurrency must be at least 1"},
		{[]string{"--kube-api-qps=0"}, "--kube-api-qps must be positive"},
		{[]string{"--kube-api-burst=0"}, "--kube-api-burst must be at least 1"},
		{[]string{"--sync-period=1s"}, "--sync-period must be at least 1m"},
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
