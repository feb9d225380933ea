package tfmodule

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

func TestReadBackend(t *testing.T) {
	const k8s = `terraform {
  backend "kubernetes" {
    config_path   = "/etc/kubeconfig"
    namespace     = "crossplane-system"
    secret_suffix = "providerconfig-default"
  }
}`
	for _, tc := range []struct {
		name, configuration, backendFile string
		want                             Backend
		err                              string
	}{
		{name: "none"},
		{name: "kubernetes", configuration: k8s, want: Backend{Type: "kubernetes", Namespace: "crossplane-system", SecretSuffix: "providerconfig-default"}},
		{name: "backendFile overrides", configuration: k8s, backendFile: "namespace = \"state\"\nsecret_suffix = \"x\"\n",
			want: Backend{Type: "kubernetes", Namespace: "state", SecretSuffix: "x"}},
		{name: "default namespace", configuration: `terraform {
  backend "kubernetes" { secret_suffix = "s" }
}`, want: Backend{Type: "kubernetes", Namespace: "default", SecretSuffix: "s"}},
		{name: "another API server", configuration: `terraform {
  backend "kubernetes" {
    host          = "https://state.example.com"
    secret_suffix = "s"
  }
}`, want: Backend{Type: "kubernetes", Namespace: "default", SecretSuffix: "s", Remote: true}},
		{name: "s3", configuration: `terraform {
  backend "s3" {
    bucket = "b"
    key    = "k"
  }
}`, want: Backend{Type: "s3"}},
		{name: "suffix from backendFile", configuration: `terraform {
  backend "kubernetes" {}
}`, backendFile: `secret_suffix = "f"`, want: Backend{Type: "kubernetes", Namespace: "default", SecretSuffix: "f"}},
		{name: "no suffix", configuration: `terraform {
  backend "kubernetes" {}
}`, err: "secret_suffix"},
		{name: "suffix not a literal", configuration: `terraform {
  backend "kubernetes" { secret_suffix = var.x }
}`, err: "not a literal"},
		{name: "not HCL", configuration: `terraform {`, err: "parsing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadBackend(tc.configuration, tc.backendFile)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got != tc.want {
				t.Errorf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
	b := Backend{SecretSuffix: "providerconfig-default"}
	if got := b.StateSecretName("team-vpc"); got != "tfstate-team-vpc-providerconfig-default" {
		t.Errorf("StateSecretName = %q", got)
	}
}

func TestReadState(t *testing.T) {
	gzipped := func(s string) []byte {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		_, _ = gz.Write([]byte(s))
		_ = gz.Close()
		return buf.Bytes()
	}
	state, err := ReadState(gzipped(`{"version":4,"serial":7,"lineage":"abc","resources":[
		{"mode":"managed","type":"terraform_data","name":"node","instances":[{},{}]},
		{"mode":"data","type":"x","name":"y","instances":[{}]},
		{"mode":"managed","type":"terraform_data","name":"vpc","instances":[{"attributes":{"secret":"s3cr3t"}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if state.Resources != 3 || state.Serial != 7 || state.Lineage != "abc" {
		t.Errorf("got %+v, want 3 managed instances, serial 7, lineage abc", *state)
	}
	for _, bad := range [][]byte{nil, []byte("plain"), gzipped("not json s3cr3t"), gzipped(`{"resources":[]}`)} {
		if _, err := ReadState(bad); err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("ReadState(%q): error %v, want one that quotes nothing", bad, err)
		}
	}
}
