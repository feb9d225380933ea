// Package clusterclass checks that CAPT's templates work in a Cluster API ClusterClass:
// Cluster API's own topology, ClusterClass and Cluster controllers (from the module) run
// beside CAPT's on the real API server, and a topology-managed Cluster with generated
// names reaches the same state as a hand-written one.
package clusterclass

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/controllers/clustercache"
	clusterreconciler "sigs.k8s.io/cluster-api/core/reconcilers/cluster"
	"sigs.k8s.io/cluster-api/core/reconcilers/clusterclass"
	capimachinepool "sigs.k8s.io/cluster-api/core/reconcilers/machinepool"
	topologycluster "sigs.k8s.io/cluster-api/core/reconcilers/topology/cluster"
	"sigs.k8s.io/cluster-api/core/setup"
	"sigs.k8s.io/cluster-api/feature"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/yaml"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/captcluster"
	"github.com/capt-dev/capt/internal/controller/clustersource"
	"github.com/capt-dev/capt/internal/controller/controlplane"
	"github.com/capt-dev/capt/internal/controller/machinepool"
	"github.com/capt-dev/capt/internal/controller/nodegroupbootstrap"
	"github.com/capt-dev/capt/internal/controller/workspaceapply"
	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/requeue"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Run(m, func(e *testenv.Env) { env = e })
}

var api = workspace.DefaultAPI()

func startControllers(t *testing.T) {
	t.Helper()
	if err := feature.MutableGates.Set("ClusterTopology=true,MachinePool=true"); err != nil {
		t.Fatal(err)
	}
	env.StartManager(t, func(ctx context.Context, mgr ctrl.Manager, c client.Client) error {
		secrets, err := setup.CreateSecretCachingClient(mgr)
		if err != nil {
			return err
		}
		cache, err := clustercache.SetupWithManager(ctx, mgr, clustercache.Options{
			SecretClient: secrets, Cache: setup.ClusterCacheCacheOptions(), Client: setup.ClusterCacheClientOptions("capt-test", 20, 30),
		}, controller.Options{})
		if err != nil {
			return err
		}
		// As CAPT's manager does (internal/controller/machinepool): Cluster API's
		// ClusterCache would otherwise block the manager's stop on a connect event sent
		// to a controller that has stopped reading (seen in CI: "failed waiting for all
		// runnables to end within grace period").
		if cache, err = clustersource.StopAfterControllers(mgr, cache); err != nil {
			return err
		}
		if err := (&clusterclass.Reconciler{Client: mgr.GetClient()}).SetupWithManager(ctx, mgr, controller.Options{}); err != nil {
			return err
		}
		if err := (&topologycluster.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), ClusterCache: cache}).SetupWithManager(ctx, mgr, controller.Options{}); err != nil {
			return err
		}
		if err := (&clusterreconciler.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), ClusterCache: cache, RemoteConnectionGracePeriod: time.Minute}).SetupWithManager(ctx, mgr, controller.Options{}); err != nil {
			return err
		}
		if err := (&workspaceapply.Reconciler{Client: c, APIReader: mgr.GetAPIReader(), API: api}).SetupWithManager(ctx, mgr, controller.Options{}); err != nil {
			return err
		}
		// Machine pools: Cluster API's MachinePool controller (owner references, the
		// bootstrap contract), CAPT's bootstrap config and CAPTMachinePool. The workload
		// cluster (demo.eks.example.com) is never reached: no Nodes here.
		if err := (&capimachinepool.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), ClusterCache: cache}).SetupWithManager(ctx, mgr, controller.Options{}); err != nil {
			return err
		}
		if err := (&nodegroupbootstrap.Reconciler{Client: c, APIReader: mgr.GetAPIReader()}).SetupWithManager(ctx, mgr, controller.Options{}); err != nil {
			return err
		}
		if err := (&machinepool.Reconciler{Client: c, APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("captmachinepool"), ClusterCache: cache, API: api}).
			SetupWithManager(ctx, mgr, controller.Options{}); err != nil {
			return err
		}
		if err := (&captcluster.Reconciler{Client: c, APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("captcluster"), API: api, Intervals: requeue.Defaults()}).SetupWithManager(ctx, mgr, controller.Options{}); err != nil {
			return err
		}
		// The modules here output no kubeconfig (EKS): the control plane signs its token
		// with static test keys, locally.
		return (&controlplane.Reconciler{Client: c, APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("captcontrolplane"), API: api, Intervals: requeue.Defaults(),
			DefaultCredentials: credentials.NewStaticCredentialsProvider("AKIACAPTTESTTOPOLOGY", "topology-test-secret", "")}).
			SetupWithManager(ctx, mgr, controller.Options{})
	})
}

// applyManifests creates every object of a templates file in ns, after edits (a test's
// variant of the example: another version, a ClusterClass field).
func applyManifests(t *testing.T, ns, file string, edits ...func(*unstructured.Unstructured)) {
	t.Helper()
	root, err := localstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "templates", "clusterclass", file))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			t.Fatal(err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		obj.SetNamespace(ns)
		for _, edit := range edits {
			edit(obj)
		}
		if err := env.Client.Create(context.Background(), obj); err != nil {
			t.Fatalf("create %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
}

// TestTopologyManagedCluster creates the example topology Cluster and plays
// provider-terraform: the Cluster reaches an endpoint, a provisioned CAPTCluster (with
// the region from the ClusterClass variable) and an initialized CAPTControlPlane with
// its secrets, under generated names.
func TestTopologyManagedCluster(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	const ns = "topology"
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vpc", "eks"} {
		if err := env.Client.Create(ctx, &infrav1.WorkspaceTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
				ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: `variable "cluster_name" {}`}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	applyManifests(t, ns, "clusterclass.yaml", withoutWorkers)
	applyManifests(t, ns, "cluster.yaml", withoutWorkers)

	// The topology controller stamps out both objects with generated names.
	cluster := &clusterv1.Cluster{}
	testenv.Eventually(t, "topology creates the infrastructure and control plane", func() error {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "demo"}, cluster); err != nil {
			return err
		}
		if !cluster.Spec.InfrastructureRef.IsDefined() || !cluster.Spec.ControlPlaneRef.IsDefined() {
			return fmt.Errorf("refs not set yet: %+v", cluster.Spec)
		}
		return nil
	})
	cc := &infrav1.CAPTCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: cluster.Spec.InfrastructureRef.Name}}
	cp := &controlplanev1.CAPTControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: cluster.Spec.ControlPlaneRef.Name}}
	if cc.Name == "demo" || cp.Name == "demo" {
		t.Errorf("expected generated names, got %s and %s", cc.Name, cp.Name)
	}
	testenv.Eventually(t, "CAPTCluster from the template", func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cc), cc); err != nil {
			return err
		}
		if cc.Spec.Region != "ap-northeast-1" || cc.Spec.VPCConfig == nil || cc.Spec.VPCConfig.CIDR != "10.0.0.0/16" {
			return fmt.Errorf("spec %+v", cc.Spec)
		}
		return nil
	})

	// provider-terraform applies the VPC, then the control plane.
	provide(t, ns, render.WorkspaceName(api, ns, render.ChildName(cc.Name, "vpc")), map[string]any{
		"vpc_id": "vpc-0123456789abcdef0", "availability_zones": []any{"ap-northeast-1a"}}, nil)
	testenv.Eventually(t, "CAPTCluster provisioned", func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cc), cc); err != nil {
			return err
		}
		if !ptr.Deref(cc.Status.Initialization.Provisioned, false) {
			return fmt.Errorf("not provisioned: %+v", cc.Status.Conditions)
		}
		return nil
	})
	ca, err := testenv.NewCACertificatePEM()
	if err != nil {
		t.Fatal(err)
	}
	cpWorkspace := render.WorkspaceName(api, ns, render.ChildName(cp.Name, "controlplane"))
	provide(t, ns, cpWorkspace, map[string]any{"cluster_endpoint": "https://demo.eks.example.com"},
		map[string]string{render.ChildName(cp.Name, "controlplane-outputs"): base64.StdEncoding.EncodeToString(ca)})

	testenv.Eventually(t, "the topology Cluster reaches the same state as a hand-written one", func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cp), cp); err != nil {
			return err
		}
		if !cp.Status.Initialized || !cp.Status.SecretsReady || cp.Spec.ControlPlaneEndpoint.Host != "demo.eks.example.com" || cp.Status.Version != "v1.31.2" {
			return fmt.Errorf("control plane status %+v", cp.Status)
		}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cluster), cluster); err != nil {
			return err
		}
		if cluster.Spec.ControlPlaneEndpoint.Host != "demo.eks.example.com" {
			return fmt.Errorf("Cluster endpoint %+v", cluster.Spec.ControlPlaneEndpoint)
		}
		return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "demo-kubeconfig"}, &corev1.Secret{})
	})
}

// withoutWorkers drops the example's machine pool (the ClusterClass's and the Cluster's):
// the tests of the control plane alone (TestTopologyMachinePool has the pool).
func withoutWorkers(u *unstructured.Unstructured) {
	switch u.GetKind() {
	case "ClusterClass":
		unstructured.RemoveNestedField(u.Object, "spec", "workers")
	case "Cluster":
		unstructured.RemoveNestedField(u.Object, "spec", "topology", "workers")
	}
}

// provide plays provider-terraform on a Workspace: Ready with outputs, and the
// connection secret in ns when secrets is set (name → CA).
func provide(t *testing.T, ns, name string, outputs map[string]any, secrets map[string]string) {
	t.Helper()
	ctx := context.Background()
	u := api.NewObject()
	testenv.Eventually(t, "Workspace "+name+" exists", func() error {
		return env.Client.Get(ctx, client.ObjectKey{Name: name}, u)
	})
	for secretName, ca := range secrets {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: secretName,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Name: u.GetName(), UID: u.GetUID()}}},
			Data: map[string][]byte{"cluster_certificate_authority_data": []byte(ca)}}
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, "set Workspace status", func() error {
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, u); err != nil {
			return err
		}
		now := time.Now().UTC().Format(time.RFC3339)
		_ = unstructured.SetNestedSlice(u.Object, []any{
			map[string]any{"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": now},
			map[string]any{"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": now, "observedGeneration": u.GetGeneration()},
		}, "status", "conditions")
		_ = unstructured.SetNestedMap(u.Object, outputs, "status", "atProvider", "outputs")
		return env.Client.Status().Update(ctx, u)
	})
}
