package move

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	clusterctl "sigs.k8s.io/cluster-api/cmd/clusterctl/client"
	clusterctllog "sigs.k8s.io/cluster-api/cmd/clusterctl/log"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/dev"
	"github.com/capt-dev/capt/internal/kubeconfig"
	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/workspace"
)

// clusterName is the moved Cluster: the sample of templates/local under a name of its own.
const clusterName = "moved"

// The Terraform state of the kubernetes backend: Secrets tfstate-<workspace>-<suffix> in
// the state namespace, as localstack's ProviderConfig configures it.
const (
	stateNamespace = "crossplane-system"
	stateSuffix    = "providerconfig-default"
)

// movedKinds are the kinds clusterctl must move, namespaced in dev.Namespace.
var movedKinds = []schema.GroupVersionKind{
	clusterv1.GroupVersion.WithKind("Cluster"),
	infrav1.GroupVersion.WithKind("CAPTCluster"),
	controlplanev1.GroupVersion.WithKind("CAPTControlPlane"),
	infrav1.GroupVersion.WithKind("WorkspaceTemplateApply"),
	infrav1.GroupVersion.WithKind("WorkspaceTemplate"),
}

// clusterAPIGroups are the API groups of Cluster API core's CRDs, which `clusterctl init`
// labels for clusterctl and localstack installs unlabelled. CAPT's are not among them:
// their CRDs must carry the label themselves.
var clusterAPIGroups = []string{"cluster.x-k8s.io", "addons.cluster.x-k8s.io", "ipam.cluster.x-k8s.io", "runtime.cluster.x-k8s.io"}

// record is what the source showed of the provisioned Cluster: the target must show the
// same, built from the same Terraform state.
type record struct {
	// objects are Kind/name of every object of movedKinds.
	objects []string
	// secrets are the Secrets that must travel: the templates' input and Cluster API's.
	secrets    []string
	vpc        infrav1.VPCStatus
	endpoint   string
	kubeconfig []byte
	// outputs are each Workspace's status.atProvider.outputs (the non-sensitive ones), by
	// Workspace name.
	outputs map[string]map[string]any
	// state are the resources of each Terraform workspace on the state server.
	state map[string][]string
}

// TestMoveLosesNothingAndDuplicatesNothing provisions the sample Cluster on the source,
// moves it with clusterctl to the target, hands provider-terraform over, and checks that
// the target rebuilds the same status from the same Terraform state (no second VPC), that
// the source keeps nothing but its paused Workspaces, and that deleting the Cluster on
// the target destroys what Terraform created.
func TestMoveLosesNothingAndDuplicatesNothing(t *testing.T) {
	t.Log("==> source: creating Cluster", clusterName)
	createCluster(t, source.Client, clusterName)
	waitReady(t, source, "source: ")
	rec := recordCluster(t)
	t.Logf("recorded: VPC %s, subnets %v %v, endpoint %s, Workspaces %v, state %v",
		rec.vpc.ID, rec.vpc.PrivateSubnetIDs, rec.vpc.PublicSubnetIDs, rec.endpoint, slices.Sorted(maps.Keys(rec.outputs)), rec.state)

	t.Log("==> labelling Cluster API's CRDs for clusterctl on source and target, as clusterctl init does")
	for _, s := range []*localstack.Stack{source, target} {
		labelClusterAPICRDs(t, s)
		checkCAPTCRDsLabelled(t, s)
	}

	t.Log("==> clusterctl move, source to target")
	start := time.Now()
	move(t)
	t.Logf("moved in %s", time.Since(start).Round(100*time.Millisecond))

	t.Run("source keeps nothing but paused Workspaces", func(t *testing.T) { checkSource(t, rec) })
	t.Run("target has every object", func(t *testing.T) { checkPresent(t, rec) })
	checkState(t, "after the move", rec.state)

	t.Log("==> stopping the source's provider-terraform, starting the target's")
	if err := source.StopProviderTerraform(); err != nil {
		t.Fatal(err)
	}
	// Nothing on the source can destroy anything any more.
	checkState(t, "with the source's provider-terraform stopped", rec.state)
	if err := target.StartProviderTerraform(within(t)); err != nil {
		t.Fatal(err)
	}

	t.Log("==> target: waiting for the status to be rebuilt from the same Terraform state")
	t.Run("target rebuilds the same status", func(t *testing.T) { checkRebuilt(t, rec) })
	if t.Failed() {
		t.FailNow()
	}
	checkState(t, "with the target's Workspaces Ready", rec.state)

	t.Log("==> target: deleting Cluster", clusterName)
	d, err := dev.DeleteCluster(within(t), target.Client, watcher(t, target, "target: ", clusterName))
	if err != nil {
		t.Fatalf("deleting the Cluster on the target: %v", err)
	}
	for _, s := range d.Steps {
		t.Logf("%7.1fs  %s", s.At.Seconds(), s.What)
	}
	if left := readState(t); len(left) > 0 {
		t.Errorf("Terraform state still holds resources after the Cluster was deleted on the target: %v", left)
	}
}

// createCluster creates the sample Cluster of templates/local as name.
func createCluster(t *testing.T, c client.Client, name string) {
	t.Helper()
	objs, err := dev.ReadObjects(dev.ClusterFile(root))
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objs {
		obj.SetName(name)
		if obj.GetKind() == "Cluster" {
			for _, ref := range []string{"infrastructureRef", "controlPlaneRef"} {
				if err := unstructured.SetNestedField(obj.Object, name, "spec", ref, "name"); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := c.Create(context.Background(), obj); err != nil {
			t.Fatalf("creating %s %s: %v", obj.GetKind(), name, err)
		}
	}
}

// waitReady waits until the Cluster is provisioned and Available on stack: what
// clusterctl move requires, and what the target must reach again.
func waitReady(t *testing.T, stack *localstack.Stack, prefix string) {
	t.Helper()
	ctx := within(t)
	if _, err := watcher(t, stack, prefix, clusterName).Until(ctx, func(dev.Snapshot) (bool, error) {
		return ready(ctx, stack.Client)
	}); err != nil {
		t.Fatalf("%sCluster not provisioned and Available: %v", prefix, err)
	}
}

// ready: CAPTCluster provisioned, CAPTControlPlane initialized and Available, the
// Cluster's ControlPlaneInitialized and Available conditions True.
func ready(ctx context.Context, c client.Reader) (bool, error) {
	if ok, err := dev.Provisioned(ctx, c, dev.Namespace, clusterName); !ok || err != nil {
		return false, err
	}
	key := client.ObjectKey{Namespace: dev.Namespace, Name: clusterName}
	cluster, cc, cp := &clusterv1.Cluster{}, &infrav1.CAPTCluster{}, &controlplanev1.CAPTControlPlane{}
	for _, obj := range []client.Object{cluster, cc, cp} {
		if err := c.Get(ctx, key, obj); err != nil {
			return false, client.IgnoreNotFound(err)
		}
	}
	return meta.IsStatusConditionTrue(cluster.Status.Conditions, clusterv1.ClusterControlPlaneInitializedCondition) &&
		meta.IsStatusConditionTrue(cluster.Status.Conditions, clusterv1.ClusterAvailableCondition) &&
		ptr.Deref(cc.Status.Initialization.Provisioned, false) &&
		cp.Status.Initialized && meta.IsStatusConditionTrue(cp.Status.Conditions, controlplanev1.AvailableCondition), nil
}

// recordCluster reads on the source what must survive the move.
func recordCluster(t *testing.T) record {
	t.Helper()
	ctx := context.Background()
	c := source.Client
	key := client.ObjectKey{Namespace: dev.Namespace, Name: clusterName}
	rec := record{objects: objectsOf(t, c)}
	cc := &infrav1.CAPTCluster{}
	if err := c.Get(ctx, key, cc); err != nil {
		t.Fatal(err)
	}
	if cc.Status.VPC == nil || cc.Status.VPC.ID == "" {
		t.Fatalf("CAPTCluster status has no VPC: %+v", cc.Status)
	}
	rec.vpc = *cc.Status.VPC
	cp := &controlplanev1.CAPTControlPlane{}
	if err := c.Get(ctx, key, cp); err != nil {
		t.Fatal(err)
	}
	rec.endpoint = cp.Status.Endpoint
	secret := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: dev.Namespace, Name: kubeconfig.SecretName(clusterName)}, secret); err != nil {
		t.Fatal(err)
	}
	rec.kubeconfig = secret.Data[kubeconfig.KubeconfigKey]
	// The templates' input Secret, and the Secrets Cluster API's naming makes the
	// Cluster's (clusterctl moves those with it).
	for _, name := range []string{"local-apiserver", kubeconfig.SecretName(clusterName), clusterName + "-ca"} {
		err := c.Get(ctx, client.ObjectKey{Namespace: dev.Namespace, Name: name}, &corev1.Secret{})
		switch {
		case err == nil:
			rec.secrets = append(rec.secrets, name)
		case !apierrors.IsNotFound(err):
			t.Fatal(err)
		}
	}
	rec.outputs = outputsOf(t, c)
	if len(rec.outputs) != 2 {
		t.Fatalf("want the VPC's and the control plane's Workspaces, got %v", slices.Sorted(maps.Keys(rec.outputs)))
	}
	// provider-terraform keeps each Workspace's state in the Terraform workspace of its
	// name (its external name).
	rec.state = readState(t)
	if got, want := slices.Sorted(maps.Keys(rec.state)), slices.Sorted(maps.Keys(rec.outputs)); !slices.Equal(got, want) {
		t.Fatalf("Terraform workspaces holding resources %v, want the Workspaces' %v", rec.state, want)
	}
	return rec
}

// objectsOf lists Kind/name of every object of movedKinds in the namespace.
func objectsOf(t *testing.T, c client.Reader) []string {
	t.Helper()
	out := make([]string, 0, len(movedKinds))
	for _, gvk := range movedKinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(context.Background(), list, client.InNamespace(dev.Namespace)); err != nil {
			t.Fatalf("listing %ss: %v", gvk.Kind, err)
		}
		for _, u := range list.Items {
			out = append(out, gvk.Kind+"/"+u.GetName())
		}
	}
	slices.Sort(out)
	return out
}

// workspacesOf lists the Cluster's Workspaces (cluster-scoped, labelled with it).
func workspacesOf(t *testing.T, c client.Reader) []unstructured.Unstructured {
	t.Helper()
	list := workspace.DefaultAPI().NewList()
	if err := c.List(context.Background(), list, client.MatchingLabels{clusterv1.ClusterNameLabel: clusterName}); err != nil {
		t.Fatalf("listing Workspaces: %v", err)
	}
	return list.Items
}

// outputsOf is each of the Cluster's Workspaces' outputs, by name.
func outputsOf(t *testing.T, c client.Reader) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, ws := range workspacesOf(t, c) {
		outputs, _, err := unstructured.NestedMap(ws.Object, "status", "atProvider", "outputs")
		if err != nil {
			t.Fatalf("Workspace %s: %v", ws.GetName(), err)
		}
		out[ws.GetName()] = outputs
	}
	return out
}

// readState reads every Terraform state on the state server, the kubernetes backend's
// gzipped JSON, and returns the managed resources of each Terraform workspace that holds
// any (terraform init leaves an empty state of the workspace "default").
func readState(t *testing.T) map[string][]string {
	t.Helper()
	secrets := &corev1.SecretList{}
	if err := state.Client.List(context.Background(), secrets, client.InNamespace(stateNamespace),
		client.MatchingLabels{"tfstate": "true", "tfstateSecretSuffix": stateSuffix}); err != nil {
		t.Fatalf("listing the Terraform state: %v", err)
	}
	out := map[string][]string{}
	for i := range secrets.Items {
		secret := &secrets.Items[i]
		resources, err := localstack.StateResources(&secrets.Items[i])
		if err != nil {
			t.Fatal(err)
		}
		if len(resources) > 0 {
			out[secret.Labels["tfstateWorkspace"]] = resources
		}
	}
	return out
}

// checkState requires the Terraform state on the state server to be what was recorded:
// nothing destroyed, no workspace added.
func checkState(t *testing.T, when string, want map[string][]string) {
	t.Helper()
	if got := readState(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("Terraform state %s: %v, want %v", when, got, want)
	}
	t.Logf("Terraform state %s: unchanged", when)
}

// labelClusterAPICRDs gives Cluster API core's CRDs clusterctl's label, as `clusterctl
// init` does: clusterctl move discovers only the kinds whose CRD carries it.
func labelClusterAPICRDs(t *testing.T, stack *localstack.Stack) {
	t.Helper()
	ctx := context.Background()
	crds := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := stack.Client.List(ctx, crds); err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range crds.Items {
		crd := &crds.Items[i]
		if !slices.Contains(clusterAPIGroups, crd.Spec.Group) {
			continue
		}
		patch := client.MergeFrom(crd.DeepCopy())
		if crd.Labels == nil {
			crd.Labels = map[string]string{}
		}
		crd.Labels[clusterctlv1.ClusterctlLabel] = ""
		if err := stack.Client.Patch(ctx, crd, patch); err != nil {
			t.Fatalf("labelling CRD %s: %v", crd.Name, err)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no Cluster API CRD found to label")
	}
}

// checkCAPTCRDsLabelled fails early, with the reason, when CAPT's CRDs lack clusterctl's
// label: clusterctl move would leave their objects behind.
func checkCAPTCRDsLabelled(t *testing.T, stack *localstack.Stack) {
	t.Helper()
	for _, gvk := range movedKinds[1:] {
		crds := &apiextensionsv1.CustomResourceDefinitionList{}
		if err := stack.Client.List(context.Background(), crds); err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(crds.Items, func(crd apiextensionsv1.CustomResourceDefinition) bool {
			return crd.Spec.Group == gvk.Group && crd.Spec.Names.Kind == gvk.Kind
		})
		if i < 0 {
			t.Fatalf("no CRD of %s", gvk.Kind)
		}
		if _, ok := crds.Items[i].Labels[clusterctlv1.ClusterctlLabel]; !ok {
			t.Fatalf("CRD %s lacks the label %s: clusterctl move would not move its objects", crds.Items[i].Name, clusterctlv1.ClusterctlLabel)
		}
	}
}

// move runs clusterctl move of the namespace from the source to the target, with
// clusterctl's log in the test log.
func move(t *testing.T) {
	t.Helper()
	clusterctllog.SetLogger(funcr.New(func(prefix, args string) { t.Log("clusterctl:", prefix, args) }, funcr.Options{Verbosity: 1}))
	defer clusterctllog.SetLogger(logr.Discard())
	ctx := within(t)
	c, err := clusterctl.New(ctx, "")
	if err != nil {
		t.Fatalf("clusterctl: %v", err)
	}
	if err := c.Move(ctx, clusterctl.MoveOptions{
		FromKubeconfig: clusterctl.Kubeconfig{Path: source.Kubeconfig},
		ToKubeconfig:   clusterctl.Kubeconfig{Path: target.Kubeconfig},
		Namespace:      dev.Namespace,
	}); err != nil {
		t.Fatalf("clusterctl move: %v", err)
	}
}

// checkSource: none of the moved objects is left on the source; its Workspaces (cluster
// scoped: clusterctl does not move them) are there, paused, and not destroyed.
func checkSource(t *testing.T, rec record) {
	ctx := within(t)
	// clusterctl deletes them with their finalizers removed; wait out the last deletions.
	var left []string
	for {
		if left = objectsOf(t, source.Client); len(left) == 0 || ctx.Err() != nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Errorf("left on the source: %v", left)
	}
	workspaces := workspacesOf(t, source.Client)
	names := make([]string, 0, len(workspaces))
	for _, ws := range workspaces {
		names = append(names, ws.GetName())
		if ws.GetAnnotations()[infrav1.CrossplanePausedAnnotation] != "true" {
			t.Errorf("Workspace %s on the source is not paused (annotations %v): its provider-terraform may still act on it",
				ws.GetName(), ws.GetAnnotations())
		}
		if ws.GetDeletionTimestamp() != nil {
			t.Logf("Workspace %s on the source is being deleted (finalizers %v)", ws.GetName(), ws.GetFinalizers())
			outputs, _, _ := unstructured.NestedMap(ws.Object, "status", "atProvider", "outputs")
			if !reflect.DeepEqual(outputs, rec.outputs[ws.GetName()]) {
				t.Errorf("Workspace %s on the source, deleting: outputs %v, want %v", ws.GetName(), outputs, rec.outputs[ws.GetName()])
			}
		}
	}
	slices.Sort(names)
	if want := slices.Sorted(maps.Keys(rec.outputs)); !slices.Equal(names, want) {
		t.Errorf("Workspaces on the source %v, want %v", names, want)
	}
}

// checkPresent: every moved object is on the target, once.
func checkPresent(t *testing.T, rec record) {
	if got := objectsOf(t, target.Client); !slices.Equal(got, rec.objects) {
		t.Errorf("objects on the target %v, want %v", got, rec.objects)
	}
	for _, name := range rec.secrets {
		if err := target.Client.Get(context.Background(), client.ObjectKey{Namespace: dev.Namespace, Name: name}, &corev1.Secret{}); err != nil {
			t.Errorf("Secret %s on the target: %v", name, err)
		}
	}
	t.Logf("on the target: %v and Secrets %v", rec.objects, rec.secrets)
}

// checkRebuilt waits until the target shows the recorded status, from Workspaces of the
// same names whose outputs are the recorded ones (the same VPC, not a second one), and
// then checks that nothing is there twice and that the kubeconfig is the one recorded.
func checkRebuilt(t *testing.T, rec record) {
	ctx := within(t)
	var diffs []string
	if _, err := watcher(t, target, "target: ", clusterName).Until(ctx, func(dev.Snapshot) (bool, error) {
		var err error
		diffs, err = differences(ctx, rec)
		return len(diffs) == 0, err
	}); err != nil {
		t.Fatalf("the target did not rebuild the status: %v; still different: %s", err, strings.Join(diffs, "; "))
	}
	if got := objectsOf(t, target.Client); !slices.Equal(got, rec.objects) {
		t.Errorf("objects on the target %v, want %v", got, rec.objects)
	}
	if left := objectsOf(t, source.Client); len(left) > 0 {
		t.Errorf("on the source again: %v", left)
	}
	data, version, err := dev.ConnectKubeconfig(context.Background(), target.Client, dev.Namespace, clusterName)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, rec.kubeconfig) {
		t.Errorf("the kubeconfig secret on the target differs from the one recorded on the source")
	}
	t.Logf("the kubeconfig secret on the target connects (server %s)", version)
}

// differences lists what the target does not show yet as recorded.
func differences(ctx context.Context, rec record) ([]string, error) {
	var diffs []string
	c := target.Client
	if ok, err := ready(ctx, c); err != nil {
		return nil, err
	} else if !ok {
		diffs = append(diffs, "Cluster not provisioned and Available")
	}
	key := client.ObjectKey{Namespace: dev.Namespace, Name: clusterName}
	cc := &infrav1.CAPTCluster{}
	if err := c.Get(ctx, key, cc); err != nil {
		return nil, err
	}
	if cc.Status.VPC == nil || !reflect.DeepEqual(*cc.Status.VPC, rec.vpc) {
		diffs = append(diffs, fmt.Sprintf("CAPTCluster status.vpc %+v, want %+v", cc.Status.VPC, rec.vpc))
	}
	cp := &controlplanev1.CAPTControlPlane{}
	if err := c.Get(ctx, key, cp); err != nil {
		return nil, err
	}
	if !cp.Status.Initialized || cp.Status.Endpoint != rec.endpoint {
		diffs = append(diffs, fmt.Sprintf("CAPTControlPlane initialized %v, endpoint %q, want %q", cp.Status.Initialized, cp.Status.Endpoint, rec.endpoint))
	}
	list := workspace.DefaultAPI().NewList()
	if err := c.List(ctx, list, client.MatchingLabels{clusterv1.ClusterNameLabel: clusterName}); err != nil {
		return nil, err
	}
	got := map[string]map[string]any{}
	for _, ws := range list.Items {
		outputs, _, err := unstructured.NestedMap(ws.Object, "status", "atProvider", "outputs")
		if err != nil {
			return nil, err
		}
		got[ws.GetName()] = outputs
	}
	if !reflect.DeepEqual(got, rec.outputs) {
		diffs = append(diffs, fmt.Sprintf("Workspaces' outputs %v, want %v", got, rec.outputs))
	}
	return diffs, nil
}
