package manager

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/captcluster"
	"github.com/capt-dev/capt/internal/controller/controlplane"
	"github.com/capt-dev/capt/internal/controller/machinepool"
	"github.com/capt-dev/capt/internal/controller/nodegroupbootstrap"
	"github.com/capt-dev/capt/internal/controller/workspaceapply"
	"github.com/capt-dev/capt/internal/controller/workspacetemplate"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestMachinePoolCRDInstalledLater starts the manager on an API server without Cluster
// API's MachinePool CRD (Cluster API installed without machine pools): the manager keeps
// running, readiness names the missing kind, the other controllers work, and the
// CAPTMachinePool controller starts and reconciles a pool once the CRD is installed.
func TestMachinePoolCRDInstalledLater(t *testing.T) {
	ctx := context.Background()
	crd := env.RemoveCRD(t, "machinepools.cluster.x-k8s.io")
	reconciles := testenv.ReconcileTotal("captmachinepool")
	// With leader election, as deployed: the controller set up later starts on the leader.
	m := startManager(t, "--leader-elect", "--leader-election-namespace=default", "--leader-election-id=capt-machinepool-crd")

	m.checkNotReady(t, "MachinePool.cluster.x-k8s.io", "MachinePool.cluster.x-k8s.io/v1beta2", "controllers captnodegroupbootstrap, captmachinepool start once it does")

	// The controllers that do not watch MachinePools work meanwhile.
	ns := newNamespace(t, "mp-crd")
	apply := createApply(t, ns)
	waitApplyReported(t, apply)
	m.checkRunning(t)
	if n := testenv.ReconcileTotal("captmachinepool") - reconciles; n != 0 {
		t.Errorf("captmachinepool reconciled %.0f times without the MachinePool CRD", n)
	}
	m.checkNoUnservedInformer(t)

	if err := env.InstallCRD(ctx, crd); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, http.DefaultClient, m.url+"/readyz", "", http.StatusOK)
	pool := createPool(t, ns, "demo")
	testenv.Eventually(t, "CAPTMachinePool reconciled", func() error {
		got := &infrav1.CAPTMachinePool{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(pool), got); err != nil {
			return err
		}
		if !controllerutil.ContainsFinalizer(got, infrav1.CAPTMachinePoolFinalizer) || meta.FindStatusCondition(got.Status.Conditions, infrav1.ReadyCondition) == nil {
			return fmt.Errorf("finalizers %v, conditions %v", got.Finalizers, got.Status.Conditions)
		}
		return nil
	})
	m.checkRunning(t)
	m.checkNoUnservedInformer(t)
}

// TestProviderConfigCRDInstalledLater starts the manager on an API server with
// provider-terraform's Workspace CRD but not its ProviderConfig CRD: the
// WorkspaceTemplateApply controller waits for it, readiness names it, the CAPTCluster
// and WorkspaceTemplate controllers work, and the apply a CAPTCluster created gets its
// status once the CRD is installed.
func TestProviderConfigCRDInstalledLater(t *testing.T) {
	ctx := context.Background()
	crd := env.RemoveCRD(t, "providerconfigs.tf.upbound.io")
	reconciles := testenv.ReconcileTotal("workspacetemplateapply")
	m := startManager(t)

	m.checkNotReady(t, "ProviderConfig.tf.upbound.io", "ProviderConfig.tf.upbound.io/v1beta1", "controller workspacetemplateapply")

	ns := newNamespace(t, "pc-crd")
	cc := createCAPTCluster(t, ns, "demo")
	var apply client.ObjectKey
	testenv.Eventually(t, "CAPTCluster reports its wait for the VPC's apply", func() error {
		got := &infrav1.CAPTCluster{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cc), got); err != nil {
			return err
		}
		c := meta.FindStatusCondition(got.Status.Conditions, infrav1.VPCReadyCondition)
		if c == nil {
			return fmt.Errorf("conditions %v", got.Status.Conditions)
		}
		applies := &infrav1.WorkspaceTemplateApplyList{}
		if err := env.Client.List(ctx, applies, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(applies.Items) != 1 {
			return fmt.Errorf("%d applies, want the VPC's", len(applies.Items))
		}
		apply = client.ObjectKeyFromObject(&applies.Items[0])
		return nil
	})
	tmpl := &infrav1.WorkspaceTemplate{}
	testenv.Eventually(t, "WorkspaceTemplate validated", func() error {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "vpc"}, tmpl); err != nil {
			return err
		}
		if meta.FindStatusCondition(tmpl.Status.Conditions, infrav1.TemplateValidCondition) == nil {
			return fmt.Errorf("conditions %v", tmpl.Status.Conditions)
		}
		return nil
	})
	m.checkRunning(t)
	if n := testenv.ReconcileTotal("workspacetemplateapply") - reconciles; n != 0 {
		t.Errorf("workspacetemplateapply reconciled %.0f times without the ProviderConfig CRD", n)
	}
	m.checkNoUnservedInformer(t)

	if err := env.InstallCRD(ctx, crd); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, http.DefaultClient, m.url+"/readyz", "", http.StatusOK)
	waitApplyReported(t, &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: apply.Namespace, Name: apply.Name}})
	m.checkRunning(t)
	m.checkNoUnservedInformer(t)
}

// TestWorkspaceCRDsInstalledLater starts the manager with a --workspace-api-group whose
// Workspace and ProviderConfig CRDs are not installed (provider-opentofu installed after
// CAPT, or the wrong group chosen): every controller that watches Workspaces waits, the
// WorkspaceTemplate controller works, readiness names both kinds, and an apply gets its
// status once the provider's CRDs are installed.
func TestWorkspaceCRDsInstalledLater(t *testing.T) {
	const group = workspace.GroupOpenTofuNamespaced
	// Last, once the manager has stopped: the package's API server as it was.
	t.Cleanup(func() {
		env.DeleteCRD(t, "workspaces."+group)
		env.DeleteCRD(t, "providerconfigs."+group)
	})
	m := startManager(t, "--workspace-api-group="+group)

	m.checkNotReady(t, "Workspace."+group, "Workspace."+group+"/v1beta1",
		"workspacetemplateapply", "captmachinepool", "captcluster", "captcontrolplane")
	m.checkNotReady(t, "ProviderConfig."+group, "controller workspacetemplateapply")
	ns := newNamespace(t, "ws-crd")
	testenv.Eventually(t, "WorkspaceTemplate validated", func() error {
		tmpl := &infrav1.WorkspaceTemplate{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "vpc"}, tmpl); err != nil {
			return err
		}
		if meta.FindStatusCondition(tmpl.Status.Conditions, infrav1.TemplateValidCondition) == nil {
			return fmt.Errorf("conditions %v", tmpl.Status.Conditions)
		}
		return nil
	})
	m.checkNoUnservedInformer(t)

	if err := env.InstallNamespacedWorkspaceCRD(context.Background(), group); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, http.DefaultClient, m.url+"/readyz", "", http.StatusOK)
	apply := createApply(t, ns)
	waitApplyReported(t, apply)
	m.checkRunning(t)
	m.checkNoUnservedInformer(t)

	// Its Workspace goes with it, before the CRDs do.
	if err := env.Client.Delete(context.Background(), apply); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "WorkspaceTemplateApply deleted", func() error { return env.Gone(apply) })
}

// TestMachinePoolFeatureGateOff: with --feature-gates=MachinePool=false, an API server
// without the MachinePool CRD is no reason to be unready, and no informer asks for it.
func TestMachinePoolFeatureGateOff(t *testing.T) {
	env.RemoveCRD(t, "machinepools.cluster.x-k8s.io")
	m := startManager(t, "--feature-gates=MachinePool=false")
	waitStatus(t, http.DefaultClient, m.url+"/readyz", "", http.StatusOK)
	waitApplyReported(t, createApply(t, newNamespace(t, "mp-off")))
	m.checkRunning(t)
	m.checkNoUnservedInformer(t)
}

// TestEveryWatchedKindIsDeclared starts every controller with every CRD installed and
// checks that each kind a CRD serves that the manager's cache was asked for is one a
// controller declares in WatchedKinds: a watch the gate does not know of would stop the
// manager again on an API server without its CRD.
func TestEveryWatchedKindIsDeclared(t *testing.T) {
	m := startManager(t)
	m.waitStarted(t, "workspacetemplate", "workspacetemplateapply", "captmachinepool", "clustercache", "captcluster", "captcontrolplane", "captnodegroupbootstrap")

	api := workspace.DefaultAPI()
	declared := sets.New[schema.GroupVersionKind]()
	for _, kinds := range [][]schema.GroupVersionKind{
		(&workspacetemplate.Reconciler{API: api}).WatchedKinds(),
		(&workspaceapply.Reconciler{API: api}).WatchedKinds(),
		(&machinepool.Reconciler{API: api}).WatchedKinds(),
		(&captcluster.Reconciler{API: api}).WatchedKinds(),
		(&controlplane.Reconciler{API: api}).WatchedKinds(),
		(&nodegroupbootstrap.Reconciler{}).WatchedKinds(),
	} {
		declared.Insert(kinds...)
	}
	crds := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := env.Client.List(context.Background(), crds); err != nil {
		t.Fatal(err)
	}
	byCRD := sets.New[schema.GroupKind]()
	for _, crd := range crds.Items {
		byCRD.Insert(schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind})
	}
	asked := m.informers.asked()
	if len(asked) == 0 {
		t.Fatal("the cache recorded no informer")
	}
	for _, gvk := range asked {
		if byCRD.Has(gvk.GroupKind()) && !declared.Has(gvk) {
			t.Errorf("the manager watches %s, which a CRD serves and no controller's WatchedKinds names", gvk)
		}
	}
}

// syncTimeout bounds how long a controller of startManager's waits for its informers.
const syncTimeout = 5 * time.Second

// running is a manager started by startManager.
type running struct {
	url       string
	done      chan error
	informers *informerRecorder
	logs      *startedLog
}

// startManager starts the production manager (New, SetupControllers) with args, as a
// user bound to the generated ClusterRole, with a cache that records which informers
// it was asked for.
func startManager(t *testing.T, args ...string) *running {
	t.Helper()
	health := freeAddr(t)
	o := parse(t, append([]string{"--health-addr=" + health, "--diagnostics-address=" + freeAddr(t)}, args...)...)
	m := &running{url: "http://" + health, done: make(chan error, 1), informers: &informerRecorder{}, logs: &startedLog{}}
	mgr, err := New(roleUser(t), o, func(co *ctrl.Options) {
		co.Controller.SkipNameValidation = ptr.To(true) // several managers in one process
		co.NewCache = m.informers.newCache
		co.Logger = m.logs.logger()
		// A watch of a kind the API server does not serve stops the manager once this
		// deadline passes (2 minutes by default): the way the manager used to go down
		// without the CRD gate shows within the test. The gate starts a watch only once
		// its kind is served; informers on envtest sync in about a second.
		co.Controller.CacheSyncTimeout = syncTimeout
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := SetupControllers(ctx, mgr, o); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { m.done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-m.done; err != nil {
			t.Errorf("manager stopped with %v", err)
		}
	})
	return m
}

// checkNotReady checks that /readyz fails on check, that /readyz/<check> says why, that
// /healthz is not affected and that the manager has not stopped. The health server
// starts with the manager: /healthz is waited for.
func (m *running) checkNotReady(t *testing.T, check string, why ...string) {
	t.Helper()
	waitStatus(t, http.DefaultClient, m.url+"/healthz", "", http.StatusOK)
	status, body, err := get(http.DefaultClient, m.url+"/readyz", "")
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusInternalServerError || !strings.Contains(body, "[-]"+check+" failed") {
		t.Errorf("GET /readyz: status %d, body %q; want 500 with [-]%s failed", status, body, check)
	}
	status, body, err = get(http.DefaultClient, m.url+"/readyz/"+check, "")
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusInternalServerError {
		t.Errorf("GET /readyz/%s: status %d, body %q; want 500", check, status, body)
	}
	for _, w := range why {
		if !strings.Contains(body, w) {
			t.Errorf("GET /readyz/%s: %q does not say %q", check, body, w)
		}
	}
	m.checkRunning(t)
}

// checkRunning fails the test if the manager has stopped.
func (m *running) checkRunning(t *testing.T) {
	t.Helper()
	select {
	case err := <-m.done:
		m.done <- err // for the cleanup
		t.Fatalf("the manager stopped: %v", err)
	default:
	}
}

// checkNoUnservedInformer fails the test if the cache was asked for an informer of a
// kind the API server did not serve: what controller-runtime's source does, every 10 s,
// until CacheSyncTimeout stops the manager.
func (m *running) checkNoUnservedInformer(t *testing.T) {
	t.Helper()
	if kinds := m.informers.unserved(); len(kinds) > 0 {
		t.Errorf("informers were asked for kinds the API server did not serve: %v", kinds)
	}
}

// waitStarted waits until each named controller has started its workers, which it does
// once it has asked the cache for every informer it watches and they have synced.
func (m *running) waitStarted(t *testing.T, controllers ...string) {
	t.Helper()
	testenv.Eventually(t, "controllers started", func() error {
		if missing := m.logs.notStarted(controllers); len(missing) > 0 {
			return fmt.Errorf("not started: %v", missing)
		}
		return nil
	})
}

// informerRecorder wraps the manager's cache and records the kinds it was asked for,
// and those it could not serve because the API server did not.
type informerRecorder struct {
	mu        sync.Mutex
	kinds     sets.Set[schema.GroupVersionKind]
	noMatches sets.Set[schema.GroupVersionKind]
}

func (r *informerRecorder) newCache(cfg *rest.Config, opts cache.Options) (cache.Cache, error) {
	c, err := cache.New(cfg, opts)
	if err != nil {
		return nil, err
	}
	return &recordingCache{Cache: c, scheme: opts.Scheme, r: r}, nil
}

func (r *informerRecorder) record(gvk schema.GroupVersionKind, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kinds == nil {
		r.kinds, r.noMatches = sets.New[schema.GroupVersionKind](), sets.New[schema.GroupVersionKind]()
	}
	r.kinds.Insert(gvk)
	if meta.IsNoMatchError(err) {
		r.noMatches.Insert(gvk)
	}
}

func (r *informerRecorder) asked() []schema.GroupVersionKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.kinds.UnsortedList()
}

func (r *informerRecorder) unserved() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.noMatches))
	for gvk := range r.noMatches {
		out = append(out, gvk.String())
	}
	slices.Sort(out)
	return out
}

// recordingCache is a cache whose informer requests and reads are recorded: reads
// through the cache start informers too.
type recordingCache struct {
	cache.Cache
	scheme *runtime.Scheme
	r      *informerRecorder
}

func (c *recordingCache) GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	i, err := c.Cache.GetInformer(ctx, obj, opts...)
	c.record(obj, err)
	return i, err
}

func (c *recordingCache) GetInformerForKind(ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption) (cache.Informer, error) {
	i, err := c.Cache.GetInformerForKind(ctx, gvk, opts...)
	c.r.record(gvk, err)
	return i, err
}

func (c *recordingCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	err := c.Cache.Get(ctx, key, obj, opts...)
	c.record(obj, err)
	return err
}

func (c *recordingCache) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	err := c.Cache.List(ctx, list, opts...)
	c.record(list, err)
	return err
}

func (c *recordingCache) record(obj runtime.Object, err error) {
	gvk, gvkErr := apiutil.GVKForObject(obj, c.scheme)
	if gvkErr != nil {
		return
	}
	gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	c.r.record(gvk, err)
}

// startedLog is the manager's log, kept for one message: the controllers that started
// their workers. With CAPT_TEST_LOG_LEVEL set, every line goes to stderr too.
type startedLog struct {
	mu      sync.Mutex
	started sets.Set[string]
}

var startedController = regexp.MustCompile(`"controller"="([^"]+)"`)

func (l *startedLog) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		if os.Getenv("CAPT_TEST_LOG_LEVEL") != "" {
			fmt.Fprintln(os.Stderr, time.Now().Format("15:04:05.000"), prefix, args)
		}
		if !strings.Contains(args, `"msg"="Starting workers"`) {
			return
		}
		if m := startedController.FindStringSubmatch(args); m != nil {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.started == nil {
				l.started = sets.New[string]()
			}
			l.started.Insert(m[1])
		}
	}, funcr.Options{})
}

func (l *startedLog) notStarted(controllers []string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, c := range controllers {
		if !l.started.Has(c) {
			out = append(out, c)
		}
	}
	return out
}

// roleUser returns the configuration of a user bound to the generated ClusterRole only,
// once the API server's authorizer lets it list CRDs: the gate's watch must need
// nothing more than the role grants.
func roleUser(t *testing.T) *rest.Config {
	t.Helper()
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	name := "capt-" + strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-"))
	role := readRole(t)
	role.Name = name
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}},
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})
		_ = cs.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{})
	})
	testenv.Eventually(t, "the role's grants in force", func() error {
		sar, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: name, ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: "watch", Group: apiextensionsv1.GroupName, Resource: "customresourcedefinitions"}},
		}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		if !sar.Status.Allowed {
			return fmt.Errorf("denied: %s", sar.Status.Reason)
		}
		return nil
	})
	cfg, err := env.UserConfig(name)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// newNamespace creates a namespace with a WorkspaceTemplate "vpc".
func newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	create(t, ns)
	create(t, &infrav1.WorkspaceTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "vpc"},
		Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
			ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: `variable "region" {}`},
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

// createApply creates a WorkspaceTemplateApply of the template "vpc".
func createApply(t *testing.T, ns string) *infrav1.WorkspaceTemplateApply {
	t.Helper()
	apply := &infrav1.WorkspaceTemplateApply{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vpc"},
		Spec: infrav1.WorkspaceTemplateApplySpec{
			TemplateRef: infrav1.WorkspaceTemplateReference{Name: "vpc"},
			Variables:   map[string]string{"region": "us-west-2"},
		},
	}
	create(t, apply)
	return apply
}

// waitApplyReported waits for the apply's Ready condition on its current generation:
// its controller reconciled it.
func waitApplyReported(t *testing.T, apply *infrav1.WorkspaceTemplateApply) {
	t.Helper()
	testenv.Eventually(t, "WorkspaceTemplateApply "+apply.Name+" reports", func() error {
		got := &infrav1.WorkspaceTemplateApply{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(apply), got); err != nil {
			return err
		}
		c := meta.FindStatusCondition(got.Status.Conditions, infrav1.ReadyCondition)
		if c == nil || c.ObservedGeneration != got.Generation {
			return fmt.Errorf("conditions %v", got.Status.Conditions)
		}
		return nil
	})
}

// createCAPTCluster creates a Cluster and its CAPTCluster, whose VPC the template "vpc"
// makes, linked as Cluster API links them.
func createCAPTCluster(t *testing.T, ns, name string) *infrav1.CAPTCluster {
	t.Helper()
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clusterv1.ClusterSpec{InfrastructureRef: clusterv1.ContractVersionedObjectReference{
			APIGroup: infrav1.GroupVersion.Group, Kind: "CAPTCluster", Name: name}}}
	create(t, cluster)
	cc := &infrav1.CAPTCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{clusterv1.ClusterNameLabel: name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster", Name: name, UID: cluster.UID}}},
		Spec: infrav1.CAPTClusterSpec{Region: "us-west-2", VPCTemplateRef: &infrav1.WorkspaceTemplateReference{Name: "vpc"},
			VPCConfig: &infrav1.VPCConfig{CIDR: "10.0.0.0/16"}},
	}
	create(t, cc)
	return cc
}

// createPool creates a Cluster, a MachinePool and its CAPTMachinePool, linked as Cluster
// API links them.
func createPool(t *testing.T, ns, name string) *infrav1.CAPTMachinePool {
	t.Helper()
	create(t, &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clusterv1.ClusterSpec{InfrastructureRef: clusterv1.ContractVersionedObjectReference{
			APIGroup: infrav1.GroupVersion.Group, Kind: "CAPTCluster", Name: name}}})
	owner := &clusterv1.MachinePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-pool", Labels: map[string]string{clusterv1.ClusterNameLabel: name}},
		Spec: clusterv1.MachinePoolSpec{ClusterName: name, Replicas: ptr.To[int32](1), Template: clusterv1.MachineTemplateSpec{
			Spec: clusterv1.MachineSpec{ClusterName: name, Version: "v1.33.1", Bootstrap: clusterv1.Bootstrap{DataSecretName: ptr.To("")},
				InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "CAPTMachinePool", Name: name + "-pool"}}}},
	}
	create(t, owner)
	pool := &infrav1.CAPTMachinePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-pool", Labels: map[string]string{clusterv1.ClusterNameLabel: name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "MachinePool", Name: owner.Name, UID: owner.UID}}},
		Spec: infrav1.CAPTMachinePoolSpec{WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "vpc"}},
	}
	create(t, pool)
	return pool
}
