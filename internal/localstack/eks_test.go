package localstack_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/capt-dev/capt/internal/ekstoken"
	"github.com/capt-dev/capt/internal/localstack"
)

// The real kube-apiserver, in the stack's EKS mode, authenticates the tokens CAPT mints
// with aws-iam-authenticator's verifier, as EKS does: a token signed for the stack's EKS
// cluster name with the test identity's keys is the cluster admin; one signed for another
// cluster name, or with another secret, is refused (401); and so is a good one once the
// (shortened) lifetime has passed.
func TestEKSModeAuthenticatesEKSTokens(t *testing.T) {
	const lifetime = 3 * time.Second
	root, err := localstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	binDir := os.Getenv("KUBEBUILDER_ASSETS")
	if binDir == "" {
		binDir = filepath.Join(root, "bin")
	}
	stack, err := localstack.StartAPIServer(localstack.Options{
		Root: root, BinDir: binDir, DataDir: filepath.Join(t.TempDir(), "stack"),
		EKS: &localstack.EKSOptions{TokenLifetime: lifetime},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stack.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			// What the webhook refused, and why (it logs no token).
			if log, err := os.ReadFile(filepath.Join(stack.Logs(), "eks-token-webhook.log")); err == nil {
				t.Logf("eks-token-webhook.log:\n%s", log)
			}
		}
	})
	auth := stack.EKSAuth
	if auth == nil || auth.ClusterName != localstack.EKSClusterName || auth.Region != localstack.EKSRegion || auth.TokenLifetime != lifetime {
		t.Fatalf("EKS mode reports %+v", auth)
	}
	ctx := t.Context()
	creds := auth.Credentials
	good := mint(t, creds.AccessKeyID, creds.SecretAccessKey, auth.ClusterName)

	// The identity is the ARN, in system:masters (its access entry is cluster-admin).
	review, err := clientset(t, stack, good.Value).AuthenticationV1().SelfSubjectReviews().
		Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a token signed for %s with the test identity: %v", auth.ClusterName, err)
	}
	if u := review.Status.UserInfo; u.Username != localstack.EKSAdminARN || !slices.Contains(u.Groups, "system:masters") {
		t.Fatalf("authenticated as %q in %v, want %q in system:masters", u.Username, u.Groups, localstack.EKSAdminARN)
	}
	if _, err := clientset(t, stack, good.Value).CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("the admin's token cannot list namespaces: %v", err)
	}

	unauthorized(t, stack, "a token signed for another cluster name",
		mint(t, creds.AccessKeyID, creds.SecretAccessKey, "another-cluster").Value)
	unauthorized(t, stack, "a token signed with another secret",
		mint(t, creds.AccessKeyID, creds.SecretAccessKey+"x", auth.ClusterName).Value)
	unauthorized(t, stack, "a token of an unknown access key",
		mint(t, "AKIAUNKNOWNUNKNOWN01", creds.SecretAccessKey, auth.ClusterName).Value)

	// A token kube-apiserver has not seen is refused as soon as its lifetime has passed
	// (signed a second later than the first: X-Amz-Date has whole seconds, and an
	// identical token would be in kube-apiserver's cache)...
	time.Sleep(time.Until(good.SignedAt.Add(time.Second + 100*time.Millisecond)))
	unseen := mint(t, creds.AccessKeyID, creds.SecretAccessKey, auth.ClusterName)
	if unseen.Value == good.Value {
		t.Fatal("minted the same token twice")
	}
	time.Sleep(time.Until(unseen.SignedAt.Add(lifetime + 1100*time.Millisecond)))
	unauthorized(t, stack, "an unused token past its lifetime", unseen.Value)
	// ...and one it accepted once, when kube-apiserver's cache of successful
	// authentications (10 s, not a flag) has let it go too.
	time.Sleep(time.Until(good.SignedAt.Add(lifetime + 11*time.Second)))
	unauthorized(t, stack, "a used token past its lifetime and the cache", good.Value)
}

func mint(t *testing.T, accessKeyID, secret, cluster string) ekstoken.Token {
	t.Helper()
	tok, err := ekstoken.Mint(t.Context(), credentials.NewStaticCredentialsProvider(accessKeyID, secret, ""), localstack.EKSRegion, cluster)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// clientset reaches the stack's kube-apiserver with nothing but the bearer token.
func clientset(t *testing.T, stack *localstack.Stack, token string) *kubernetes.Clientset {
	t.Helper()
	cfg := &rest.Config{Host: stack.Config.Host, BearerToken: token, Timeout: 10 * time.Second}
	cfg.CAData = stack.Config.CAData
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func unauthorized(t *testing.T, stack *localstack.Stack, what, token string) {
	t.Helper()
	_, err := clientset(t, stack, token).CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Fatalf("%s: got %v, want 401 Unauthorized", what, err)
	}
}
