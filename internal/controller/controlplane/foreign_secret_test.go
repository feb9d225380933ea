package controlplane

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	"github.com/capt-dev/capt/internal/kubeconfig"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestDeletionLeavesAForeignSecret (docs/controlplane.md, "What CAPT writes" and
// "Deletion" step 4): the control plane's deletion deletes the secrets that are its own
// (here the Workspace's connection secret) and leaves a contract secret's namesake that
// someone else owns as it is.
func TestDeletionLeavesAForeignSecret(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: kubeconfig.SecretName("kept")},
		Data: map[string][]byte{"value": []byte("someone else's")}}
	create(t, foreign)
	_, cp := newCluster(t, ns, "kept")
	goodProvider(t).apply(t, cp)
	waitCP(t, cp, "owned by other", condIs(controlplanev1.SecretsReadyCondition, metav1.ConditionFalse, controlplanev1.SecretOwnedByOtherReason))
	// The Workspace's connection secret, which step 4 deletes with the contract secrets.
	connection := client.ObjectKey{Namespace: ns, Name: outputsSecretName(cp)}
	if err := env.Client.Get(ctx, connection, &corev1.Secret{}); err != nil {
		t.Fatal(err)
	}

	if err := env.Client.Delete(ctx, getCP(t, cp)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "control plane gone", func() error { return gone(&controlplanev1.CAPTControlPlane{ObjectMeta: cp.ObjectMeta}) })
	kept := &corev1.Secret{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(foreign), kept); err != nil || string(kept.Data["value"]) != "someone else's" {
		t.Errorf("the secret someone else owns was deleted or changed by the control plane's deletion: %v %q", err, kept.Data["value"])
	}
	if err := env.Client.Get(ctx, connection, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Workspace's connection secret is left (step 4 did not run): %v", err)
	}
}
