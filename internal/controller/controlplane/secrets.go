package controlplane

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

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

// desiredSecrets reads the kubeconfig and the CA from the outputs: a kubeconfig output
// is published as is (moduleKubeconfig); without one, CAPT builds the kubeconfig with a
// token it mints (publishKubeconfig).
func desiredSecrets(outputs workspace.Outputs) (moduleKubeconfig, caPEM []byte, prob *observed.Problem) {
	var kubeconfigCA []byte
	if name, value, ok := outputs.First(controlplanev1.KubeconfigOutputs...); ok {
		ca, err := kubeconfig.Validate([]byte(value))
		if err != nil {
			return nil, nil, &observed.Problem{Reason: controlplanev1.KubeconfigInvalidReason, Message: fmt.Sprintf("output %s %s", name, err)}
		}
		moduleKubeconfig, kubeconfigCA = []byte(value), ca
	}
	if name, value, ok := outputs.First(controlplanev1.CAOutputs...); ok {
		ca, err := kubeconfig.ParseCA(value)
		if err != nil {
			return nil, nil, &observed.Problem{Reason: controlplanev1.CAInvalidReason, Message: fmt.Sprintf("output %s %s", name, err)}
		}
		caPEM = ca
	} else if len(kubeconfigCA) > 0 {
		caPEM = kubeconfigCA
	}
	if len(caPEM) == 0 {
		return nil, nil, &observed.Problem{Reason: controlplanev1.CAOutputMissingReason, Message: fmt.Sprintf("no output %v and no kubeconfig output with a CA", controlplanev1.CAOutputs)}
	}
	return moduleKubeconfig, caPEM, nil
}

// eksClusterName is the EKS cluster name from the outputs, or the Cluster's name.
func eksClusterName(outputs workspace.Outputs, cluster *clusterv1.Cluster) string {
	if _, v, ok := outputs.First(controlplanev1.ClusterNameOutputs...); ok {
		return v
	}
	return cluster.Name
}

// publishKubeconfig writes the contract's secrets. With a module kubeconfig it writes
// it and the CA. Otherwise (EKS) it writes <cluster>-kubeconfig with a token CAPT mints
// and refreshes, the CA, and <cluster>-user-kubeconfig with the exec user for people.
// It records the source, the identity and the token's state in s, and returns when the
// next pass must come (the token's refresh), zero when no timer is needed.
func (r *Reconciler) publishKubeconfig(ctx context.Context, s *scope, outputs workspace.Outputs, moduleKubeconfig, caPEM []byte, region string) (time.Time, *observed.Problem, error) {
	cp, cluster := s.cp, s.cluster
	owner := *metav1.NewControllerRef(cp, controlplanev1.GroupVersion.WithKind("CAPTControlPlane"))
	secret := func(name string, data map[string][]byte) *corev1.Secret {
		return kubeconfig.Secret(cluster.Namespace, name, cluster.Name, owner, data)
	}
	ca := secretWrite{secret: secret(kubeconfig.CASecretName(cluster.Name), map[string][]byte{kubeconfig.CertificateKey: caPEM})}
	if moduleKubeconfig != nil {
		s.kubeconfig = &controlplanev1.KubeconfigStatus{Source: controlplanev1.KubeconfigSourceModule}
		s.tokenChecked = true
		kc := secretWrite{secret: secret(kubeconfig.SecretName(cluster.Name), map[string][]byte{kubeconfig.KubeconfigKey: moduleKubeconfig})}
		prob, err := r.reconcileSecrets(ctx, cp, kc, ca)
		return time.Time{}, prob, err
	}

	eksName := eksClusterName(outputs, cluster)
	ep := cp.Spec.ControlPlaneEndpoint
	if region == "" {
		// No CAPTCluster (a Cluster without infrastructure): EKS endpoints name theirs,
		// else the manager's own region, as `aws eks get-token` would take it.
		region = cmp.Or(endpointRegion(ep.Host), r.DefaultRegion)
	}
	server := endpoint.URL(ep.Host, ep.Port)
	userData, err := kubeconfig.Build(cluster.Name, server, caPEM, kubeconfig.EKSUser(eksName, region))
	if err != nil {
		return time.Time{}, &observed.Problem{Reason: controlplanev1.SecretsNotReadyReason, Message: err.Error()}, nil //nolint:nilerr // a kubeconfig that does not encode is the condition
	}
	// The CA and the people's kubeconfig need no token: they are written even when no
	// token can be minted.
	writes := []secretWrite{ca, {secret: secret(kubeconfig.UserSecretName(cluster.Name), map[string][]byte{kubeconfig.KubeconfigKey: userData})}}

	id, idProblem, err := r.resolveIdentity(ctx, cp)
	if err != nil {
		return time.Time{}, nil, err
	}
	s.kubeconfig = &controlplanev1.KubeconfigStatus{Source: controlplanev1.KubeconfigSourceEKSToken, Identity: id.name}
	s.tokenChecked, s.tokenProblem, s.eksName, s.tokenInterval = true, idProblem, eksName, r.tokenRefreshInterval()
	if region == "" && s.tokenProblem == nil {
		s.tokenProblem = &observed.Problem{Reason: controlplanev1.TokenMintFailedReason, Message: "No region to sign a token for: no CAPTCluster spec.region, no EKS endpoint, no AWS_REGION in the manager"}

	}
	have, err := r.publishedKubeconfig(ctx, cp, cluster.Name)
	if err != nil {
		return time.Time{}, nil, err
	}
	var tok eksToken
	if s.tokenProblem == nil {
		tok, s.tokenProblem = r.token(ctx, cp, have, id, eksName, region)
	}
	if s.tokenProblem == nil {
		data, err := eksKubeconfig(cluster.Name, server, caPEM, tok.value)
		if err != nil {
			return time.Time{}, &observed.Problem{Reason: controlplanev1.SecretsNotReadyReason, Message: err.Error()}, nil //nolint:nilerr // a kubeconfig that does not encode is the condition
		}
		kc := secret(kubeconfig.SecretName(cluster.Name), data)
		kc.Annotations = map[string]string{tokenForAnnotation: tokenFor(eksName, id)}
		// A refreshed token is the timer's one write, not news: no event.
		writes = append([]secretWrite{{secret: kc, quiet: tok.minted}}, writes...)
	}
	prob, err := r.reconcileSecrets(ctx, cp, writes...)
	if prob != nil || err != nil {
		return time.Time{}, prob, err
	}
	if s.tokenProblem != nil && have == nil {
		// Nothing published yet: the secrets are not all there, for the token's reason.
		return time.Time{}, s.tokenProblem, nil
	}
	return tok.refreshAt, nil, nil
}

// endpointRegion is the region of an EKS endpoint host (<id>.<zone>.<region>.eks.amazonaws.com),
// or "".
func endpointRegion(host string) string {
	labels := strings.Split(host, ".")
	if n := len(labels); n >= 5 && strings.Join(labels[n-3:], ".") == "eks.amazonaws.com" {
		return labels[n-4]
	}
	return ""
}

// secretWrite is one secret to write; quiet says its rewrite makes no event.
type secretWrite struct {
	secret *corev1.Secret
	quiet  bool
}

// reconcileSecrets writes the secrets whose content differs, and never touches a secret
// of that name that another owner controls. It returns nil when all exist and match,
// the problem when one is someone else's or the API server refuses it, and an error
// when it could not read or write them.
func (r *Reconciler) reconcileSecrets(ctx context.Context, cp *controlplanev1.CAPTControlPlane, want ...secretWrite) (*observed.Problem, error) {
	var rewritten []string
	defer func() {
		// A secret written the first time makes no event (SecretsReady and the Available
		// event say it); one CAPT had to rewrite, because someone changed it or the
		// outputs changed, is worth telling, even when the next secret then failed.
		if len(rewritten) > 0 {
			r.Recorder.Eventf(cp, nil, "Normal", "SecretsRewritten", "WriteSecrets", "Rewrote secrets %v", rewritten)
		}
	}()
	for _, w := range want {
		updated, prob, err := r.writeSecret(ctx, cp, w.secret)
		if prob != nil || err != nil {
			return prob, err
		}
		if updated && !w.quiet {
			rewritten = append(rewritten, w.secret.Name)
		}
	}
	return nil, nil
}

// writeSecret creates or updates one secret when its content differs, and says whether
// it updated one that existed; Secrets are read from the API server (the cache holds
// their metadata only). A write the API server refuses for what it carries is a
// problem; any other failure is an error.
func (r *Reconciler) writeSecret(ctx context.Context, cp *controlplanev1.CAPTControlPlane, want *corev1.Secret) (bool, *observed.Problem, error) {
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
		return false, &observed.Problem{Reason: controlplanev1.SecretOwnedByOtherReason, Message: fmt.Sprintf(
				"Secret %s exists and is not controlled by this CAPTControlPlane; it is left alone", want.Name)},
			nil
	}
	if !adopt && have.Type == want.Type && have.Labels[clusterv1.ClusterNameLabel] == want.Labels[clusterv1.ClusterNameLabel] &&
		hasAll(have.Annotations, want.Annotations) && sameData(have.Data, want.Data) {
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
	if len(want.Annotations) > 0 {
		if have.Annotations == nil {
			have.Annotations = map[string]string{}
		}
		maps.Copy(have.Annotations, want.Annotations)
	}
	have.Data = want.Data
	if err := r.Client.Update(ctx, have); err != nil {
		prob, err := writeFailure("updating", want.Name, err)
		return false, prob, err
	}
	return true, nil, nil
}

// writeFailure is a refused write as the SecretsReady problem, any other failure as the
// pass's error.
func writeFailure(verb, name string, err error) (*observed.Problem, error) {
	if observed.Refused(err) {
		return &observed.Problem{Reason: controlplanev1.SecretsNotReadyReason, Message: fmt.Sprintf("%s Secret %s: %s", verb, name, observed.Describe(err))}, nil
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

// hasAll says have carries every entry of want.
func hasAll(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
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
