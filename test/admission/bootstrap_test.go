package admission

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	bootstrapv1 "github.com/capt-dev/capt/api/bootstrap/v1beta1"
)

// TestCAPTNodeGroupBootstrapAdmission: the bootstrap config has no spec to get wrong, and
// its data secret's name can only be empty (a managed node group has no bootstrap data;
// docs/machinepool.md).
func TestCAPTNodeGroupBootstrapAdmission(t *testing.T) {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bootstrap-admission"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	b := &bootstrapv1.CAPTNodeGroupBootstrap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "b"}}
	if err := env.Client.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	b.Status.Initialization.DataSecretCreated = ptr.To(true)
	b.Status.DataSecretName = ptr.To("")
	if err := env.Client.Status().Update(ctx, b); err != nil {
		t.Fatalf("an empty data secret name refused: %v", err)
	}
	b.Status.DataSecretName = ptr.To("bootstrap-data")
	err := env.Client.Status().Update(ctx, b)
	if err == nil || !strings.Contains(err.Error(), "status.dataSecretName") {
		t.Fatalf("a data secret name admitted: %v", err)
	}
}
