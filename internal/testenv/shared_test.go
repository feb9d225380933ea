package testenv

import (
	"context"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestSharedServerComesBackToItsSnapshot: whatever a test binary left on a shared
// server (objects with finalizers in a namespace of its own and in default, a
// cluster-scoped object, a webhook that refuses everything, a CRD deleted and another
// changed), the next one finds the server as StartServer recorded it; an object of the
// snapshot changed in place cannot be brought back, so the next test binary is told and
// starts a server of its own. make mutate relies on this: a run that fails because of
// what an earlier run left would count as a kill.
func TestSharedServerComesBackToItsSnapshot(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := StartServer(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	e, err := attach(ctx, dir)
	if err != nil {
		t.Fatalf("attaching to a server nobody used: %v", err)
	}
	c := e.Client

	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "left", Namespace: "team", Finalizers: []string{"example.com/kept"}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "left", Namespace: "default"}},
		&clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "team", Finalizers: []string{clusterv1.ClusterFinalizer}},
			Spec: clusterv1.ClusterSpec{ControlPlaneRef: clusterv1.ContractVersionedObjectReference{APIGroup: "controlplane.cluster.x-k8s.io", Kind: "CAPTControlPlane", Name: "c"}}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "left"}},
	} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
		}
	}
	// A webhook nothing serves, failing closed: every write after it is refused until
	// it is gone.
	hook := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "refuse-all"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "refuse.example.com",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://127.0.0.1:1/refuse")},
			Rules:                   []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.OperationAll}, Rule: admissionregistrationv1.Rule{APIGroups: []string{"*"}, APIVersions: []string{"*"}, Resources: []string{"configmaps", "secrets"}}}},
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	if err := c.Create(ctx, hook); err != nil {
		t.Fatal(err)
	}
	pools := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "captmachinepools.infrastructure.cluster.x-k8s.io"}}
	if err := c.Delete(ctx, pools); err != nil {
		t.Fatal(err)
	}
	clusters := &apiextensionsv1.CustomResourceDefinition{}
	if err := c.Get(ctx, client.ObjectKey{Name: "captclusters.infrastructure.cluster.x-k8s.io"}, clusters); err != nil {
		t.Fatal(err)
	}
	clusters.Spec.Versions[0].AdditionalPrinterColumns = nil
	if err := c.Update(ctx, clusters); err != nil {
		t.Fatal(err)
	}

	e, err = attach(ctx, dir)
	if err != nil {
		t.Fatalf("the next test binary could not use the server: %v", err)
	}
	// attach checked the whole snapshot; a few by hand, so that a snapshot that misses
	// them would fail here too.
	for _, obj := range []client.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, hook,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "left", Namespace: "default"}}, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "left"}}} {
		if err := e.Gone(obj); err != nil {
			t.Errorf("left over: %v", err)
		}
	}
	if err := e.Client.Get(ctx, client.ObjectKeyFromObject(pools), pools); err != nil {
		t.Errorf("the deleted CRD is not back: %v", err)
	}
	if err := e.Client.Get(ctx, client.ObjectKeyFromObject(clusters), clusters); err != nil || len(clusters.Spec.Versions[0].AdditionalPrinterColumns) == 0 {
		t.Errorf("the changed CRD is not as it was (%v)", err)
	}

	// Changed in place: nothing can say what it was, so the server is not used.
	def := &corev1.Namespace{}
	if err := e.Client.Get(ctx, client.ObjectKey{Name: "default"}, def); err != nil {
		t.Fatal(err)
	}
	def.Labels = map[string]string{"changed": "by-a-test"}
	if err := e.Client.Update(ctx, def); err != nil {
		t.Fatal(err)
	}
	if _, err := attach(ctx, dir); err == nil || !strings.Contains(err.Error(), "/namespaces//default changed") {
		t.Errorf("a namespace of the snapshot changed in place: attach said %v, want it to refuse the server", err)
	}
}
