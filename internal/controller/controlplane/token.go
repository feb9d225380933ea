package controlplane

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/ekstoken"
	"github.com/capt-dev/capt/internal/kubeconfig"
)

// Keys of an identity Secret (spec.identityRef), as CAPA's static identities name them.
const (
	identityAccessKeyID     = "AccessKeyID"
	identitySecretAccessKey = "SecretAccessKey"
	identitySessionToken    = "SessionToken"
)

// defaultChainIdentity names the manager's own credentials in status and messages.
const defaultChainIdentity = "DefaultChain"

// tokenForAnnotation records on <cluster>-kubeconfig which EKS cluster name and identity
// its token was signed for: a change of either needs a new token before the next
// refresh, and neither can be read back from the token (the name is only signed).
const tokenForAnnotation = "controlplane.cluster.x-k8s.io/eks-token-for"

// DefaultTokenRefreshInterval is --eks-token-refresh-interval's default: EKS accepts a
// token for 15 minutes and clients stop using it after 14.
const DefaultTokenRefreshInterval = 10 * time.Minute

// identity is whose credentials sign a cluster's tokens.
type identity struct {
	// name is "Secret/<name>" or "DefaultChain" (status.kubeconfig.identity).
	name  string
	creds aws.CredentialsProvider
	// accessKeyID is the static key of an identity Secret: a token signed with another
	// key is replaced at once. Empty for the default chain, whose keys rotate by
	// themselves.
	accessKeyID string
}

// resolveIdentity reads spec.identityRef's Secret, in the CAPTControlPlane's own
// namespace only, or takes the manager's default chain. A missing or incomplete Secret
// is a problem, never a fallback to the manager's identity.
func (r *Reconciler) resolveIdentity(ctx context.Context, cp *controlplanev1.CAPTControlPlane) (identity, *observed.Problem, error) {
	if cp.Spec.IdentityRef == nil {
		if r.DefaultCredentials == nil {
			return identity{name: defaultChainIdentity}, &observed.Problem{Reason: controlplanev1.TokenMintFailedReason, Message: "The manager has no AWS credentials (default chain) and spec.identityRef is not set"},
				nil
		}
		return identity{name: defaultChainIdentity, creds: r.DefaultCredentials}, nil, nil
	}
	id := identity{name: "Secret/" + cp.Spec.IdentityRef.Name}
	s := &corev1.Secret{}
	err := r.getSecret(ctx, client.ObjectKey{Namespace: cp.Namespace, Name: cp.Spec.IdentityRef.Name}, s)
	switch {
	case apierrors.IsNotFound(err):
		return id, &observed.Problem{Reason: controlplanev1.IdentityNotFoundReason, Message: fmt.Sprintf(
				"spec.identityRef: Secret %s not found in namespace %s", cp.Spec.IdentityRef.Name, cp.Namespace)},
			nil
	case err != nil:
		return id, nil, fmt.Errorf("reading the identity Secret %s: %w", cp.Spec.IdentityRef.Name, err)
	}
	key, secret := string(s.Data[identityAccessKeyID]), string(s.Data[identitySecretAccessKey])
	if key == "" || secret == "" {
		// Only the key names: the values are never quoted.
		return id, &observed.Problem{Reason: controlplanev1.IdentityInvalidReason, Message: fmt.Sprintf(
				"spec.identityRef: Secret %s needs the keys %s and %s", cp.Spec.IdentityRef.Name, identityAccessKeyID, identitySecretAccessKey)},
			nil
	}
	id.accessKeyID = key
	id.creds = credentials.NewStaticCredentialsProvider(key, secret, string(s.Data[identitySessionToken]))
	return id, nil, nil
}

// eksToken is the token <cluster>-kubeconfig carries after this pass.
type eksToken struct {
	value string
	// minted says it was signed in this pass: its write is a refresh, not news.
	minted bool
	// refreshAt is when the next pass replaces it.
	refreshAt time.Time
}

// token returns the token the kubeconfig secret holds when it is still the one to use
// (signed for this EKS cluster, identity, region and key, and before its refresh time),
// or mints a new one. A failed mint is a problem; the published secret stays as it is.
func (r *Reconciler) token(ctx context.Context, cp *controlplanev1.CAPTControlPlane, have *corev1.Secret, id identity, eksName, region string) (eksToken, *observed.Problem) {
	interval := r.tokenRefreshInterval()
	key := string(cp.UID)
	if have != nil && have.Annotations[tokenForAnnotation] == tokenFor(eksName, id) {
		value := string(have.Data[kubeconfig.TokenFileKey])
		if p, err := ekstoken.Parse(value); err == nil && p.Region == region && (id.accessKeyID == "" || p.AccessKeyID == id.accessKeyID) {
			if at := ekstoken.RefreshAt(p.SignedAt, interval, key); time.Now().Before(at) {
				return eksToken{value: value, refreshAt: at}, nil
			}
		}
	}
	t, err := ekstoken.Mint(ctx, id.creds, region, eksName)
	if err != nil {
		return eksToken{}, &observed.Problem{Reason: controlplanev1.TokenMintFailedReason, Message: fmt.Sprintf(
			"Signing a token for EKS cluster %s with %s: %s", eksName, id.name, err)}
	}
	ctrl.LoggerFrom(ctx).V(4).Info("Minted EKS token", "eksCluster", eksName, "identity", id.name)
	return eksToken{value: t.Value, minted: true, refreshAt: ekstoken.RefreshAt(t.SignedAt, interval, key)}, nil
}

func tokenFor(eksName string, id identity) string { return eksName + " " + id.name }

func (r *Reconciler) tokenRefreshInterval() time.Duration {
	if r.TokenRefreshInterval <= 0 {
		return DefaultTokenRefreshInterval
	}
	return r.TokenRefreshInterval
}
