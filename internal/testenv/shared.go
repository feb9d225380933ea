package testenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/capt-dev/capt/internal/localstack"
)

// Shared API servers, for make mutate.
//
// Starting kube-apiserver and etcd and installing the CRDs costs a test binary about
// 7 CPU-seconds, and 10 to 20 s on two busy cores: for make mutate, which runs a test
// binary per mutation, often more than the tests it runs. hack/mutate therefore starts
// one server per mutation running at a time (StartServer) and names it to each test
// binary in SharedServerEnv. A package whose TestMain opts in (Run with Reusable)
// brings that server back to the state StartServer recorded, checks that it is back,
// and uses it; a package that does not opt in, or a server that cannot be brought
// back, gets a server of its own as before. A test therefore never sees what an earlier
// run left: every object it did not find at the start is gone, every object it found is
// as it was (the check compares contents, not only names), or the test binary starts
// its own server.

// SharedServerEnv names the directory of a server StartServer started.
const SharedServerEnv = "CAPT_TESTENV_SERVER"

// Files of a shared server's directory.
const (
	sharedKubeconfig = "kubeconfig"
	sharedSnapshot   = "snapshot.json"
)

// snapshot is every object of a server by key (group/resource/namespace/name) and the
// fingerprint of its contents.
type snapshot map[string]string

// Server is an API server StartServer started.
type Server struct {
	Dir string
	env *envtest.Environment
}

// StartServer starts kube-apiserver and etcd with every CRD, as Start does, and writes
// into dir the kubeconfig of its admin and the snapshot Reset brings it back to.
func StartServer(dir string) (*Server, error) {
	e, err := Start()
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, env: e.env}
	if err := s.record(e.Config); err != nil {
		_ = e.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) record(cfg *rest.Config) error {
	kc, err := Kubeconfig(cfg)
	if err != nil {
		return err
	}
	snap, err := takeSnapshot(context.Background(), cfg)
	if err != nil {
		return err
	}
	data, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.Dir, sharedKubeconfig), kc, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.Dir, sharedSnapshot), data, 0o600)
}

// Stop stops the server.
func (s *Server) Stop() error {
	return s.env.Stop()
}

// attach brings the server in dir back to its snapshot and returns an Env on it.
func attach(ctx context.Context, dir string) (*Env, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, sharedKubeconfig))
	if err != nil {
		return nil, fmt.Errorf("reading the shared server's kubeconfig: %w", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, sharedSnapshot))
	if err != nil {
		return nil, fmt.Errorf("reading the shared server's snapshot: %w", err)
	}
	var want snapshot
	if err := json.Unmarshal(data, &want); err != nil {
		return nil, fmt.Errorf("reading the shared server's snapshot: %w", err)
	}
	if err := reset(ctx, cfg, want); err != nil {
		return nil, err
	}
	scheme, err := localstack.NewScheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	return &Env{Config: cfg, Client: c, Scheme: scheme}, nil
}

// reset deletes every object the snapshot does not have, installs the CRDs again when
// one is missing or changed, and then checks that the server holds exactly the
// snapshot's objects with the snapshot's contents.
func reset(ctx context.Context, cfg *rest.Config, want snapshot) error {
	cfg = unthrottled(cfg)
	objs, err := listAll(ctx, cfg)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	// Webhooks first (one left pointing at a stopped test could refuse the deletions),
	// namespaces last (their contents first; without kube-controller-manager nothing
	// else empties them).
	slices.SortStableFunc(objs, func(a, b object) int { return deleteRank(a) - deleteRank(b) })
	crdsChanged := false
	for _, o := range objs {
		fp, ok := want[o.key]
		switch {
		case !ok:
			if err := removePastWebhooks(ctx, dyn, cs, o); err != nil {
				return err
			}
		case o.gvr.Group == "apiextensions.k8s.io" && fp != o.fingerprint:
			crdsChanged = true
		}
	}
	have := map[string]bool{}
	for _, o := range objs {
		have[o.key] = true
	}
	for key := range want {
		if strings.HasPrefix(key, "apiextensions.k8s.io/") && !have[key] {
			crdsChanged = true
		}
	}
	if crdsChanged {
		if err := reinstallCRDs(cfg); err != nil {
			return err
		}
	}
	return verify(ctx, cfg, want)
}

// verify waits (deletions of namespaces take a moment) until the server holds the
// snapshot, and says what differs when it does not.
func verify(ctx context.Context, cfg *rest.Config, want snapshot) error {
	var diff []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got, err := takeSnapshot(ctx, cfg)
		if err != nil {
			return err
		}
		if diff = compare(want, got); len(diff) == 0 {
			return nil
		}
	}
	if len(diff) > 5 {
		diff = append(diff[:5], fmt.Sprintf("and %d more", len(diff)-5))
	}
	return fmt.Errorf("the shared server differs from its snapshot: %s", strings.Join(diff, "; "))
}

// compare lists what differs between two snapshots.
func compare(want, got snapshot) []string {
	var diff []string
	for key, fp := range want {
		switch g, ok := got[key]; {
		case !ok:
			diff = append(diff, key+" missing")
		case g != fp:
			diff = append(diff, key+" changed")
		}
	}
	for key := range got {
		if _, ok := want[key]; !ok {
			diff = append(diff, key+" left over")
		}
	}
	slices.Sort(diff)
	return diff
}

func reinstallCRDs(cfg *rest.Config) error {
	root, err := localstack.RepoRoot()
	if err != nil {
		return err
	}
	dirs, err := localstack.CRDDirs(root)
	if err != nil {
		return err
	}
	scheme, err := localstack.NewScheme()
	if err != nil {
		return err
	}
	if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{Paths: dirs, ErrorIfPathMissing: true, Scheme: scheme}); err != nil {
		return fmt.Errorf("installing the CRDs again: %w", err)
	}
	return nil
}

// unthrottled is cfg without client-go's default rate limit (5 requests a second): a
// snapshot lists every resource, about 60 requests, and would take 12 s.
func unthrottled(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = -1, 0
	c.WarningHandler = rest.NoWarnings{} // listing Endpoints is deprecated, and says so
	return c
}

// object is one object of the server.
type object struct {
	key         string
	gvr         schema.GroupVersionResource
	namespace   string
	name        string
	finalizers  bool
	fingerprint string
}

func deleteRank(o object) int {
	switch {
	case o.gvr.Group == "admissionregistration.k8s.io":
		return 0
	case o.gvr.Resource == "namespaces":
		return 3
	case o.gvr.Group == "apiextensions.k8s.io":
		return 2
	default:
		return 1
	}
}

// removePastWebhooks removes o, trying again while an admission webhook is in the way.
// The webhooks an earlier run left are deleted first, but the API server keeps calling a
// deleted webhook until its own informer has seen the deletion, a moment after the
// delete returned: a deletion in that moment fails on the webhook (seen in CI as
// "failed calling webhook" on the next object), although nothing is wrong. A webhook
// that is still there after WaitTimeout is an error.
func removePastWebhooks(ctx context.Context, dyn dynamic.Interface, cs kubernetes.Interface, o object) error {
	for deadline := time.Now().Add(WaitTimeout); ; time.Sleep(50 * time.Millisecond) {
		err := remove(ctx, dyn, cs, o)
		if err == nil || !webhookInTheWay(err) || time.Now().After(deadline) {
			return err
		}
	}
}

// webhookInTheWay reports whether err is an admission webhook's doing: a call to it that
// failed, or its refusal.
func webhookInTheWay(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "failed calling webhook") ||
		strings.Contains(msg, "admission webhook") && strings.Contains(msg, "denied the request")
}

// remove deletes o at once: its finalizers first (no controller of the run that made
// them is left), a namespace through its finalize subresource.
func remove(ctx context.Context, dyn dynamic.Interface, cs kubernetes.Interface, o object) error {
	r := dyn.Resource(o.gvr).Namespace(o.namespace)
	// A CRD keeps its finalizer: the API server's own cleanup of its objects.
	if o.finalizers && o.gvr.Group != "apiextensions.k8s.io" {
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		if _, err := r.Patch(ctx, o.name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("removing the finalizers of %s: %w", o.key, err)
		}
	}
	if err := r.Delete(ctx, o.name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s: %w", o.key, err)
	}
	if o.gvr.Resource != "namespaces" || o.gvr.Group != "" {
		return nil
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, o.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("reading %s: %w", o.key, err)
	}
	ns.Spec.Finalizers = nil
	if _, err := cs.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("finalizing %s: %w", o.key, err)
	}
	return nil
}

// volatile resources are rewritten by the API server itself (its lease, the kubernetes
// Service's endpoints, priority and fairness status): their contents are not compared,
// only whether they exist.
var volatile = map[string]bool{
	"coordination.k8s.io/leases":                               true,
	"/endpoints":                                               true,
	"discovery.k8s.io/endpointslices":                          true,
	"flowcontrol.apiserver.k8s.io/flowschemas":                 true,
	"flowcontrol.apiserver.k8s.io/prioritylevelconfigurations": true,
	"apiregistration.k8s.io/apiservices":                       true,
}

func takeSnapshot(ctx context.Context, cfg *rest.Config) (snapshot, error) {
	objs, err := listAll(ctx, unthrottled(cfg))
	if err != nil {
		return nil, err
	}
	s := snapshot{}
	for _, o := range objs {
		s[o.key] = o.fingerprint
	}
	return s, nil
}

// listAll lists every object of every resource the server lists and deletes.
func listAll(ctx context.Context, cfg *rest.Config) ([]object, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	lists, err := dc.ServerPreferredResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("discovering the shared server's resources: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	var objs []object
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			return nil, err
		}
		for _, res := range l.APIResources {
			if strings.Contains(res.Name, "/") || !slices.Contains(res.Verbs, "list") || !slices.Contains(res.Verbs, "delete") {
				continue
			}
			gvr := gv.WithResource(res.Name)
			items, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{})
			if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
				continue // a CRD deleted a moment ago
			} else if err != nil {
				return nil, fmt.Errorf("listing %s: %w", gvr, err)
			}
			for i := range items.Items {
				objs = append(objs, newObject(gvr, &items.Items[i]))
			}
		}
	}
	return objs, nil
}

func newObject(gvr schema.GroupVersionResource, u *unstructured.Unstructured) object {
	kind := gvr.Group + "/" + gvr.Resource
	o := object{
		key:        kind + "/" + u.GetNamespace() + "/" + u.GetName(),
		gvr:        gvr,
		namespace:  u.GetNamespace(),
		name:       u.GetName(),
		finalizers: len(u.GetFinalizers()) > 0,
	}
	if !volatile[kind] {
		o.fingerprint = fingerprint(u)
	}
	return o
}

// fingerprint hashes what an object says (its spec, data, rules ... labels,
// annotations, finalizers, owners), not what the server keeps about it (its
// resourceVersion, uid, timestamps, managed fields, status): a CRD installed again is
// the same CRD.
func fingerprint(u *unstructured.Unstructured) string {
	c := u.DeepCopy().Object
	delete(c, "status")
	c["metadata"] = map[string]any{
		"labels":          u.GetLabels(),
		"annotations":     u.GetAnnotations(),
		"finalizers":      u.GetFinalizers(),
		"ownerReferences": u.GetOwnerReferences(),
	}
	data, err := json.Marshal(c)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}
