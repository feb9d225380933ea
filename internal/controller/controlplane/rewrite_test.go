package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/capt-dev/capt/internal/kubeconfig"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestChangedSecretIsRewrittenAndTold (docs/controlplane.md, "What CAPT writes" and the
// events): a contract secret someone changed is written back at once (its change is
// watched), with one SecretsRewritten event; a new endpoint reaches the Cluster with one
// EndpointChanged event.
func TestChangedSecretIsRewrittenAndTold(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	cluster, cp := newCluster(t, ns, "tampered")
	goodProvider(t).apply(t, cp)
	waitReady(t, cp, "Ready")

	caKey := client.ObjectKey{Namespace: ns, Name: kubeconfig.CASecretName(cluster.Name)}
	want := secretData(t, ns, caKey.Name, kubeconfig.CertificateKey)
	testenv.Eventually(t, "someone changes the CA secret", func() error {
		s := &corev1.Secret{}
		if err := env.Client.Get(ctx, caKey, s); err != nil {
			return err
		}
		s.Data[kubeconfig.CertificateKey] = []byte("not the cluster's CA")
		return env.Client.Update(ctx, s)
	})
	testenv.Eventually(t, "the CA secret written back", func() error {
		if got := secretData(t, ns, caKey.Name, kubeconfig.CertificateKey); !bytes.Equal(got, want) {
			return errors.New("the CA secret still holds someone else's data")
		}
		return nil
	})
	waitEvents(t, ns, cp.Name, "SecretsRewritten", 1)

	moved := goodProvider(t)
	moved.endpoint = "https://MOVED.gr7.us-west-2.eks.amazonaws.com"
	moved.apply(t, cp)
	testenv.Eventually(t, "the new endpoint on the Cluster", func() error {
		if h := getCluster(t, cluster).Spec.ControlPlaneEndpoint.Host; h != "moved.gr7.us-west-2.eks.amazonaws.com" {
			return fmt.Errorf("Cluster endpoint host %q", h)
		}
		return nil
	})
	waitEvents(t, ns, cp.Name, "EndpointChanged", 1)
}

// waitEvents waits until the events about name with reason number n (an event recorded
// again is a series of the first).
func waitEvents(t *testing.T, ns, name, reason string, n int32) {
	t.Helper()
	testenv.Eventually(t, fmt.Sprintf("%d %s event(s)", n, reason), func() error {
		list := &eventsv1.EventList{}
		if err := env.Client.List(context.Background(), list, client.InNamespace(ns)); err != nil {
			return err
		}
		var got int32
		for _, e := range list.Items {
			switch {
			case e.Regarding.Name != name || e.Reason != reason:
			case e.Series != nil:
				got += e.Series.Count
			default:
				got++
			}
		}
		if got != n {
			return fmt.Errorf("%d events", got)
		}
		return nil
	})
}
