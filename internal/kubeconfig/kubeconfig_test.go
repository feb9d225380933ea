package kubeconfig

import (
	"encoding/base64"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/capt-dev/capt/internal/testenv"
)

func TestParseCA(t *testing.T) {
	ca := testenv.CACertificatePEM(t)
	for name, in := range map[string]string{"PEM": string(ca), "base64 PEM (EKS)": base64.StdEncoding.EncodeToString(ca), "padded": "\n" + string(ca) + "\n"} {
		got, err := ParseCA(in)
		if err != nil || string(got) != string(ca) {
			t.Errorf("%s: ParseCA = %q, %v", name, got, err)
		}
	}
	for in, want := range map[string]string{
		"not base64 !!": "neither PEM nor base64",
		base64.StdEncoding.EncodeToString([]byte("hello")):               "no PEM CERTIFICATE",
		"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n": "does not parse",
	} {
		if _, err := ParseCA(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseCA(%q) error %v, want %q", in, err, want)
		}
	}
}

func TestBuildIsAValidKubeconfigWithAnExecUser(t *testing.T) {
	ca := testenv.CACertificatePEM(t)
	data, err := Build("demo", "https://[2001:db8::1]:443", ca, EKSUser("ns-demo", "us-west-2"))
	if err != nil {
		t.Fatal(err)
	}
	gotCA, err := Validate(data)
	if err != nil || string(gotCA) != string(ca) {
		t.Fatalf("Validate = %v", err)
	}
	cfg, _ := clientcmd.Load(data)
	user := cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo]
	if user.Exec == nil || user.Exec.Command != "aws" || strings.Join(user.Exec.Args, " ") != "eks get-token --cluster-name ns-demo --region us-west-2" {
		t.Errorf("exec user = %+v", user.Exec)
	}
	if user.Token != "" || len(user.ClientKeyData) > 0 {
		t.Error("kubeconfig stores a credential")
	}
}

func TestValidateRejectsBrokenKubeconfigs(t *testing.T) {
	for in, want := range map[string]string{
		"{not yaml":                      "does not load",
		"apiVersion: v1\nkind: Config\n": "no current context",
		"apiVersion: v1\nkind: Config\ncurrent-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n": "no server",
	} {
		if _, err := Validate([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate(%q) = %v, want %q", in, err, want)
		}
	}
}
