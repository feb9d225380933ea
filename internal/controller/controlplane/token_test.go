package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/ekstoken"
	"github.com/capt-dev/capt/internal/kubeconfig"
	"github.com/capt-dev/capt/internal/testenv"
)

// secretOf reads one of the cluster's secrets from the API server.
func secretOf(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
		t.Fatalf("reading Secret %s: %v", name, err)
	}
	return s
}

// publishedToken is the token <cluster>-kubeconfig carries, checked to be the same in
// all three of its forms.
func publishedToken(t *testing.T, ns, cluster string) (string, ekstoken.Parsed) {
	t.Helper()
	s := secretOf(t, ns, kubeconfig.SecretName(cluster))
	token := string(s.Data[kubeconfig.TokenFileKey])
	cfg, err := clientcmd.Load(s.Data[kubeconfig.KubeconfigKey])
	if err != nil {
		t.Fatalf("value does not load: %v", err)
	}
	user := cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo]
	if user == nil || user.Token != token || user.Exec != nil {
		t.Fatalf("value's user %+v does not carry the token of token-file", user)
	}
	relative, err := clientcmd.Load(s.Data[kubeconfig.RelativeKey])
	if err != nil {
		t.Fatalf("relative does not load: %v", err)
	}
	if u := relative.AuthInfos[relative.Contexts[relative.CurrentContext].AuthInfo]; u == nil || u.TokenFile != "./token-file" || u.Token != "" {
		t.Fatalf("relative's user %+v: want tokenFile ./token-file", u)
	}
	p, err := ekstoken.Parse(token)
	if err != nil {
		t.Fatalf("token-file: %v", err)
	}
	return token, p
}

// TestEKSTokenPublished: a module without a kubeconfig output (EKS) gets a kubeconfig
// with a token CAPT minted with the manager's credentials, for the EKS cluster name the
// module outputs, in the region of the endpoint; people get the exec-user kubeconfig.
func TestEKSTokenPublished(t *testing.T) {
	counter := startControllers(t)
	ns := newNamespace(t)
	cluster, cp := newCluster(t, ns, "minted")
	p := goodProvider(t)
	p.extra = map[string]string{"cluster_name": "prod-eks-7"}
	p.apply(t, cp)
	got := waitReady(t, cp, "Ready")

	if k := got.Status.Kubeconfig; k == nil || k.Source != controlplanev1.KubeconfigSourceEKSToken || k.Identity != "DefaultChain" {
		t.Errorf("status.kubeconfig = %+v, want EKSToken from DefaultChain", k)
	}
	if c := cond(got, controlplanev1.TokenReadyCondition); c.Status != metav1.ConditionTrue || c.Reason != controlplanev1.TokenMintedReason ||
		!strings.Contains(c.Message, "prod-eks-7") || !strings.Contains(c.Message, "DefaultChain") {
		t.Errorf("TokenReady = %+v", c)
	}
	_, parsed := publishedToken(t, ns, cluster.Name)
	if parsed.Region != "us-west-2" || parsed.Host != "sts.us-west-2.amazonaws.com" || parsed.AccessKeyID != "AKIACAPTTESTDEFAULT1" {
		t.Errorf("token signed for %s in %s with %s: want the endpoint's region and the default chain's key", parsed.Host, parsed.Region, parsed.AccessKeyID)
	}
	kc := secretOf(t, ns, kubeconfig.SecretName(cluster.Name))
	if kc.Labels[clusterv1.ClusterNameLabel] != cluster.Name || kc.Type != kubeconfig.SecretType || !metav1.IsControlledBy(kc, got) {
		t.Errorf("kubeconfig secret: labels %v, type %s: Cluster API caches only labelled secrets", kc.Labels, kc.Type)
	}

	user := secretOf(t, ns, kubeconfig.UserSecretName(cluster.Name))
	cfg, err := clientcmd.Load(user.Data[kubeconfig.KubeconfigKey])
	if err != nil {
		t.Fatal(err)
	}
	exec := cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo].Exec
	if exec == nil || exec.Command != "aws" || strings.Join(exec.Args, " ") != "eks get-token --cluster-name prod-eks-7 --region us-west-2" {
		t.Errorf("user kubeconfig exec = %+v, want aws eks get-token for prod-eks-7", exec)
	}
	if user.Labels[clusterv1.ClusterNameLabel] != cluster.Name || !metav1.IsControlledBy(user, got) {
		t.Errorf("user kubeconfig secret labels %v", user.Labels)
	}

	// A pass before the refresh time (an unrelated change) keeps the token: no write.
	token, _ := publishedToken(t, ns, cluster.Name)
	counter.Settle(time.Second)
	counter.Reset()
	testenv.Eventually(t, "annotate the control plane", func() error {
		c := getCP(t, cp)
		c.Annotations = map[string]string{"example.com/touched": "yes"}
		return env.Client.Update(context.Background(), c)
	})
	time.Sleep(2 * time.Second)
	if w := counter.In(ns); len(w) != 0 {
		t.Errorf("a pass before the refresh time wrote %v", w)
	}
	if now, _ := publishedToken(t, ns, cluster.Name); now != token {
		t.Error("a pass before the refresh time replaced the token")
	}
}

// TestTokenSignedForTheOutputsClusterName: the token is signed for the EKS cluster name
// the module outputs (cluster_name), which here differs from the Cluster's name and the
// CAPTControlPlane's; EKS refuses a token signed for another name. When the output
// changes, a token for the new name replaces it at once, not at the next refresh. The
// name is in no field of the token, only in its signature: signedFor checks it.
func TestTokenSignedForTheOutputsClusterName(t *testing.T) {
	startControllers(t)
	ns := newNamespace(t)
	cluster, cp := newCluster(t, ns, "signed")
	p := goodProvider(t)
	p.extra = map[string]string{"cluster_name": "prod-eks-signed"}
	p.apply(t, cp)
	waitReady(t, cp, "Ready")

	token, _ := publishedToken(t, ns, cluster.Name)
	for name, want := range map[string]bool{"prod-eks-signed": true, cluster.Name: false, cp.Name: false} {
		if got := signedFor(t, token, name); got != want {
			t.Errorf("token signed for EKS cluster %s: %v, want %v (the output cluster_name is prod-eks-signed)", name, got, want)
		}
	}

	p.extra = map[string]string{"cluster_name": "prod-eks-renamed"}
	p.apply(t, cp)
	testenv.Eventually(t, "a token for the new name", func() error {
		if now, _ := publishedToken(t, ns, cluster.Name); !signedFor(t, now, "prod-eks-renamed") {
			return errors.New("the published token is not signed for prod-eks-renamed")
		}
		return nil
	})
}

// signedFor says token was signed with testCredentials for EKS cluster name: it signs
// the token's own request again, with the name in the x-k8s-aws-id header, at the
// token's date, and compares the signatures.
func signedFor(t *testing.T, token, name string) bool {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, ekstoken.Prefix))
	if err != nil {
		t.Fatalf("token is not base64url: %v", err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	signature := q.Get("X-Amz-Signature")
	signedAt, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		t.Fatal(err)
	}
	// X-Amz-Credential: <key>/<date>/<region>/sts/aws4_request
	scope := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(scope) != 5 {
		t.Fatalf("X-Amz-Credential %v", scope)
	}
	// The signer adds these again; X-Amz-Expires and the action stay signed.
	for _, k := range []string{"X-Amz-Signature", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Security-Token"} {
		q.Del(k)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(ekstoken.ClusterIDHeader, name)
	creds, err := testCredentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	emptyBody := sha256.Sum256(nil)
	again, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, hex.EncodeToString(emptyBody[:]), "sts", scope[2], signedAt)
	if err != nil {
		t.Fatal(err)
	}
	resigned, err := url.Parse(again)
	if err != nil {
		t.Fatal(err)
	}
	return resigned.Query().Get("X-Amz-Signature") == signature
}

// TestTokenRefresh: the token is replaced every interval, and that one Secret write is
// all the control plane writes between refreshes: no status, no event, no other secret.
func TestTokenRefresh(t *testing.T) {
	const interval = 2 * time.Second
	counter, stop := startControllersWith(t, faults{tokenRefresh: interval})
	t.Cleanup(func() { _ = stop() })
	ns := newNamespace(t)
	cluster, cp := newCluster(t, ns, "refresh")
	goodProvider(t).apply(t, cp)
	waitReady(t, cp, "Ready")
	counter.Settle(500 * time.Millisecond)
	counter.Reset()

	first, _ := publishedToken(t, ns, cluster.Name)
	seen := []ekstoken.Parsed{}
	last := first
	for range 3 {
		testenv.Eventually(t, "token replaced", func() error {
			token, p := publishedToken(t, ns, cluster.Name)
			if token == last {
				return errors.New("same token")
			}
			last = token
			seen = append(seen, p)
			return nil
		})
	}
	// Control planes earlier tests left are reconciled by this manager too: count this
	// namespace's writes only.
	writes := counter.In(ns)
	if updates := writes["update Secret"]; updates < 3 || len(writes) != 1 {
		t.Errorf("writes while the token was replaced 3 times: %v; want only Secret updates, one per refresh", writes)
	}
	for i := 1; i < len(seen); i++ {
		// Consecutive refreshes are one interval apart at the cluster's slot; a token's
		// date has second precision and a pass may run late.
		if gap := seen[i].SignedAt.Sub(seen[i-1].SignedAt); gap < interval-time.Second {
			t.Errorf("tokens signed %s apart: refreshed before the interval", gap)
		}
	}
	if c := cond(getCP(t, cp), controlplanev1.TokenReadyCondition); c.Status != metav1.ConditionTrue {
		t.Errorf("TokenReady = %+v", c)
	}
	// Events go through the recorder's own client, not the counted one.
	events := &eventsv1.EventList{}
	if err := env.Client.List(context.Background(), events, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if e.Reason != controlplanev1.AvailableCondition {
			t.Errorf("event %s %q: a refresh is no news, and the creation makes one event", e.Reason, e.Note)
		}
	}
}

// TestIdentitySecret: spec.identityRef is read in the control plane's namespace only; a
// missing or incomplete Secret is a condition (never the manager's identity instead),
// retried, and cleared once the Secret is right; its key signs the token.
func TestIdentitySecret(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns, other := newNamespace(t), newNamespace(t)
	keys := func(namespace string, data map[string]string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "aws-keys"}, StringData: data}
		return s
	}
	// The same name in another namespace must not be found.
	create(t, keys(other, map[string]string{"AccessKeyID": "AKIAOTHERNAMESPACE01", "SecretAccessKey": "other-secret"}))
	cluster, cp := newCluster(t, ns, "identity")
	testenv.Eventually(t, "set identityRef", func() error {
		c := getCP(t, cp)
		c.Spec.IdentityRef = &controlplanev1.IdentityReference{Name: "aws-keys"}
		return env.Client.Update(ctx, c)
	})
	goodProvider(t).apply(t, cp)
	got := waitCP(t, cp, "identity not found", condIs(controlplanev1.TokenReadyCondition, metav1.ConditionFalse, controlplanev1.IdentityNotFoundReason))
	if c := cond(got, controlplanev1.SecretsReadyCondition); c.Reason != controlplanev1.IdentityNotFoundReason {
		t.Errorf("SecretsReady = %+v: no kubeconfig can be published without the identity", c)
	}
	if !strings.Contains(cond(got, controlplanev1.TokenReadyCondition).Message, ns) {
		t.Errorf("TokenReady message %q should name the namespace looked in", cond(got, controlplanev1.TokenReadyCondition).Message)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: kubeconfig.SecretName(cluster.Name)}, &corev1.Secret{}); err == nil {
		t.Error("a kubeconfig was published without the identity")
	}

	create(t, keys(ns, map[string]string{"AccessKeyID": "AKIAIDENTITYSECRET01"}))
	waitCP(t, cp, "identity invalid", condIs(controlplanev1.TokenReadyCondition, metav1.ConditionFalse, controlplanev1.IdentityInvalidReason))

	testenv.Eventually(t, "complete the identity Secret", func() error {
		s := &corev1.Secret{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "aws-keys"}, s); err != nil {
			return err
		}
		s.StringData = map[string]string{"SecretAccessKey": "identity-secret"}
		return env.Client.Update(ctx, s)
	})
	got = waitReady(t, cp, "Ready with the identity")
	if k := got.Status.Kubeconfig; k == nil || k.Identity != "Secret/aws-keys" {
		t.Errorf("status.kubeconfig = %+v, want Secret/aws-keys", k)
	}
	if _, p := publishedToken(t, ns, cluster.Name); p.AccessKeyID != "AKIAIDENTITYSECRET01" {
		t.Errorf("token signed with %s, want the identity Secret's key", p.AccessKeyID)
	}

	// New keys in the Secret: a new token at once, not at the next refresh.
	testenv.Eventually(t, "rotate the keys", func() error {
		s := &corev1.Secret{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "aws-keys"}, s); err != nil {
			return err
		}
		s.StringData = map[string]string{"AccessKeyID": "AKIAIDENTITYSECRET02", "SecretAccessKey": "rotated"}
		return env.Client.Update(ctx, s)
	})
	// The identity Secret is not watched: the change is seen at the next pass.
	testenv.Eventually(t, "token signed with the new key", func() error {
		c := getCP(t, cp)
		c.Annotations = map[string]string{"example.com/poke": time.Now().String()}
		if err := env.Client.Update(ctx, c); err != nil {
			return err
		}
		if _, p := publishedToken(t, ns, cluster.Name); p.AccessKeyID != "AKIAIDENTITYSECRET02" {
			return fmt.Errorf("signed with %s", p.AccessKeyID)
		}
		return nil
	})
}

// TestMintFailureKeepsThePublishedKubeconfig: when no token can be minted any more, the
// control plane says so (TokenReady, Ready) and retries after the error interval, without
// touching the kubeconfig that still works; it recovers by itself.
func TestMintFailureKeepsThePublishedKubeconfig(t *testing.T) {
	var broken atomic.Bool
	creds := aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		if broken.Load() {
			return aws.Credentials{}, errors.New("no EC2 IMDS role found")
		}
		return testCredentials.Retrieve(ctx)
	})
	counter, stop := startControllersWith(t, faults{credentials: creds, tokenRefresh: 2 * time.Second})
	t.Cleanup(func() { _ = stop() })
	ns := newNamespace(t)
	cluster, cp := newCluster(t, ns, "mintfail")
	goodProvider(t).apply(t, cp)
	waitReady(t, cp, "Ready")

	broken.Store(true)
	waitCP(t, cp, "mint failure reported", condIs(controlplanev1.TokenReadyCondition, metav1.ConditionFalse, controlplanev1.TokenMintFailedReason))
	token, _ := publishedToken(t, ns, cluster.Name)
	versions := map[string]string{}
	for _, name := range []string{kubeconfig.SecretName(cluster.Name), kubeconfig.CASecretName(cluster.Name), kubeconfig.UserSecretName(cluster.Name)} {
		versions[name] = secretOf(t, ns, name).ResourceVersion
	}
	counter.Settle(500 * time.Millisecond)
	counter.Reset()
	time.Sleep(3 * time.Second)
	if w := counter.In(ns); len(w) != 0 {
		all := &corev1.SecretList{}
		_ = env.Client.List(context.Background(), all, client.InNamespace(ns))
		for _, s := range all.Items {
			t.Logf("Secret %s: resourceVersion %s (%s before)", s.Name, s.ResourceVersion, versions[s.Name])
		}
		for _, c := range getCP(t, cp).Status.Conditions {
			t.Logf("condition %s %s %s %s", c.Type, c.Status, c.Reason, c.Message)
		}
		for name, rv := range versions {
			if now := secretOf(t, ns, name).ResourceVersion; now != rv {
				t.Errorf("Secret %s written while minting fails", name)
			}
		}
		t.Errorf("writes while minting fails: %v; want the published secrets left alone and no status churn", w)
	}
	got := getCP(t, cp)
	if c := cond(got, controlplanev1.AvailableCondition); c.Status != metav1.ConditionTrue {
		t.Errorf("Available = %+v: the published token still works", c)
	}
	if c := cond(got, infrav1.ReadyCondition); c.Status != metav1.ConditionFalse || c.Reason != controlplanev1.TokenMintFailedReason {
		t.Errorf("Ready = %+v, want False/TokenMintFailed", c)
	}
	if now, _ := publishedToken(t, ns, cluster.Name); now != token {
		t.Error("the kubeconfig changed while no token could be minted")
	}

	broken.Store(false)
	waitReady(t, cp, "recovered")
	testenv.Eventually(t, "a new token", func() error {
		if now, _ := publishedToken(t, ns, cluster.Name); now == token {
			return errors.New("same token")
		}
		return nil
	})
}

// TestNoTokenOrIdentityInLogsEventsOrConditions runs a control plane with an identity
// Secret through a bad Secret, minting, refreshes and deletion with logs at the most
// verbose level, and checks that neither the Secret's keys nor any token it published
// appear in a log line, an event or a condition.
func TestNoTokenOrIdentityInLogsEventsOrConditions(t *testing.T) {
	ctx := context.Background()
	const (
		secretKeyCanary = "CANARY-SECRET-ACCESS-KEY-3b91f0"
		sessionCanary   = "CANARY-SESSION-TOKEN-aa17c2"
	)
	logs := &lockedBuffer{}
	_, stop := startControllersWith(t, faults{tokenRefresh: time.Second},
		testenv.WithLogger(zapLogger(logs)))
	t.Cleanup(func() { _ = stop() })
	ns := newNamespace(t)
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "keys"},
		StringData: map[string]string{"AccessKeyID": "", "SecretAccessKey": secretKeyCanary, "SessionToken": sessionCanary}})
	cluster, cp := newCluster(t, ns, "tokencanary")
	testenv.Eventually(t, "set identityRef", func() error {
		c := getCP(t, cp)
		c.Spec.IdentityRef = &controlplanev1.IdentityReference{Name: "keys"}
		return env.Client.Update(ctx, c)
	})
	goodProvider(t).apply(t, cp)
	waitCP(t, cp, "identity invalid", condIs(controlplanev1.TokenReadyCondition, metav1.ConditionFalse, controlplanev1.IdentityInvalidReason))
	testenv.Eventually(t, "complete the identity", func() error {
		s := &corev1.Secret{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "keys"}, s); err != nil {
			return err
		}
		s.StringData = map[string]string{"AccessKeyID": "AKIACANARYIDENTITY01"}
		return env.Client.Update(ctx, s)
	})
	waitReady(t, cp, "Ready")
	tokens := map[string]bool{}
	for len(tokens) < 3 {
		testenv.Eventually(t, "collect tokens", func() error {
			token, _ := publishedToken(t, ns, cluster.Name)
			if tokens[token] {
				return errors.New("no new token yet")
			}
			tokens[token] = true
			return nil
		})
	}
	final := getCP(t, cp)
	conditions := make([]string, 0, len(final.Status.Conditions))
	for _, c := range final.Status.Conditions {
		conditions = append(conditions, "CAPTControlPlane condition "+c.Type+": "+c.Message)
	}
	setWorkspaceFinalizers(t, cp, nil)
	if err := env.Client.Delete(ctx, getCP(t, cp)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "control plane gone", func() error { return gone(&controlplanev1.CAPTControlPlane{ObjectMeta: cp.ObjectMeta}) })

	canaries := make([]string, 0, 2+2*len(tokens))
	canaries = append(canaries, secretKeyCanary, sessionCanary)
	for token := range tokens {
		// The whole token, and its signature alone.
		canaries = append(canaries, token, strings.TrimPrefix(token, ekstoken.Prefix)[40:120])
	}
	checkNoCanary(t, ns, logs, canaries, conditions...)
}
