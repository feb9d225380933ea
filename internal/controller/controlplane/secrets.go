package controlplane

import (
	"bytes"
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/endpoint"
	"github.com/capt-dev/capt/internal/kubeconfig"
	"github.com/capt-dev/capt/internal/workspace"
)

// desiredSecrets builds the kubeconfig and CA from the outputs: a kubeconfig output is
// used as is; otherwise one is built from the endpoint and the CA with an exec user
// (`aws eks get-token`), so no credential is stored.
func desiredSecrets(cp *controlplanev1.CAPTControlPlane, cluster *clusterv1.Cluster, outputs workspace.Outputs, region string) (kubeconfigData, caPEM []byte, prob *problem) {
	var kubeconfigCA []byte
	if name, value, ok := outputs.First(controlplanev1.KubeconfigOutputs...); ok {
		ca, err := kubeconfig.Validate([]byte(value))
		if err != nil {
			return nil, nil, &problem{controlplanev1.KubeconfigInvalidReason, fmt.Sprintf("output %s %s", name, err)}
		}
		kubeconfigData, kubeconfigCA = []byte(value), ca
	}
	if name, value, ok := outputs.First(controlplanev1.CAOutputs...); ok {
		ca, err := kubeconfig.ParseCA(value)
		if err != nil {
			return nil, nil, &problem{controlplanev1.CAInvalidReason, fmt.Sprintf("output %s %s", name, err)}
		}
		caPEM = ca
	} else if len(kubeconfigCA) > 0 {
		caPEM = kubeconfigCA
	}
	if len(caPEM) == 0 {
		return nil, nil, &problem{controlplanev1.CAOutputMissingReason, fmt.Sprintf("no output %v and no kubeconfig output with a CA", controlplanev1.CAOutputs)}
	}
	if kubeconfigData == nil {
		eksName := cluster.Name
		if _, v, ok := outputs.First(controlplanev1.ClusterNameOutputs...); ok {
			eksName = v
		}
		ep := cp.Spec.ControlPlaneEndpoint
		data, err := kubeconfig.Build(cluster.Name, endpoint.URL(ep.Host, ep.Port), caPEM, kubeconfig.EKSUser(eksName, region))
		if err != nil {
			return nil, nil, &problem{controlplanev1.SecretsNotReadyReason, err.Error()}
		}
		kubeconfigData = data
	}
	return kubeconfigData, caPEM, nil
}

// reconcileSecrets writes <cluster>-kubeconfig and <cluster>-ca when their content
// differs, and never touches a secret of that name that another owner controls. It
// returns nil when both exist and match, the problem when one is someone else's or the
// API server refuses it, and an error when it could not read or write them.
func (r *Reconciler) reconcileSecrets(ctx context.Context, cp *controlplanev1.CAPTControlPlane, cluster *clusterv1.Cluster, kubeconfigData, caPEM []byte) (*problem, error) {
	owner := *metav1.NewControllerRef(cp, controlplanev1.GroupVersion.WithKind("CAPTControlPlane"))
	want := []*corev1.Secret{
		kubeconfig.Secret(cluster.Namespace, kubeconfig.SecretName(cluster.Name), cluster.Name, owner,
			map[string][]byte{kubeconfig.KubeconfigKey: kubeconfigData}),
		kubeconfig.Secret(cluster.Namespace, kubeconfig.CASecretName(cluster.Name), cluster.Name, owner,
			map[string][]byte{kubeconfig.CertificateKey: caPEM}),
	}
	var rewritten []string
	defer func() {
		// A secret written the first time makes no event (SecretsReady and the Available
		// event say it); one CAPT had to rewrite, because someone changed it or the
		// outputs changed, is worth telling, even when the second secret then failed.
		if len(rewritten) > 0 {
			r.Recorder.Eventf(cp, nil, "Normal", "SecretsRewritten", "WriteSecrets", "Rewrote secrets %v", rewritten)
		}
	}()
	for _, s := range want {
		updated, prob, err := r.writeSecret(ctx, cp, s)
		if prob != nil || err != nil {
			return prob, err
		}
		if updated {
			rewritten = append(rewritten, s.Name)
		}
	}
	return nil, nil
}

// writeSecret creates or updates one secret when its content differs, and says whether
// it updated one that existed; Secrets are read from the API server (the cache holds
// their metadata only). A write the API server refuses for what it carries is a
// problem; any other failure is an error.
func (r *Reconciler) writeSecret(ctx context.Context, cp *controlplanev1.CAPTControlPlane, want *corev1.Secret) (bool, *problem, error) {
	have := &corev1.Secret{}
	err := r.getSecret(ctx, client.ObjectKeyFromObject(want), have)
	if apierrors.IsNotFound(err) {
		err = r.Client.Create(ctx, want)
		if err == nil {
			return false, nil, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			prob, err := writeFailure("creating", want.Name, err)
			return false, prob, err
		}
		// The cache had not seen it yet: compare with the API server's copy.
		err = r.APIReader.Get(ctx, client.ObjectKeyFromObject(want), have)
	}
	adopt := false
	switch {
	case err != nil:
		return false, nil, fmt.Errorf("reading Secret %s: %w", want.Name, err)
	case adoptable(have, want):
		adopt = true
	case !metav1.IsControlledBy(have, cp):
		return false, &problem{controlplanev1.SecretOwnedByOtherReason, fmt.Sprintf(
			"Secret %s exists and is not controlled by this CAPTControlPlane; it is left alone", want.Name)}, nil
	}
	if !adopt && have.Type == want.Type && have.Labels[clusterv1.ClusterNameLabel] == want.Labels[clusterv1.ClusterNameLabel] && sameData(have.Data, want.Data) {
		return false, nil, nil
	}
	if adopt {
		have.OwnerReferences = append(have.OwnerReferences, want.OwnerReferences...)
	}
	have.Type = want.Type
	if have.Labels == nil {
		have.Labels = map[string]string{}
	}
	maps.Copy(have.Labels, want.Labels)
	have.Data = want.Data
	if err := r.Client.Update(ctx, have); err != nil {
		prob, err := writeFailure("updating", want.Name, err)
		return false, prob, err
	}
	return true, nil, nil
}

// writeFailure is a refused write as the SecretsReady problem, any other failure as the
// pass's error.
func writeFailure(verb, name string, err error) (*problem, error) {
	if observed.Refused(err) {
		return &problem{controlplanev1.SecretsNotReadyReason, fmt.Sprintf("%s Secret %s: %s", verb, name, observed.Describe(err))}, nil
	}
	return nil, fmt.Errorf("%s Secret %s: %w", verb, name, err)
}

// adoptable says a secret lost its controller reference but is this cluster's contract
// secret: no controller at all, Cluster API's secret type and the Cluster's label, as
// CAPT writes it. Cluster API's own resilience checks remove owner references; the
// control plane takes such a secret back instead of reporting it as someone else's.
func adoptable(have, want *corev1.Secret) bool {
	return metav1.GetControllerOf(have) == nil && have.Type == want.Type &&
		have.Labels[clusterv1.ClusterNameLabel] == want.Labels[clusterv1.ClusterNameLabel]
}

// getSecret reads a Secret from the API server (the cache holds Secrets' metadata only),
// unless the metadata cache says it does not exist: waiting for a secret that is not
// there yet costs no request. A secret newer than the cache is caught by its watch
// event, or by the AlreadyExists of a create.
func (r *Reconciler) getSecret(ctx context.Context, key client.ObjectKey, s *corev1.Secret) error {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := r.Client.Get(ctx, key, m); err != nil {
		return err
	}
	return r.APIReader.Get(ctx, key, s)
}

func sameData(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
