package controlplane

import (
	"context"
	"encoding/base64"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/workspaceapply"
	"github.com/capt-dev/capt/internal/controller/workspacetemplate"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/requeue"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Run(m, func(e *testenv.Env) { env = e }, testenv.Reusable)
}

var api = workspace.DefaultAPI()

// startControllers runs the template, apply and control plane controllers.
func startControllers(t *testing.T, options ...testenv.ManagerOption) *testenv.WriteCounter {
	t.Helper()
	counter, stop := startControllersStoppable(t, options...)
	t.Cleanup(func() { _ = stop() })
	return counter
}

func startControllersStoppable(t *testing.T, options ...testenv.ManagerOption) (*testenv.WriteCounter, func() error) {
	t.Helper()
	return startControllersWith(t, faults{}, options...)
}

// faults wrap what the control plane reconciler (only it) reads and writes with, for
// tests that make the API server fail or race it.
type faults struct {
	client func(client.Client) client.Client
	reader func(client.Reader) client.Reader
	// credentials replace the manager's default AWS credentials (static test keys
	// otherwise); noCredentials leaves the manager without any.
	credentials   aws.CredentialsProvider
	noCredentials bool
	// tokenRefresh is --eks-token-refresh-interval; testTokenRefresh otherwise.
	tokenRefresh time.Duration
}

// testCredentials are the static keys the control plane signs EKS tokens with in tests:
// presigning is local, nothing reaches AWS.
var testCredentials = credentials.NewStaticCredentialsProvider("AKIACAPTTESTDEFAULT1", "default-chain-test-secret", "")

// testTokenRefresh is the refresh interval of tests that do not test the refresh: long
// enough that no control plane an earlier test left behind refreshes its token under a
// later test's manager, whose counts of writes and reconciles at rest it would spoil.
// (The flag refuses it; the reconciler takes what it is given.)
const testTokenRefresh = 1000 * time.Hour

func startControllersWith(t *testing.T, f faults, options ...testenv.ManagerOption) (*testenv.WriteCounter, func() error) {
	t.Helper()
	intervals := requeue.Defaults()
	intervals.Error = time.Second
	counter, stop, err := env.RunManager(func(ctx context.Context, mgr ctrl.Manager, c client.Client) error {
		if err := (&workspacetemplate.Reconciler{Client: c, APIReader: mgr.GetAPIReader(), API: api}).SetupWithManager(mgr, controller.Options{}); err != nil {
			return err
		}
		if err := (&workspaceapply.Reconciler{Client: c, APIReader: mgr.GetAPIReader(), API: api}).SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: 5}); err != nil {
			return err
		}
		cpClient, cpReader := c, mgr.GetAPIReader()
		if f.client != nil {
			cpClient = f.client(c)
		}
		if f.reader != nil {
			cpReader = f.reader(cpReader)
		}
		creds := f.credentials
		if creds == nil && !f.noCredentials {
			creds = testCredentials
		}
		refresh := f.tokenRefresh
		if refresh == 0 {
			refresh = testTokenRefresh
		}
		return (&Reconciler{Client: cpClient, APIReader: cpReader, Recorder: mgr.GetEventRecorder("captcontrolplane-controller"),
			API: api, Intervals: intervals, DefaultCredentials: creds, DefaultRegion: "eu-central-1", TokenRefreshInterval: refresh}).SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: 5})
	}, options...)
	if err != nil {
		t.Fatal(err)
	}
	var stopped atomic.Bool
	return counter, func() error {
		if stopped.Swap(true) {
			return nil
		}
		return stop()
	}
}

var nsCounter atomic.Int32

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cp-%d", nsCounter.Add(1))}}
	if err := env.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	create(t, &infrav1.WorkspaceTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "eks"},
		Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
			ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: `variable "cluster_name" {}`},
		}}},
	})
	return ns.Name
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := env.Client.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

// newCluster creates a Cluster and its CAPTControlPlane, owned and labelled as Cluster
// API core does it.
func newCluster(t *testing.T, ns, name string) (*clusterv1.Cluster, *controlplanev1.CAPTControlPlane) {
	t.Helper()
	return newClusterAt(t, ns, name, "v1.31.2")
}

// newClusterAt is newCluster with the control plane at version.
func newClusterAt(t *testing.T, ns, name, version string) (*clusterv1.Cluster, *controlplanev1.CAPTControlPlane) {
	t.Helper()
	cluster := &clusterv1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clusterv1.ClusterSpec{ControlPlaneRef: clusterv1.ContractVersionedObjectReference{
			APIGroup: controlplanev1.GroupVersion.Group, Kind: "CAPTControlPlane", Name: name + "-cp"}},
	}
	create(t, cluster)
	cp := &controlplanev1.CAPTControlPlane{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-cp",
			Labels: map[string]string{clusterv1.ClusterNameLabel: name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster",
				Name: name, UID: cluster.UID}}},
		Spec: controlplanev1.CAPTControlPlaneSpec{Version: version, WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "eks"}},
	}
	create(t, cp)
	return cluster, cp
}

func getCP(t *testing.T, cp *controlplanev1.CAPTControlPlane) *controlplanev1.CAPTControlPlane {
	t.Helper()
	out := &controlplanev1.CAPTControlPlane{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(cp), out); err != nil {
		t.Fatalf("get CAPTControlPlane: %v", err)
	}
	return out
}

func getCluster(t *testing.T, c *clusterv1.Cluster) *clusterv1.Cluster {
	t.Helper()
	out := &clusterv1.Cluster{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(c), out); err != nil {
		t.Fatalf("get Cluster: %v", err)
	}
	return out
}

func cond(cp *controlplanev1.CAPTControlPlane, t string) metav1.Condition {
	for _, c := range cp.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return metav1.Condition{}
}

// waitCP waits until check passes on the control plane's current state.
func waitCP(t *testing.T, cp *controlplanev1.CAPTControlPlane, what string, check func(*controlplanev1.CAPTControlPlane) error) *controlplanev1.CAPTControlPlane {
	t.Helper()
	var got *controlplanev1.CAPTControlPlane
	testenv.Eventually(t, what, func() error {
		got = getCP(t, cp)
		return check(got)
	})
	return got
}

func condIs(conditionType string, status metav1.ConditionStatus, reason string) func(*controlplanev1.CAPTControlPlane) error {
	return func(cp *controlplanev1.CAPTControlPlane) error {
		c := cond(cp, conditionType)
		if c.Status != status || c.Reason != reason {
			return fmt.Errorf("%s is %s/%s (%s)", conditionType, c.Status, c.Reason, c.Message)
		}
		return nil
	}
}

func workspaceName(cp *controlplanev1.CAPTControlPlane) string {
	return render.WorkspaceName(api, cp.Namespace, applyName(cp))
}

// waitWorkspace waits for the control plane's Workspace.
func waitWorkspace(t *testing.T, cp *controlplanev1.CAPTControlPlane) *unstructured.Unstructured {
	t.Helper()
	u := api.NewObject()
	testenv.Eventually(t, "control plane Workspace exists", func() error {
		return env.Client.Get(context.Background(), client.ObjectKey{Name: workspaceName(cp)}, u)
	})
	return u
}

// provider plays provider-terraform on the control plane's Workspace: it sets outputs
// and conditions and writes the connection secret (owned by the Workspace).
type provider struct {
	endpoint string
	caOutput string // base64 PEM, in the connection secret as EKS modules mark it sensitive
	extra    map[string]string
	ready    bool
}

// moduleKubeconfig is a kubeconfig output, as the local templates give one: the control
// plane publishes it as is and mints no token.
func moduleKubeconfig(t *testing.T, name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: admin@%[1]s
clusters: [{name: %[1]s, cluster: {server: "https://%[1]s.example.com", certificate-authority-data: %[2]s}}]
users: [{name: admin, user: {token: not-a-real-token}}]
contexts: [{name: admin@%[1]s, context: {cluster: %[1]s, user: admin}}]
`, name, base64.StdEncoding.EncodeToString(testenv.CACertificatePEM(t)))
}

func goodProvider(t *testing.T) provider {
	return provider{endpoint: "https://ABCDEF.gr7.us-west-2.eks.amazonaws.com", caOutput: base64.StdEncoding.EncodeToString(testenv.CACertificatePEM(t)), ready: true}
}

func (p provider) apply(t *testing.T, cp *controlplanev1.CAPTControlPlane) {
	t.Helper()
	ctx := context.Background()
	ws := waitWorkspace(t, cp)
	if p.caOutput != "" || len(p.extra) > 0 {
		data := map[string][]byte{}
		if p.caOutput != "" {
			data["cluster_certificate_authority_data"] = []byte(p.caOutput)
		}
		for k, v := range p.extra {
			data[k] = []byte(v)
		}
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: cp.Namespace, Name: outputsSecretName(cp),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: ws.GetAPIVersion(), Kind: ws.GetKind(), Name: ws.GetName(), UID: ws.GetUID()}}},
			Type: "connection.crossplane.io/v1alpha1", Data: data}
		if err := env.Client.Create(ctx, secret); apierrors.IsAlreadyExists(err) {
			if err := env.Client.Update(ctx, secret); err != nil {
				t.Fatal(err)
			}
		} else if err != nil {
			t.Fatal(err)
		}
	}
	status := "False"
	if p.ready {
		status = "True"
	}
	testenv.Eventually(t, "set Workspace status", func() error {
		u := api.NewObject()
		if err := env.Client.Get(ctx, client.ObjectKey{Name: workspaceName(cp)}, u); err != nil {
			return err
		}
		now := time.Now().UTC().Format(time.RFC3339)
		conds := []any{
			map[string]any{"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": now},
			map[string]any{"type": "Ready", "status": status, "reason": "Available", "lastTransitionTime": now, "observedGeneration": u.GetGeneration()},
		}
		outputs := map[string]any{}
		if p.endpoint != "" {
			outputs["cluster_endpoint"] = p.endpoint
		}
		_ = unstructured.SetNestedSlice(u.Object, conds, "status", "conditions")
		_ = unstructured.SetNestedMap(u.Object, outputs, "status", "atProvider", "outputs")
		return env.Client.Status().Update(ctx, u)
	})
}

// setWorkspaceFinalizers holds or releases the Workspace, as provider-terraform's
// finalizer does while terraform destroy runs.
func setWorkspaceFinalizers(t *testing.T, cp *controlplanev1.CAPTControlPlane, finalizers []string) {
	t.Helper()
	testenv.Eventually(t, "set Workspace finalizers", func() error {
		u := api.NewObject()
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: workspaceName(cp)}, u); err != nil {
			return err
		}
		u.SetFinalizers(finalizers)
		return env.Client.Update(context.Background(), u)
	})
}

func gone(obj client.Object) error { return env.Gone(obj) }

// waitReady waits until the control plane is Ready in every field: the patch helper
// writes conditions before the rest of the status, so the Ready condition alone can be
// seen a moment before the phase and the contract fields.
func waitReady(t *testing.T, cp *controlplanev1.CAPTControlPlane, what string) *controlplanev1.CAPTControlPlane {
	t.Helper()
	return waitCP(t, cp, what, func(c *controlplanev1.CAPTControlPlane) error {
		if err := condIs(infrav1.ReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason)(c); err != nil {
			return err
		}
		if c.Status.Phase != controlplanev1.PhaseReady || !c.Status.Ready || !c.Status.Initialized {
			return fmt.Errorf("phase %s, ready %v, initialized %v", c.Status.Phase, c.Status.Ready, c.Status.Initialized)
		}
		return nil
	})
}
