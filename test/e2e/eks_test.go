package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	"github.com/capt-dev/capt/internal/dev"
	"github.com/capt-dev/capt/internal/ekstoken"
	"github.com/capt-dev/capt/internal/kubeconfig"
	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// The EKS-style Cluster's names: a namespace of its own (its template reads a variables
// Secret there that names the stack's EKS cluster), and a name no other test uses.
const (
	eksNamespace   = "capt-e2e-eks"
	eksClusterName = "eks"
)

// tokenCacheTTL is how long kube-apiserver keeps a token it authenticated (its general
// token cache, not configurable; the stack turns the webhook's own cache off): a token
// is refused at the latest this long after its lifetime, plus a second of margin.
const tokenCacheTTL = 10*time.Second + time.Second

// capiProbeFalseAfter bounds how long after its token expired Cluster API's core manager
// (as the stack runs it, with its defaults) reports a Cluster's RemoteConnectionProbe
// False: after --remote-connection-grace-period (50 s) without a successful health
// probe, noticed at its ClusterCache's next connection attempt (every 30 s while
// disconnected), plus one probe interval (10 s). A stay shorter than this would leave
// the probe True even if CAPT never replaced the token.
const capiProbeFalseAfter = 50*time.Second + 30*time.Second + 10*time.Second

// TestEKSTokenReachesClusterAPI creates a Cluster from the EKS-style local templates
// (templates/local/eks): the control plane module outputs endpoint, CA and EKS cluster
// name but no kubeconfig, so CAPT builds <cluster>-kubeconfig with an EKS token it mints,
// and the stack's kube-apiserver checks that token as EKS does (aws-iam-authenticator's
// verifier, a local STS that refuses tokens older than eksTokenLifetime). It checks that
// Cluster API connects with that token, and keeps connecting for three token lifetimes
// because CAPT replaces the token while old ones are refused; that people get the exec
// kubeconfig; and that the Cluster is deleted in order, every secret with it.
func TestEKSTokenReachesClusterAPI(t *testing.T) {
	t.Parallel()
	eks := stack.EKSAuth
	if eks == nil {
		t.Fatal("the e2e stack is not in EKS mode (main_test.go)")
	}
	ctx := context.Background()
	key := client.ObjectKey{Namespace: eksNamespace, Name: eksClusterName}
	w := createEKSCluster(t)
	if _, err := w.Until(within(t, 6*time.Minute), func(dev.Snapshot) (bool, error) {
		if ok, err := dev.Provisioned(ctx, stack.Client, key.Namespace, key.Name); !ok || err != nil {
			return ok, err
		}
		return dev.Available(ctx, stack.Client, key.Namespace, key.Name)
	}); err != nil {
		logConditions(t, key)
		t.Fatalf("Cluster API never reported the EKS-style Cluster Available: %v", err)
	}

	t.Run("Cluster API connects with the token CAPT minted", func(t *testing.T) { checkEKSConnected(t, key) })
	t.Run("user kubeconfig", func(t *testing.T) { checkUserKubeconfig(t, key) })
	t.Run("token refreshed for three lifetimes", func(t *testing.T) { checkTokenRefreshed(t, key) })
	t.Run("deleted in order", func(t *testing.T) {
		cpWorkspace := "Workspace/" + render.WorkspaceName(workspace.DefaultAPI(), key.Namespace, key.Name+"-controlplane")
		user := "Secret/" + kubeconfig.UserSecretName(key.Name) + " gone"
		checkDeletion(t, w, key.Name,
			[2]string{cpWorkspace + " gone", user},
			[2]string{user, "CAPTControlPlane/" + key.Name + " gone"})
		for _, name := range []string{kubeconfig.SecretName(key.Name), kubeconfig.UserSecretName(key.Name), kubeconfig.CASecretName(key.Name)} {
			err := stack.Client.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: name}, &corev1.Secret{})
			if !apierrors.IsNotFound(err) {
				t.Errorf("Secret %s left after the deletion: %v", name, err)
			}
		}
	})
}

// createEKSCluster creates, in eksNamespace, the variables Secret of EKS mode, the
// WorkspaceTemplates the EKS sample uses (the sample's VPC and templates/local/eks's
// control plane, reading that namespace's Secret), and the EKS sample Cluster as
// eksClusterName; it returns a watcher of its objects.
func createEKSCluster(t *testing.T) *dev.Watcher {
	t.Helper()
	ctx := context.Background()
	apiserver := dev.APIServer{Endpoint: stack.Config.Host, CA: stack.Config.CAData, EKSClusterName: stack.EKSAuth.ClusterName}
	if err := dev.PrepareEKSNamespace(ctx, stack.Client, eksNamespace, apiserver); err != nil {
		t.Fatal(err)
	}
	clusterObjs, err := dev.ReadObjects(dev.EKSClusterFile(root))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, obj := range clusterObjs {
		if ref, ok := templateRefs[obj.GetKind()]; ok {
			name, _, _ := unstructured.NestedString(obj.Object, ref...)
			used[name] = true
		}
	}
	var objs []*unstructured.Unstructured
	for _, file := range []string{dev.TemplatesFile(root), dev.EKSTemplateFile(root)} {
		templates, err := dev.ReadObjects(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range templates {
			if used[obj.GetName()] {
				objs = append(objs, obj)
				delete(used, obj.GetName())
			}
		}
	}
	if len(used) > 0 {
		t.Fatalf("the EKS sample names WorkspaceTemplates %v that neither template file holds", used)
	}
	for _, obj := range objs {
		obj.SetNamespace(eksNamespace)
		varFilesIn(t, obj, eksNamespace)
	}
	for _, obj := range clusterObjs {
		obj.SetNamespace(eksNamespace)
		rename(t, obj, eksClusterName)
	}
	for _, obj := range append(objs, clusterObjs...) {
		if err := stack.Client.Create(ctx, obj); err != nil {
			t.Fatalf("creating %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
	return eksWatcher(t, eksNamespace, eksClusterName)
}

// eksWatcher watches the EKS-style Cluster name in namespace, showing its
// RemoteConnectionProbe, and cleans up after the test: one that stopped before its
// deletion step leaves the deletion started; one that finished leaves nothing but the
// namespace, which goes too.
func eksWatcher(t *testing.T, namespace, name string) *dev.Watcher {
	t.Cleanup(func() {
		cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
		if err := stack.Client.Delete(context.Background(), cluster); apierrors.IsNotFound(err) {
			_ = stack.Client.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})
		}
	})
	return &dev.Watcher{Client: stack.Client, Namespace: namespace, Cluster: name,
		Printer: &dev.Printer{Out: testWriter{t}, Start: time.Now()}, Interval: 200 * time.Millisecond,
		Show: []string{clusterv1.ClusterRemoteConnectionProbeCondition}}
}

// varFilesIn points the Secret variable files of a WorkspaceTemplate at namespace.
func varFilesIn(t *testing.T, obj *unstructured.Unstructured, namespace string) {
	t.Helper()
	path := []string{"spec", "template", "spec", "forProvider", "varFiles"}
	files, _, err := unstructured.NestedSlice(obj.Object, path...)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if ref, ok := f.(map[string]any)["secretKeyRef"].(map[string]any); ok {
			ref["namespace"] = namespace
		}
	}
	if files != nil {
		if err := unstructured.SetNestedSlice(obj.Object, files, path...); err != nil {
			t.Fatal(err)
		}
	}
}

// checkEKSConnected: Cluster API's own connection (RemoteConnectionProbe, its cluster
// cache reading <cluster>-kubeconfig key value) is up; the CAPTControlPlane says the
// kubeconfig carries a token CAPT minted with its default credentials; the secret holds
// the same token three ways, signed for the stack's EKS region with the test identity's
// key; and that token authenticates as the test identity.
func checkEKSConnected(t *testing.T, key client.ObjectKey) {
	eks := stack.EKSAuth
	cluster := &clusterv1.Cluster{}
	get(t, key, cluster)
	if c := meta.FindStatusCondition(cluster.Status.Conditions, clusterv1.ClusterRemoteConnectionProbeCondition); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Cluster %s %+v, want True: Cluster API does not connect with the kubeconfig secret", clusterv1.ClusterRemoteConnectionProbeCondition, c)
	}
	checkProvisioned(t, key.Namespace, key.Name)

	cp := &controlplanev1.CAPTControlPlane{}
	get(t, key, cp)
	want := controlplanev1.KubeconfigStatus{Source: controlplanev1.KubeconfigSourceEKSToken, Identity: "DefaultChain"}
	if cp.Status.Kubeconfig == nil || *cp.Status.Kubeconfig != want {
		t.Errorf("CAPTControlPlane status.kubeconfig %+v, want %+v", cp.Status.Kubeconfig, want)
	}
	if c := meta.FindStatusCondition(cp.Status.Conditions, controlplanev1.TokenReadyCondition); c == nil ||
		c.Status != metav1.ConditionTrue || c.Reason != controlplanev1.TokenMintedReason {
		t.Errorf("CAPTControlPlane %s %+v, want True %s", controlplanev1.TokenReadyCondition, c, controlplanev1.TokenMintedReason)
	} else {
		t.Logf("CAPTControlPlane %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
	}

	secret := &corev1.Secret{}
	get(t, client.ObjectKey{Namespace: key.Namespace, Name: kubeconfig.SecretName(key.Name)}, secret)
	if got := secret.Labels[clusterv1.ClusterNameLabel]; got != key.Name {
		t.Errorf("Secret %s label %s=%q, want %q (Cluster API caches only labelled secrets)", secret.Name, clusterv1.ClusterNameLabel, got, key.Name)
	}
	if got, want := secret.Annotations["controlplane.cluster.x-k8s.io/eks-token-for"], eks.ClusterName+" DefaultChain"; got != want {
		t.Errorf("Secret %s annotation eks-token-for %q, want %q", secret.Name, got, want)
	}
	token := string(secret.Data[kubeconfig.TokenFileKey])
	if got, err := kubeconfigUser(secret.Data[kubeconfig.KubeconfigKey]); err != nil || got.Token != token || token == "" {
		t.Errorf("key %s: token %q (%v), want that of key %s", kubeconfig.KubeconfigKey, got.Token, err, kubeconfig.TokenFileKey)
	}
	if got, err := kubeconfigUser(secret.Data[kubeconfig.RelativeKey]); err != nil || got.TokenFile != "./"+kubeconfig.TokenFileKey || got.Token != "" {
		t.Errorf("key %s: tokenFile %q, token %q (%v); want ./%s and no token", kubeconfig.RelativeKey, got.TokenFile, got.Token, err, kubeconfig.TokenFileKey)
	}
	p, err := ekstoken.Parse(token)
	if err != nil {
		t.Fatalf("the published token %v", err)
	}
	if p.Region != eks.Region || p.Host != "sts."+eks.Region+".amazonaws.com" || p.AccessKeyID != eks.Credentials.AccessKeyID {
		t.Errorf("token signed for %s (%s) with key %s, want %s, sts.%s.amazonaws.com, the test identity's key",
			p.Region, p.Host, p.AccessKeyID, eks.Region, eks.Region)
	}
	user, err := connectAs(secret.Data[kubeconfig.KubeconfigKey])
	if err != nil {
		t.Fatalf("the kubeconfig secret does not connect: %v", err)
	}
	if user != eks.Credentials.ARN {
		t.Errorf("the kubeconfig secret authenticates as %q, want the EKS test identity %s", user, eks.Credentials.ARN)
	}
}

// checkUserKubeconfig: <cluster>-user-kubeconfig is for people: the same cluster and
// CA, and the exec user `aws eks get-token` for the EKS cluster name and region, no
// credential.
func checkUserKubeconfig(t *testing.T, key client.ObjectKey) {
	secret := &corev1.Secret{}
	get(t, client.ObjectKey{Namespace: key.Namespace, Name: kubeconfig.UserSecretName(key.Name)}, secret)
	cfg, err := clientcmd.Load(secret.Data[kubeconfig.KubeconfigKey])
	if err != nil {
		t.Fatalf("Secret %s: %v", secret.Name, err)
	}
	kctx := cfg.Contexts[cfg.CurrentContext]
	if kctx == nil || cfg.AuthInfos[kctx.AuthInfo] == nil || cfg.Clusters[kctx.Cluster] == nil {
		t.Fatalf("Secret %s: no current context with a user and a cluster", secret.Name)
	}
	user, cluster := cfg.AuthInfos[kctx.AuthInfo], cfg.Clusters[kctx.Cluster]
	wantArgs := []string{"eks", "get-token", "--cluster-name", localstack.EKSClusterName, "--region", localstack.EKSRegion}
	if user.Exec == nil || user.Exec.Command != "aws" || !slices.Equal(user.Exec.Args, wantArgs) {
		t.Errorf("Secret %s user exec %+v, want aws %s", secret.Name, user.Exec, strings.Join(wantArgs, " "))
	}
	if user.Token != "" || user.TokenFile != "" || user.ClientKeyData != nil {
		t.Errorf("Secret %s carries a credential", secret.Name)
	}
	if want := strings.TrimSuffix(stack.Config.Host, "/"); strings.TrimSuffix(cluster.Server, "/") != want ||
		string(cluster.CertificateAuthorityData) != string(stack.Config.CAData) {
		t.Errorf("Secret %s cluster %s, want %s and the stack's CA", secret.Name, cluster.Server, want)
	}
	if got := secret.Labels[clusterv1.ClusterNameLabel]; got != key.Name {
		t.Errorf("Secret %s label %s=%q, want %q", secret.Name, clusterv1.ClusterNameLabel, got, key.Name)
	}
	if owner := metav1.GetControllerOf(secret); owner == nil || owner.Kind != "CAPTControlPlane" || owner.Name != key.Name {
		t.Errorf("Secret %s controller %+v, want CAPTControlPlane %s", secret.Name, owner, key.Name)
	}
}

// checkTokenRefreshed stays for three token lifetimes at least (and past Cluster API's
// grace for a lost connection), following the Cluster and its kubeconfig secret with
// watches. Cluster API's RemoteConnectionProbe must never leave
// True; CAPT must replace the token at least three times; after each lifetime and at the
// end the secret's kubeconfig must work, and the kubeconfig of a token older than a
// lifetime (and kube-apiserver's cache) must be refused: tokens do expire, and the
// refresh is what keeps Cluster API connected.
func checkTokenRefreshed(t *testing.T, key client.ObjectKey) {
	eks := stack.EKSAuth
	lifetime := eks.TokenLifetime
	secretKey := client.ObjectKey{Namespace: key.Namespace, Name: kubeconfig.SecretName(key.Name)}
	first := &corev1.Secret{}
	get(t, secretKey, first)
	firstToken, err := ekstoken.Parse(string(first.Data[kubeconfig.TokenFileKey]))
	if err != nil {
		t.Fatalf("the published token %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	probe := &probeLog{}
	tokens := &tokenLog{}
	clusterFollower := follow(ctx, key, func() client.ObjectList { return &clusterv1.ClusterList{} }, probe.see)
	secretFollower := follow(ctx, secretKey, func() client.ObjectList { return &corev1.SecretList{} }, tokens.see)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-clusterFollower.done
			<-secretFollower.done
		}
	}
	defer stop()

	// Three lifetimes at least, and long enough that Cluster API would have reported the
	// probe False had it kept connecting with a token of before the stay (none is newer
	// than the secret's then): a probe still True at the end was made with a token CAPT
	// minted during the stay. A check after each lifetime, and at the end.
	start := time.Now()
	stay := max(3*lifetime+lifetime/4, firstToken.SignedAt.Add(lifetime+tokenCacheTTL+capiProbeFalseAfter).Sub(start))
	var checkpoints []time.Duration
	for at := lifetime; at < stay; at += lifetime {
		checkpoints = append(checkpoints, at)
	}
	checkpoints = append(checkpoints, stay)
	t.Logf("staying %s: first token signed at %s, lifetime %s, refresh %s", stay.Round(time.Second),
		firstToken.SignedAt.Format(time.TimeOnly), lifetime, eksTokenRefresh)
	refused := 0
	for i, at := range checkpoints {
		time.Sleep(time.Until(start.Add(at)))
		name := fmt.Sprintf("after lifetime %d", i+1)
		if i == len(checkpoints)-1 {
			name = "at the end"
		}
		secret := &corev1.Secret{}
		get(t, secretKey, secret)
		current := string(secret.Data[kubeconfig.TokenFileKey])
		works := fmt.Sprintf("the kubeconfig secret (token signed at %s) works", signedAt(current))
		if user, err := connectAs(secret.Data[kubeconfig.KubeconfigKey]); err != nil || user != eks.Credentials.ARN {
			t.Errorf("%s: the kubeconfig secret (token signed at %s) does not work: user %q, %v", name, signedAt(current), user, err)
			works = "the kubeconfig secret does not work"
		}
		// The newest token seen that is past its lifetime and kube-apiserver's cache.
		old, ok := tokens.newestSignedBefore(time.Now().Add(-lifetime - tokenCacheTTL))
		if !ok {
			t.Logf("%s: %s; no token seen is past its lifetime yet", name, works)
			continue
		}
		_, err := connectAs(old.kubeconfig)
		switch {
		case err == nil:
			t.Errorf("%s: the kubeconfig of a token signed at %s (lifetime %s) still works", name, old.signedAt.Format(time.TimeOnly), lifetime)
		case !apierrors.IsUnauthorized(err):
			t.Errorf("%s: the kubeconfig of a token signed at %s: %v, want 401 Unauthorized", name, old.signedAt.Format(time.TimeOnly), err)
		default:
			refused++
			t.Logf("%s: %s; that of the token signed at %s is refused: %v", name, works, old.signedAt.Format(time.TimeOnly), err)
		}
	}

	// The watches have seen the last versions, then stop.
	cluster := &clusterv1.Cluster{}
	get(t, key, cluster)
	secret := &corev1.Secret{}
	get(t, secretKey, secret)
	for _, c := range []struct {
		f   *follower
		obj client.Object
	}{{clusterFollower, cluster}, {secretFollower, secret}} {
		if err := c.f.waitSeen(within(t, time.Minute), c.obj.GetResourceVersion()); err != nil {
			t.Errorf("the watch of %s never saw its resourceVersion %s: %v", c.f.key, c.obj.GetResourceVersion(), err)
		}
	}
	stop()
	for _, f := range []*follower{clusterFollower, secretFollower} {
		t.Logf("followed %s: %d versions, %d lists, %d watches; interruptions: %v", f.key, f.versions, f.lists, f.watches, f.interruptions)
		if f.lists == 0 {
			t.Errorf("never listed %s", f.key)
		}
	}

	// (a) RemoteConnectionProbe never left True.
	if !probe.started {
		t.Errorf("the watch never saw the Cluster")
	}
	for _, l := range probe.lost {
		t.Errorf("Cluster %s: %s", clusterv1.ClusterRemoteConnectionProbeCondition, l)
	}
	c := meta.FindStatusCondition(cluster.Status.Conditions, clusterv1.ClusterRemoteConnectionProbeCondition)
	if c == nil || c.Status != metav1.ConditionTrue || !c.LastTransitionTime.Equal(&probe.initial) {
		t.Errorf("Cluster %s at the end %+v, want True since %s", clusterv1.ClusterRemoteConnectionProbeCondition, c, probe.initial)
	} else {
		t.Logf("Cluster %s True since %s, through %d versions of the Cluster", c.Type, c.LastTransitionTime.Format(time.TimeOnly), probe.versions)
	}

	// (b) The token was replaced at least three times, each signed after the last.
	for _, p := range tokens.problems {
		t.Error(p)
	}
	signed := make([]string, 0, len(tokens.seen))
	for i, tok := range tokens.seen {
		signed = append(signed, tok.signedAt.Format(time.TimeOnly))
		if i > 0 && !tok.signedAt.After(tokens.seen[i-1].signedAt) {
			t.Errorf("token %d signed at %s, not after the one it replaced (%s)", i, tok.signedAt, tokens.seen[i-1].signedAt)
		}
	}
	t.Logf("tokens seen (signed at): %s", strings.Join(signed, ", "))
	if replaced := len(tokens.seen) - 1; replaced < 3 {
		t.Errorf("the token was replaced %d times in %s (refresh %s, lifetime %s), want at least 3", replaced, stay.Round(time.Second), eksTokenRefresh, lifetime)
	}
	if tokens.last() != string(secret.Data[kubeconfig.TokenFileKey]) {
		t.Errorf("the last token seen is not the secret's")
	}

	// (c) Expired tokens were refused after each lifetime but the first (none need be
	// old enough then).
	if refused < len(checkpoints)-1 {
		t.Errorf("an old token was refused %d times, want at least %d", refused, len(checkpoints)-1)
	}
}

// probeLog follows the Cluster's RemoteConnectionProbe: the first version seen must
// have it True, and every later one True with the same lastTransitionTime (a different
// one means it left True in between, even in versions no watch delivered).
type probeLog struct {
	started  bool
	initial  metav1.Time
	versions int
	lost     []string
}

func (p *probeLog) see(obj client.Object, deleted bool) {
	p.versions++
	if deleted {
		p.lost = append(p.lost, "the Cluster was deleted")
		return
	}
	cluster := obj.(*clusterv1.Cluster)
	c := meta.FindStatusCondition(cluster.Status.Conditions, clusterv1.ClusterRemoteConnectionProbeCondition)
	at := "resourceVersion " + obj.GetResourceVersion()
	switch {
	case c == nil:
		p.lost = append(p.lost, at+": no condition")
	case c.Status != metav1.ConditionTrue:
		p.lost = append(p.lost, fmt.Sprintf("%s: %s %s: %s", at, c.Status, c.Reason, c.Message))
	case !p.started:
		p.started, p.initial = true, c.LastTransitionTime
	case !c.LastTransitionTime.Equal(&p.initial):
		p.lost = append(p.lost, fmt.Sprintf("%s: True again since %s (True since %s before): it left True in between",
			at, c.LastTransitionTime, p.initial))
	}
}

// tokenLog follows the kubeconfig secret's token: each distinct one, in the order seen,
// with the kubeconfig (key value) that carried it.
type tokenLog struct {
	mu       sync.Mutex
	seen     []seenToken
	problems []string
}

type seenToken struct {
	value      string
	signedAt   time.Time
	kubeconfig []byte
}

func (l *tokenLog) see(obj client.Object, deleted bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at := "Secret resourceVersion " + obj.GetResourceVersion()
	if deleted {
		l.problems = append(l.problems, "the kubeconfig secret was deleted")
		return
	}
	secret := obj.(*corev1.Secret)
	value := string(secret.Data[kubeconfig.TokenFileKey])
	if n := len(l.seen); n > 0 && l.seen[n-1].value == value {
		return
	}
	if slices.ContainsFunc(l.seen, func(s seenToken) bool { return s.value == value }) {
		l.problems = append(l.problems, at+": an earlier token came back")
		return
	}
	p, err := ekstoken.Parse(value)
	if err != nil {
		l.problems = append(l.problems, fmt.Sprintf("%s: the token %v", at, err))
		return
	}
	if user, err := kubeconfigUser(secret.Data[kubeconfig.KubeconfigKey]); err != nil || user.Token != value {
		l.problems = append(l.problems, fmt.Sprintf("%s: key %s does not carry the token of key %s (%v)", at, kubeconfig.KubeconfigKey, kubeconfig.TokenFileKey, err))
	}
	l.seen = append(l.seen, seenToken{value: value, signedAt: p.SignedAt, kubeconfig: secret.Data[kubeconfig.KubeconfigKey]})
}

// newestSignedBefore is the newest token seen signed before t.
func (l *tokenLog) newestSignedBefore(t time.Time) (seenToken, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.seen) - 1; i >= 0; i-- {
		if l.seen[i].signedAt.Before(t) {
			return l.seen[i], true
		}
	}
	return seenToken{}, false
}

func (l *tokenLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) == 0 {
		return ""
	}
	return l.seen[len(l.seen)-1].value
}

// follower lists one object and then watches it until its context ends, handing every
// version it sees to see, in order, from one goroutine. A watch the server ends or
// breaks is made again from the last resourceVersion seen; one it can no longer resume
// from (410 Gone) is replaced by a new list. It never stops on its own: each
// interruption is kept for the test's log, and waitSeen tells whether it kept up.
type follower struct {
	key     client.ObjectKey
	newList func() client.ObjectList
	see     func(obj client.Object, deleted bool)
	done    chan struct{}

	mu                       sync.Mutex
	seenVersion              int64
	versions, lists, watches int
	interruptions            []string
}

func follow(ctx context.Context, key client.ObjectKey, newList func() client.ObjectList, see func(client.Object, bool)) *follower {
	f := &follower{key: key, newList: newList, see: see, done: make(chan struct{})}
	go f.run(ctx)
	return f
}

func (f *follower) run(ctx context.Context) {
	defer close(f.done)
	opts := []client.ListOption{client.InNamespace(f.key.Namespace), client.MatchingFields{"metadata.name": f.key.Name}}
	rv := ""
	for ctx.Err() == nil {
		if rv == "" {
			list := f.newList()
			if err := stack.Client.List(ctx, list, opts...); err != nil {
				f.interrupted(ctx, "list: %v", err)
				continue
			}
			items, err := meta.ExtractList(list)
			if err != nil {
				f.interrupted(ctx, "list: %v", err)
				continue
			}
			f.mu.Lock()
			f.lists++
			f.mu.Unlock()
			for _, item := range items {
				f.deliver(item.(client.Object), false)
			}
			rv = list.GetResourceVersion()
		}
		wi, err := stack.Client.Watch(ctx, f.newList(), append(opts,
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}})...)
		if err != nil {
			if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				rv = ""
			}
			f.interrupted(ctx, "watch from %s: %v", rv, err)
			continue
		}
		f.mu.Lock()
		f.watches++
		f.mu.Unlock()
		rv = f.consume(ctx, wi, rv)
		wi.Stop()
	}
}

// consume delivers a watch's events until it ends, and returns the resourceVersion to
// watch from next ("" to list again).
func (f *follower) consume(ctx context.Context, wi watch.Interface, rv string) string {
	for e := range wi.ResultChan() {
		switch e.Type {
		case watch.Error:
			err := apierrors.FromObject(e.Object)
			if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				f.interrupted(ctx, "watch from %s: %v; listing again", rv, err)
				return ""
			}
			f.interrupted(ctx, "watch from %s: %v", rv, err)
			return rv
		case watch.Bookmark:
			if obj, ok := e.Object.(client.Object); ok {
				rv = obj.GetResourceVersion()
			}
		default:
			obj, ok := e.Object.(client.Object)
			if !ok {
				f.interrupted(ctx, "watch event %s of a %T", e.Type, e.Object)
				continue
			}
			rv = obj.GetResourceVersion()
			f.deliver(obj, e.Type == watch.Deleted)
		}
	}
	if ctx.Err() == nil {
		f.interrupted(ctx, "the watch from %s ended", rv)
	}
	return rv
}

func (f *follower) deliver(obj client.Object, deleted bool) {
	if obj.GetName() != f.key.Name {
		return
	}
	f.see(obj, deleted)
	v, _ := strconv.ParseInt(obj.GetResourceVersion(), 10, 64)
	f.mu.Lock()
	f.versions++
	f.seenVersion = max(f.seenVersion, v)
	f.mu.Unlock()
}

// interrupted records why the follower is starting over, and pauses a little unless ctx
// ended (then it is no interruption: the test stopped it).
func (f *follower) interrupted(ctx context.Context, format string, args ...any) {
	if ctx.Err() != nil {
		return
	}
	f.mu.Lock()
	f.interruptions = append(f.interruptions, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	select {
	case <-ctx.Done():
	case <-time.After(500 * time.Millisecond):
	}
}

// waitSeen waits until the follower has delivered resourceVersion rv of its object.
func (f *follower) waitSeen(ctx context.Context, rv string) error {
	want, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		return err
	}
	for {
		f.mu.Lock()
		seen := f.seenVersion
		f.mu.Unlock()
		if seen >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("last seen %d: %w", seen, ctx.Err())
		case <-f.done:
			return fmt.Errorf("the follower stopped at %d", seen)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// connectAs lists namespaces with kubeconfig and returns the user it authenticates as
// (a SelfSubjectReview); an error is the API server's, as client-go returns it.
func connectAs(data []byte) (string, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil {
		return "", err
	}
	cfg.Timeout = 30 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		return "", err
	}
	review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return review.Status.UserInfo.Username, nil
}

// kubeconfigUser is the user of a kubeconfig's current context.
func kubeconfigUser(data []byte) (user struct{ Token, TokenFile string }, err error) {
	cfg, err := clientcmd.Load(data)
	if err != nil {
		return user, err
	}
	kctx := cfg.Contexts[cfg.CurrentContext]
	if kctx == nil || cfg.AuthInfos[kctx.AuthInfo] == nil {
		return user, fmt.Errorf("no user in the current context %q", cfg.CurrentContext)
	}
	auth := cfg.AuthInfos[kctx.AuthInfo]
	user.Token, user.TokenFile = auth.Token, auth.TokenFile
	return user, nil
}

// signedAt is when a token says it was signed, for messages.
func signedAt(token string) string {
	p, err := ekstoken.Parse(token)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return p.SignedAt.Format(time.TimeOnly)
}
