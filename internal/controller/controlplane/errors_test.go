package controlplane

import (
	"context"
	"fmt"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// TestEndpointErrorsAreConditionsThatClear walks a control plane through a missing
// output and a bad URL, then a good one: each error is a condition with a precise reason,
// never Ready, never initialized, and it clears on the next event.
func TestEndpointErrorsAreConditionsThatClear(t *testing.T) {
	startControllers(t)
	ns := newNamespace(t)
	cluster, cp := newCluster(t, ns, "flaky")

	p := goodProvider(t)
	p.endpoint = ""
	p.apply(t, cp)
	checkFailed(t, waitEndpointError(t, cp, controlplanev1.EndpointOutputMissingReason, "cluster_endpoint"))

	p.endpoint = "http://plain.example.com"
	p.apply(t, cp)
	checkFailed(t, waitEndpointError(t, cp, controlplanev1.EndpointInvalidReason, `scheme "http"`))

	p.endpoint = "https://user:pw@api.example.com"
	p.apply(t, cp)
	got := checkFailed(t, waitEndpointError(t, cp, controlplanev1.EndpointInvalidReason, "user info"))
	if err := contains(cond(got, controlplanev1.EndpointReadyCondition).Message, "pw@"); err == nil {
		t.Error("condition repeats the endpoint's user info")
	}

	p.endpoint = "https://[2001:db8::1]:6443/"
	p.apply(t, cp)
	got = waitReady(t, cp, "recovered")
	if got.Spec.ControlPlaneEndpoint != (infrav1.APIEndpoint{Host: "2001:db8::1", Port: 6443}) || got.Status.Phase != controlplanev1.PhaseReady {
		t.Errorf("endpoint %+v, phase %s", got.Spec.ControlPlaneEndpoint, got.Status.Phase)
	}
	if ep := getCluster(t, cluster).Spec.ControlPlaneEndpoint; ep.Host != "2001:db8::1" || ep.Port != 6443 {
		t.Errorf("Cluster endpoint %+v", ep)
	}
	for _, c := range got.Status.Conditions {
		if c.Status == metav1.ConditionFalse && c.Type != infrav1.DeletingCondition && c.Type != infrav1.PausedCondition && c.Type != controlplanev1.RollingOutCondition {
			t.Errorf("condition %s still false after recovery: %s", c.Type, c.Reason)
		}
	}
}

// waitEndpointError waits for EndpointReady to be false with reason and a message
// containing messageHas.
func waitEndpointError(t *testing.T, cp *controlplanev1.CAPTControlPlane, reason, messageHas string) *controlplanev1.CAPTControlPlane {
	t.Helper()
	return waitCP(t, cp, reason+" "+messageHas, func(c *controlplanev1.CAPTControlPlane) error {
		if err := condIs(controlplanev1.EndpointReadyCondition, metav1.ConditionFalse, reason)(c); err != nil {
			return err
		}
		if c.Status.Phase != controlplanev1.PhaseFailed {
			// The patch helper writes conditions and the rest of the status in two calls.
			return fmt.Errorf("phase %s", c.Status.Phase)
		}
		return contains(cond(c, controlplanev1.EndpointReadyCondition).Message, messageHas)
	})
}

func checkFailed(t *testing.T, cp *controlplanev1.CAPTControlPlane) *controlplanev1.CAPTControlPlane {
	t.Helper()
	ready := cond(cp, infrav1.ReadyCondition)
	if ready.Status == metav1.ConditionTrue || cp.Status.Ready || ptr.Deref(cp.Status.Initialization.ControlPlaneInitialized, false) || cp.Status.Phase != controlplanev1.PhaseFailed {
		t.Errorf("with an endpoint error: ready %v, status.ready %v, initialized %v, phase %s", ready, cp.Status.Ready, cp.Status.Initialization.ControlPlaneInitialized, cp.Status.Phase)
	}
	return cp
}

// TestClusterRefusingTheEndpoint has an admission policy refuse the Cluster patch: the
// control plane says so with EndpointUpdateFailed, retries after the error interval, and
// clears the error once the policy is gone.
func TestClusterRefusingTheEndpoint(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	// Policies take effect asynchronously: the probe is a Cluster whose endpoint is set.
	probe, _ := newCluster(t, ns, "probe")
	binding := refusal{
		name: "freeze-endpoint-" + ns, operation: admissionregistrationv1.Update, group: "cluster.x-k8s.io", resource: "clusters",
		allow:   "object.metadata.namespace != '" + ns + "' || !has(object.spec.controlPlaneEndpoint) || !has(object.spec.controlPlaneEndpoint.host)",
		message: "endpoint changes are frozen",
	}.enforce(t, func() error {
		c := getCluster(t, probe)
		c.Spec.ControlPlaneEndpoint = clusterv1.APIEndpoint{Host: "probe.example.com", Port: 443}
		return env.Client.Update(ctx, c, client.DryRunAll)
	})
	_, cp := newCluster(t, ns, "frozen")
	goodProvider(t).apply(t, cp)
	got := waitCP(t, cp, "refused", condIs(controlplanev1.EndpointReadyCondition, metav1.ConditionFalse, controlplanev1.EndpointUpdateFailedReason))
	if err := contains(cond(got, controlplanev1.EndpointReadyCondition).Message, "endpoint changes are frozen"); err != nil {
		t.Error(err)
	}
	if got.Status.Ready || cond(got, infrav1.ReadyCondition).Status == metav1.ConditionTrue {
		t.Error("Ready while the Cluster refuses the endpoint")
	}
	lift(t, binding)
	waitReady(t, cp, "recovered")
}

// TestRefusedSecretIsRetried has an admission policy refuse the CA Secret: SecretsReady
// says so (SecretsNotReady, with the policy's message), and since nothing CAPT watches
// changes when the policy goes, the pass after the error interval writes it.
func TestRefusedSecretIsRetried(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	binding := refusal{
		name: "freeze-ca-" + ns, operation: admissionregistrationv1.Create, group: "", resource: "secrets",
		allow:   "object.metadata.namespace != '" + ns + "' || !object.metadata.name.endsWith('-ca')",
		message: "CA secrets are frozen",
	}.enforce(t, func() error {
		return env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "probe-ca"}}, client.DryRunAll)
	})
	_, cp := newCluster(t, ns, "cafrozen")
	goodProvider(t).apply(t, cp)
	got := waitCP(t, cp, "refused", condIs(controlplanev1.SecretsReadyCondition, metav1.ConditionFalse, controlplanev1.SecretsNotReadyReason))
	if err := contains(cond(got, controlplanev1.SecretsReadyCondition).Message, "CA secrets are frozen"); err != nil {
		t.Error(err)
	}
	lift(t, binding)
	waitReady(t, cp, "recovered")
}

func contains(s, sub string) error {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return nil
		}
	}
	return fmt.Errorf("%q does not contain %q", s, sub)
}

// TestSecretOwnedByOtherIsLeftAlone pre-creates <cluster>-kubeconfig owned by nobody:
// CAPT says so in SecretsReady and does not overwrite it; once it is gone, CAPT writes its own.
func TestSecretOwnedByOtherIsLeftAlone(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taken-kubeconfig"}, Data: map[string][]byte{"value": []byte("someone else's")}}
	create(t, foreign)
	_, cp := newCluster(t, ns, "taken")
	goodProvider(t).apply(t, cp)
	got := waitCP(t, cp, "owned by other", condIs(controlplanev1.SecretsReadyCondition, metav1.ConditionFalse, controlplanev1.SecretOwnedByOtherReason))
	if got.Status.SecretsReady || got.Status.Initialized {
		t.Errorf("secretsReady %v, initialized %v", got.Status.SecretsReady, got.Status.Initialized)
	}
	kept := &corev1.Secret{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(foreign), kept); err != nil || string(kept.Data["value"]) != "someone else's" {
		t.Fatalf("foreign secret changed: %v %q", err, kept.Data["value"])
	}
	if err := env.Client.Delete(ctx, kept); err != nil {
		t.Fatal(err)
	}
	waitReady(t, cp, "Ready once the foreign secret is gone")
}
