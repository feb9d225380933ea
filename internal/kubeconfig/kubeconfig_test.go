package kubeconfig

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

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

// TestHostileOutputsAreRefusedWithoutQuotingThem feeds ParseCA and Validate module
// outputs that are garbage, binary, empty, of another JSON type, a megabyte, or a YAML
// alias bomb (issue #8, item 6): each is an error that names the problem, quickly, and
// never repeats the value.
func TestHostileOutputsAreRefusedWithoutQuotingThem(t *testing.T) {
	const canary = "s3cr3t"
	key := "-----BEGIN PRIVATE KEY-----\n" + base64.StdEncoding.EncodeToString([]byte(canary)) + "\n-----END PRIVATE KEY-----\n"
	for in, want := range map[string]string{
		"":                          "is empty",
		" \n\t":                     "is empty", //nolint:gocritic // whitespace only is the case under test
		"\x00\xff\xfe" + canary:     "neither PEM nor base64",
		"1234":                      "no PEM CERTIFICATE",
		"true":                      "no PEM CERTIFICATE",
		`["` + canary + `"]`:        "neither PEM nor base64",
		`{"data":"` + canary + `"}`: "neither PEM nor base64",
		key:                         "no PEM CERTIFICATE",
		base64.StdEncoding.EncodeToString([]byte(key)): "no PEM CERTIFICATE",
		strings.Repeat("QUJD", 1<<18):                  "no PEM CERTIFICATE",
		"-----BEGIN CERTIFICATE-----\n" + canary:       "no PEM CERTIFICATE",
	} {
		_, err := ParseCA(in)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), canary) || len(err.Error()) > 100 {
			t.Errorf("ParseCA(%.40q) error %v, want %q", in, err, want)
		}
	}

	bomb := "a: &a [\"" + canary + "\",\"" + canary + "\"]\n"
	for i, prev := 0, "a"; i < 30; i++ {
		name := fmt.Sprintf("b%d", i)
		bomb += fmt.Sprintf("%s: &%s [*%s,*%s,*%s,*%s]\n", name, name, prev, prev, prev, prev)
		prev = name
	}
	for in, want := range map[string]string{
		"":                             "no current context",
		"\x00\xff\xfe" + canary:        "does not load",
		"42":                           "does not load",
		`["` + canary + `"]`:           "does not load",
		"{}":                           "no current context",
		"token: " + canary + "\n\t: [": "does not load",
		canary + ": " + strings.Repeat("[", 1<<20): "does not load",
		bomb: "does not load",
	} {
		start := time.Now()
		_, err := Validate([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), canary) || len(err.Error()) > 100 {
			t.Errorf("Validate(%.40q) error %v, want %q", in, err, want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Validate(%.40q) took %s", in, d)
		}
	}
}
