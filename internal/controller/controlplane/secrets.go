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
	"github.com/capt-dev/capt/internal/kubeconfig"
)

// secretWrite is one secret to write; quiet says its rewrite makes no event.
type secretWrite struct {
	secret *corev1.Secret
	quiet  bool
}

// reconcileSecrets writes the secrets whose content differs, and never touches a secret
// of that name that another owner controls. It returns nil when all exist and match,
// the problem when one is someone else's or the API server refuses it (refused: nothing
// CAPT watches will change that, only a retry after the error interval), and an error
// when it could not read or write them.
func (r *Reconciler) reconcileSecrets(ctx context.Context, cp *controlplanev1.CAPTControlPlane, want ...secretWrite) (prob *observed.Problem, refused bool, err error) {
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
		var updated bool
		if updated, prob, refused, err = r.writeSecret(ctx, cp, w.secret); prob != nil || err != nil {
			return prob, refused, err
		}
		if updated && !w.quiet {
			rewritten = append(rewritten, w.secret.Name)
		}
	}
	return nil, false, nil
}

// writeSecret creates or updates one secret when its content differs, and says whether
// it updated one that existed; Secrets are read from the API server (the cache holds
// their metadata only). A secret of that name another owner controls is a problem, and
// so is a write the API server refuses for what it carries (refused); any other failure
// is an error.
func (r *Reconciler) writeSecret(ctx context.Context, cp *controlplanev1.CAPTControlPlane, want *corev1.Secret) (updated bool, prob *observed.Problem, refused bool, err error) {
	have := &corev1.Secret{}
	err = r.getSecret(ctx, client.ObjectKeyFromObject(want), have)
	if apierrors.IsNotFound(err) {
		err = r.Client.Create(ctx, want)
		if err == nil {
			return false, nil, false, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			prob, refused, err = writeFailure("creating", want.Name, err)
			return false, prob, refused, err
		}
		// The cache had not seen it yet: compare with the API server's copy.
		err = r.APIReader.Get(ctx, client.ObjectKeyFromObject(want), have)
	}
	adopt := false
	switch {
	case err != nil:
		return false, nil, false, fmt.Errorf("reading Secret %s: %w", want.Name, err)
	case adoptable(have, want):
		adopt = true
	case !metav1.IsControlledBy(have, cp):
		return false, &observed.Problem{Reason: controlplanev1.SecretOwnedByOtherReason, Message: fmt.Sprintf(
				"Secret %s exists and is not controlled by this CAPTControlPlane; it is left alone", want.Name)},
			false, nil
	}
	if !adopt && have.Type == want.Type && have.Labels[clusterv1.ClusterNameLabel] == want.Labels[clusterv1.ClusterNameLabel] &&
		hasAll(have.Annotations, want.Annotations) && maps.EqualFunc(have.Data, want.Data, bytes.Equal) {
		return false, nil, false, nil
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
	if err = r.Client.Update(ctx, have); err != nil {
		prob, refused, err = writeFailure("updating", want.Name, err)
		return false, prob, refused, err
	}
	return true, nil, false, nil
}

// writeFailure is a refused write as the SecretsReady problem (refused), any other
// failure as the pass's error.
func writeFailure(verb, name string, err error) (prob *observed.Problem, refused bool, _ error) {
	if observed.Refused(err) {
		return &observed.Problem{Reason: controlplanev1.SecretsNotReadyReason, Message: fmt.Sprintf("%s Secret %s: %s", verb, name, observed.Describe(err))}, true, nil
	}
	return nil, false, fmt.Errorf("%s Secret %s: %w", verb, name, err)
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

// publishedKubeconfig is the control plane's own <cluster>-kubeconfig as the API server
// has it, or nil when there is none (or it is someone else's: writeSecret reports that).
func (r *Reconciler) publishedKubeconfig(ctx context.Context, cp *controlplanev1.CAPTControlPlane, clusterName string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := r.getSecret(ctx, client.ObjectKey{Namespace: cp.Namespace, Name: kubeconfig.SecretName(clusterName)}, s)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading Secret %s: %w", kubeconfig.SecretName(clusterName), err)
	}
	if !metav1.IsControlledBy(s, cp) {
		return nil, nil
	}
	return s, nil
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
