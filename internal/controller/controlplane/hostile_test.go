package controlplane

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/kubeconfig"
	"github.com/capt-dev/capt/internal/testenv"
)

// canary is in every hostile output that can carry it: no condition may repeat it.
const canary = "s3cr3t"

// outputs is what the Workspace reports: status outputs of any JSON type (nil is JSON
// null) and the connection secret's data.
type outputs struct {
	status map[string]any
	secret map[string][]byte
}

// set writes the outputs onto the control plane's Workspace, Ready, and its connection
// secret, as provider-terraform would.
func (o outputs) set(t *testing.T, cp *controlplanev1.CAPTControlPlane) {
	t.Helper()
	ctx := context.Background()
	ws := waitWorkspace(t, cp)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: cp.Namespace, Name: outputsSecretName(cp),
		OwnerReferences: []metav1.OwnerReference{{APIVersion: ws.GetAPIVersion(), Kind: ws.GetKind(), Name: ws.GetName(), UID: ws.GetUID()}}},
		Type: "connection.crossplane.io/v1alpha1", Data: o.secret}
	if err := env.Client.Create(ctx, secret); apierrors.IsAlreadyExists(err) {
		testenv.Eventually(t, "update connection secret", func() error { return env.Client.Update(ctx, secret) })
	} else if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "set Workspace outputs", func() error {
		u := api.NewObject()
		if err := env.Client.Get(ctx, client.ObjectKey{Name: workspaceName(cp)}, u); err != nil {
			return err
		}
		now := time.Now().UTC().Format(time.RFC3339)
		_ = unstructured.SetNestedSlice(u.Object, []any{
			map[string]any{"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": now},
			map[string]any{"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": now, "observedGeneration": u.GetGeneration()},
		}, "status", "conditions")
		u.Object["status"].(map[string]any)["atProvider"] = map[string]any{"outputs": o.status}
		return env.Client.Status().Update(ctx, u)
	})
}

// TestHostileOutputs feeds a Ready control plane endpoint, CA and kubeconfig outputs
// that are garbage, binary, empty, of the wrong JSON type, a megabyte long, and
// endpoints of every refused form (issue #8, item 6). Each is a condition with a precise
// reason whose message names the output and never quotes it; Ready turns false, nothing
// is deleted or overwritten, and the good outputs clear it. At rest on an error the
// controller writes nothing and asks for no passes.
func TestHostileOutputs(t *testing.T) {
	ctx := context.Background()
	writes := startControllers(t)
	ns := newNamespace(t)
	cluster, cp := newCluster(t, ns, "hostile")

	ca := testenv.CACertificatePEM(t)
	caB64 := base64.StdEncoding.EncodeToString(ca)
	const goodEndpoint = "https://api.hostile.example.com:6443"
	good := func() outputs {
		return outputs{status: map[string]any{"cluster_endpoint": goodEndpoint}, secret: map[string][]byte{"cluster_certificate_authority_data": []byte(caB64)}}
	}
	withEndpoint := func(v any) outputs {
		o := good()
		o.status["cluster_endpoint"] = v
		return o
	}
	inSecret := func(name string, v []byte) outputs {
		o := good()
		o.secret[name] = v
		return o
	}
	inStatus := func(name string, v any) outputs {
		o := good()
		delete(o.secret, "cluster_certificate_authority_data")
		o.status["cluster_certificate_authority_data"] = caB64
		o.status[name] = v
		return o
	}
	pemBlock := func(typ string, data []byte) []byte {
		return []byte("-----BEGIN " + typ + "-----\n" + base64.StdEncoding.EncodeToString(data) + "\n-----END " + typ + "-----\n")
	}
	noServer := []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {certificate-authority-data: " + caB64 + "}}]\n" +
		"contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\nusers: [{name: u, user: {token: " + canary + "}}]\n")

	good().set(t, cp)
	ready := waitReady(t, cp, "Ready")
	// The kubeconfig without its token (which is replaced at its refresh time whatever
	// the outputs say), the CA and the people's kubeconfig.
	kubeconfigBefore, caBefore := secretData(t, ns, kubeconfig.SecretName(cluster.Name), kubeconfig.RelativeKey), secretData(t, ns, kubeconfig.CASecretName(cluster.Name), kubeconfig.CertificateKey)
	userBefore := secretData(t, ns, kubeconfig.UserSecretName(cluster.Name), kubeconfig.KubeconfigKey)

	ep, secrets := controlplanev1.EndpointReadyCondition, controlplanev1.SecretsReadyCondition
	cases := []struct {
		name                       string
		outputs                    outputs
		condition, reason, message string
	}{
		// The endpoint: wrong JSON types, empty, garbage.
		{"endpoint number", withEndpoint(int64(443)), ep, controlplanev1.EndpointInvalidReason, "is a JSON number, want a string"},
		{"endpoint boolean", withEndpoint(true), ep, controlplanev1.EndpointInvalidReason, "is a JSON boolean"},
		{"endpoint list", withEndpoint([]any{"https://" + canary + ".example.com"}), ep, controlplanev1.EndpointInvalidReason, "is a JSON array"},
		{"endpoint object", withEndpoint(map[string]any{"host": canary + ".example.com", "port": int64(443)}), ep, controlplanev1.EndpointInvalidReason, "is a JSON object"},
		{"endpoint empty", withEndpoint(""), ep, controlplanev1.EndpointOutputMissingReason, "has no output [cluster_endpoint endpoint]"},
		{"endpoint null", withEndpoint(nil), ep, controlplanev1.EndpointOutputMissingReason, "has no output [cluster_endpoint endpoint]"},
		{"endpoint binary in the connection secret", inSecret("cluster_endpoint", []byte{0xff, 0x00, 0xfe, 0x1b, 's', '3', 'c', 'r', '3', 't'}), ep, controlplanev1.EndpointInvalidReason, "is neither a URL nor a host[:port]"},
		{"endpoint text in the secret wins over a number", func() outputs {
			o := inSecret("cluster_endpoint", []byte("443"))
			o.status["cluster_endpoint"] = int64(1)
			return o
		}(), ep, controlplanev1.EndpointInvalidReason, "ends in a number"},
		{"endpoint with control characters", withEndpoint("api.example.com\r\nX-Injected: " + canary), ep, controlplanev1.EndpointInvalidReason, "is neither a URL nor a host[:port]"},
		{"endpoint quoted", withEndpoint(`"https://` + canary + `.example.com"`), ep, controlplanev1.EndpointInvalidReason, "is not a valid URL"},
		{"endpoint placeholder", withEndpoint("${aws_eks_cluster." + canary + ".endpoint}"), ep, controlplanev1.EndpointInvalidReason, "is neither a URL nor a host[:port]"},
		{"endpoint invalid UTF-8", withEndpoint("https://\xff\xfe" + canary + ".example.com"), ep, controlplanev1.EndpointInvalidReason, "neither a DNS name nor an IP address"},
		// The endpoint: URLs of refused forms.
		{"http", withEndpoint("http://" + canary + ".example.com"), ep, controlplanev1.EndpointInvalidReason, `has scheme "http", want https`},
		{"ftp", withEndpoint("ftp://" + canary + ".example.com"), ep, controlplanev1.EndpointInvalidReason, `has scheme "ftp", want https`},
		{"long scheme", withEndpoint(strings.Repeat(canary, 100) + "://api.example.com"), ep, controlplanev1.EndpointInvalidReason, "has a scheme other than https"},
		{"user info", withEndpoint("https://admin:" + canary + "@api.example.com"), ep, controlplanev1.EndpointInvalidReason, "carries user info"},
		{"user info without scheme", withEndpoint("admin:" + canary + "@api.example.com"), ep, controlplanev1.EndpointInvalidReason, "is neither a URL nor a host[:port]"},
		{"path", withEndpoint("https://api.example.com/" + canary), ep, controlplanev1.EndpointInvalidReason, "has a path"},
		{"query", withEndpoint("https://api.example.com?token=" + canary), ep, controlplanev1.EndpointInvalidReason, "has a query or fragment"},
		{"fragment", withEndpoint("https://api.example.com#" + canary), ep, controlplanev1.EndpointInvalidReason, "has a query or fragment"},
		{"port 0", withEndpoint("https://api.example.com:0"), ep, controlplanev1.EndpointInvalidReason, "has a port outside 1-65535"},
		{"port 65536", withEndpoint("https://api.example.com:65536"), ep, controlplanev1.EndpointInvalidReason, "has a port outside 1-65535"},
		{"IPv6 zone", withEndpoint("https://[fe80::1%25eth0]:6443"), ep, controlplanev1.EndpointInvalidReason, "not an IPv6 address"},
		{"IPv6 unspecified", withEndpoint("https://[::]:6443"), ep, controlplanev1.EndpointInvalidReason, "unspecified address"},
		{"DNS name in brackets", withEndpoint("[" + canary + ".example.com]:6443"), ep, controlplanev1.EndpointInvalidReason, "not an IPv6 address"},
		{"IPv4 shorthand", withEndpoint("https://127.1:6443"), ep, controlplanev1.EndpointInvalidReason, "ends in a number"},
		{"label of 64", withEndpoint("https://" + strings.Repeat("a", 64) + ".example.com"), ep, controlplanev1.EndpointInvalidReason, "label longer than 63"},
		{"host of 300", withEndpoint("https://" + strings.Repeat("a.", 150) + "com"), ep, controlplanev1.EndpointInvalidReason, "neither a DNS name nor an IP address"},
		{"endpoint of a megabyte", withEndpoint("https://" + canary + strings.Repeat("a", 1<<20) + ".com"), ep, controlplanev1.EndpointInvalidReason, "neither a DNS name nor an IP address"},
		// The CA.
		{"CA number", inStatus("cluster_certificate_authority_data", int64(1234)), secrets, controlplanev1.CAInvalidReason, "is a JSON number, want a string"},
		{"CA list", inStatus("cluster_certificate_authority_data", []any{caB64}), secrets, controlplanev1.CAInvalidReason, "is a JSON array"},
		{"CA object", inStatus("cluster_certificate_authority_data", map[string]any{"data": caB64}), secrets, controlplanev1.CAInvalidReason, "is a JSON object"},
		{"CA empty", inSecret("cluster_certificate_authority_data", nil), secrets, controlplanev1.CAOutputMissingReason, "no output"},
		{"CA binary", inSecret("cluster_certificate_authority_data", []byte{0xff, 0x00, 0x80, 's', '3', 'c', 'r', '3', 't'}), secrets, controlplanev1.CAInvalidReason, "is neither PEM nor base64-encoded PEM"},
		{"CA base64 of garbage", inSecret("cluster_certificate_authority_data", []byte(base64.StdEncoding.EncodeToString([]byte(canary)))), secrets, controlplanev1.CAInvalidReason, "holds no PEM CERTIFICATE block"},
		{"CA a private key", inSecret("cluster_certificate_authority_data", pemBlock("PRIVATE KEY", []byte(canary))), secrets, controlplanev1.CAInvalidReason, "holds no PEM CERTIFICATE block"},
		{"CA a certificate that does not parse", inSecret("cluster_certificate_authority_data", pemBlock("CERTIFICATE", []byte(canary))), secrets, controlplanev1.CAInvalidReason, "holds a certificate that does not parse"},
		{"CA of a megabyte", inStatus("cluster_certificate_authority_data", strings.Repeat("QUJD", 1<<18)), secrets, controlplanev1.CAInvalidReason, "holds no PEM CERTIFICATE block"},
		// The kubeconfig.
		{"kubeconfig garbage", inSecret("kubeconfig", []byte("token: "+canary+"\n\t: [")), secrets, controlplanev1.KubeconfigInvalidReason, "output kubeconfig does not load as a kubeconfig"},
		{"kubeconfig binary", inSecret("kubeconfig", []byte{0x00, 0xff, 0xfe, 0x01}), secrets, controlplanev1.KubeconfigInvalidReason, "does not load as a kubeconfig"},
		{"kubeconfig number", inStatus("kubeconfig", int64(42)), secrets, controlplanev1.KubeconfigInvalidReason, "does not load as a kubeconfig"},
		{"kubeconfig list", inStatus("kubeconfig", []any{canary}), secrets, controlplanev1.KubeconfigInvalidReason, "does not load as a kubeconfig"},
		{"kubeconfig empty object", inStatus("kubeconfig", map[string]any{}), secrets, controlplanev1.KubeconfigInvalidReason, "has no current context"},
		{"kubeconfig without a server", inSecret("kubeconfig", noServer), secrets, controlplanev1.KubeconfigInvalidReason, "has no server for its current context"},
		{"kubeconfig of a megabyte", inStatus("kubeconfig", canary+": "+strings.Repeat("[", 1<<20)), secrets, controlplanev1.KubeconfigInvalidReason, "does not load as a kubeconfig"},
		// The EKS cluster name a built kubeconfig passes to aws eks get-token.
		{"cluster_name with a newline", inStatus("cluster_name", "demo\n--profile: "+canary), secrets, controlplanev1.KubeconfigInvalidReason, "output cluster_name is not an EKS cluster name"},
		{"cluster_name number", inStatus("cluster_name", int64(42)), secrets, controlplanev1.KubeconfigInvalidReason, "output cluster_name is not an EKS cluster name"},
		{"cluster_name of a megabyte", inStatus("cluster_name", canary+strings.Repeat("n", 1<<20)), secrets, controlplanev1.KubeconfigInvalidReason, "output cluster_name is not an EKS cluster name"},
	}
	for _, tc := range cases {
		tc.outputs.set(t, cp)
		got := waitCP(t, cp, tc.name, func(c *controlplanev1.CAPTControlPlane) error {
			if err := condIs(tc.condition, metav1.ConditionFalse, tc.reason)(c); err != nil {
				return err
			}
			if c.Status.Phase != controlplanev1.PhaseFailed {
				return fmt.Errorf("phase %s", c.Status.Phase)
			}
			return contains(cond(c, tc.condition).Message, tc.message)
		})
		for _, c := range got.Status.Conditions {
			if strings.Contains(c.Message, canary) || len(c.Message) > 1024 {
				t.Errorf("%s: condition %s quotes the output: %.200q", tc.name, c.Type, c.Message)
			}
		}
		if r := cond(got, infrav1.ReadyCondition); r.Status != metav1.ConditionFalse || got.Status.Ready {
			t.Errorf("%s: Ready %s/%s, status.ready %v", tc.name, r.Status, r.Reason, got.Status.Ready)
		}
		if got.Spec.ControlPlaneEndpoint != ready.Spec.ControlPlaneEndpoint || getCluster(t, cluster).Spec.ControlPlaneEndpoint.Host != ready.Spec.ControlPlaneEndpoint.Host {
			t.Errorf("%s: endpoint changed to %+v", tc.name, got.Spec.ControlPlaneEndpoint)
		}
		if strings.HasSuffix(tc.name, "of a megabyte") {
			writes.AtRest(t, controllerName, tc.name)
		}
		// The good outputs clear it, before the next case (whose condition may read the same).
		good().set(t, cp)
		waitReady(t, cp, tc.name+": recovered")
	}

	// Nothing was lost or overwritten.
	if !bytes.Equal(secretData(t, ns, kubeconfig.SecretName(cluster.Name), kubeconfig.RelativeKey), kubeconfigBefore) ||
		!bytes.Equal(secretData(t, ns, kubeconfig.CASecretName(cluster.Name), kubeconfig.CertificateKey), caBefore) ||
		!bytes.Equal(secretData(t, ns, kubeconfig.UserSecretName(cluster.Name), kubeconfig.KubeconfigKey), userBefore) {
		t.Error("a hostile output changed the contract's secrets")
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: applyName(cp)}, &infrav1.WorkspaceTemplateApply{}); err != nil {
		t.Errorf("WorkspaceTemplateApply: %v", err)
	}
}

func secretData(t *testing.T, ns, name, key string) []byte {
	t.Helper()
	s := &corev1.Secret{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
		t.Fatalf("Secret %s: %v", name, err)
	}
	if len(s.Data[key]) == 0 {
		t.Fatalf("Secret %s has no %s", name, key)
	}
	return s.Data[key]
}
