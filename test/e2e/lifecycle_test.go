package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/dev"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// restPeriod is Cluster API's own hot-loop check: nothing may be written for this long.
const restPeriod = 2 * time.Minute

// TestClusterLifecycle creates the sample Cluster of templates/local, checks what Cluster
// API and a user see once it is provisioned, leaves it at rest, and deletes it in the
// order of CAPTEP-0041.
func TestClusterLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if err := dev.ApplyFiles(ctx, stack.Client, dev.ClusterFile(root)); err != nil {
		t.Fatal(err)
	}
	w := watcher(t, dev.ClusterName)
	if _, err := w.Until(within(t, 5*time.Minute), func(dev.Snapshot) (bool, error) {
		return dev.Provisioned(ctx, stack.Client, dev.Namespace, dev.ClusterName)
	}); err != nil {
		t.Fatalf("Cluster not provisioned: %v", err)
	}

	t.Run("provisioned", func(t *testing.T) { checkProvisioned(t, dev.Namespace, dev.ClusterName) })
	t.Run("at rest", func(t *testing.T) { checkAtRest(t, w) })
	t.Run("deleted in order", func(t *testing.T) { checkDeletion(t, w, dev.ClusterName) })
}

// checkProvisioned: the endpoint of the local kube-apiserver on the control plane and
// the Cluster, every WorkspaceTemplateApply and Workspace Ready, the Cluster Provisioned
// by Cluster API, and a kubeconfig secret that connects.
func checkProvisioned(t *testing.T, namespace, name string) {
	key := client.ObjectKey{Namespace: namespace, Name: name}
	want, err := url.Parse(stack.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	cp := &controlplanev1.CAPTControlPlane{}
	get(t, key, cp)
	if got := fmt.Sprintf("%s:%d", cp.Spec.ControlPlaneEndpoint.Host, cp.Spec.ControlPlaneEndpoint.Port); got != want.Host {
		t.Errorf("CAPTControlPlane endpoint %s, want %s", got, want.Host)
	}
	if cp.Status.Endpoint != want.Host {
		t.Errorf("CAPTControlPlane status.endpoint (kubectl get's ENDPOINT) %q, want %s", cp.Status.Endpoint, want.Host)
	}
	if !cp.Status.Initialized || !cp.Status.Ready || cp.Status.Version != cp.Spec.Version {
		t.Errorf("CAPTControlPlane status: initialized %v, ready %v, version %q", cp.Status.Initialized, cp.Status.Ready, cp.Status.Version)
	}
	cluster := &clusterv1.Cluster{}
	get(t, key, cluster)
	if cluster.Spec.ControlPlaneEndpoint.Host != cp.Spec.ControlPlaneEndpoint.Host || cluster.Spec.ControlPlaneEndpoint.Port != cp.Spec.ControlPlaneEndpoint.Port {
		t.Errorf("Cluster endpoint %+v, want the control plane's", cluster.Spec.ControlPlaneEndpoint)
	}
	if cluster.Status.Phase != string(clusterv1.ClusterPhaseProvisioned) {
		t.Errorf("Cluster phase %q, want Provisioned", cluster.Status.Phase)
	}
	cc := &infrav1.CAPTCluster{}
	get(t, key, cc)
	// The local VPC module spreads over two zones; the shipped one over zone_count (3)
	// of the region's, and the AWS stand-in's regions have three.
	zones := 2
	if namespace == awsNamespace {
		zones = 3
	}
	if cc.Status.VPC == nil || !strings.HasPrefix(cc.Status.VPC.ID, "vpc-") || len(cc.Status.FailureDomains) != zones {
		t.Errorf("CAPTCluster status: VPC %+v, failure domains %v", cc.Status.VPC, cc.Status.FailureDomains)
	}
	for _, apply := range []string{name + "-vpc", name + "-controlplane"} {
		wta := &infrav1.WorkspaceTemplateApply{}
		get(t, client.ObjectKey{Namespace: namespace, Name: apply}, wta)
		if !wta.Status.Applied {
			t.Errorf("WorkspaceTemplateApply %s not applied: %+v", apply, wta.Status.Conditions)
		}
		ws := workspace.DefaultAPI().NewObject()
		get(t, client.ObjectKey{Name: render.WorkspaceName(workspace.DefaultAPI(), namespace, apply)}, ws)
		typed, err := workspace.FromUnstructured(ws)
		if err != nil {
			t.Fatal(err)
		}
		if !typed.IsReady() {
			t.Errorf("Workspace %s not Ready", ws.GetName())
		}
	}
	_, version, err := dev.ConnectKubeconfig(context.Background(), stack.Client, namespace, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the kubeconfig secret connects to a kube-apiserver %s", version)
}

// checkAtRest waits for the last writes of provisioning to settle, then requires every
// object of the Cluster to keep its resourceVersion for restPeriod. Settled includes
// Cluster API reporting the Cluster Available, which needs it to have connected with the
// kubeconfig CAPT published: its cluster cache retries with a backoff, and the Cluster's
// RemoteConnectionProbe turning true is its write, not CAPT's.
func checkAtRest(t *testing.T, w *dev.Watcher) {
	ctx := within(t, restPeriod+4*time.Minute)
	// What make dev waits for before it says the Cluster is ready to use.
	if _, err := w.Until(ctx, func(dev.Snapshot) (bool, error) {
		return dev.Available(ctx, stack.Client, w.Namespace, w.Cluster)
	}); err != nil {
		t.Fatalf("Cluster API never reported the Cluster Available (RemoteConnectionProbe with the kubeconfig secret): %v", err)
	}
	var settled dev.Snapshot
	stableSince := time.Now()
	if _, err := w.Until(ctx, func(s dev.Snapshot) (bool, error) {
		if !sameVersions(settled, s) {
			settled, stableSince = s, time.Now()
		}
		return time.Since(stableSince) > 10*time.Second, nil
	}); err != nil {
		t.Fatalf("objects never settled: %v", err)
	}
	time.Sleep(restPeriod)
	after, err := dev.Observe(ctx, stack.Client, w.Namespace, w.Cluster)
	if err != nil {
		t.Fatal(err)
	}
	for key, o := range settled {
		if a, ok := after[key]; !ok || a.ResourceVersion != o.ResourceVersion {
			t.Errorf("%s written at rest: resourceVersion %s, then %s", key, o.ResourceVersion, a.ResourceVersion)
		}
	}
	if len(after) != len(settled) {
		t.Errorf("objects at rest changed: %d, then %d", len(settled), len(after))
	}
	t.Logf("%d objects unchanged for %s", len(settled), restPeriod)

	// By now Cluster API's cluster cache has connected with the kubeconfig CAPT published.
	cluster := &clusterv1.Cluster{}
	get(t, client.ObjectKey{Namespace: w.Namespace, Name: w.Cluster}, cluster)
	for _, c := range cluster.Status.Conditions {
		if c.Type == clusterv1.ClusterRemoteConnectionProbeCondition && c.Status != metav1.ConditionTrue {
			t.Errorf("Cluster API cannot connect with the kubeconfig secret: %s", c.Message)
		}
	}
}

func sameVersions(a, b dev.Snapshot) bool {
	if len(a) != len(b) {
		return false
	}
	for k, o := range a {
		if b[k].ResourceVersion != o.ResourceVersion {
			return false
		}
	}
	return true
}

// checkDeletion deletes the Cluster and checks the order of CAPTEP-0041: the endpoint is
// cleared, then the control plane's WorkspaceTemplateApply is deleted, its Workspace is
// destroyed, and only then do the apply, the secrets and the control plane go; the
// CAPTCluster's VPC goes after the control plane. Nothing is left. more are further
// pairs of steps, each first no later than second.
func checkDeletion(t *testing.T, w *dev.Watcher, name string, more ...[2]string) {
	d, err := dev.DeleteCluster(within(t, 5*time.Minute), stack.Client, w)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range d.Steps {
		t.Logf("%7.1fs  revision %-6d %s", s.At.Seconds(), s.Revision, s.What)
	}
	api := workspace.DefaultAPI()
	cpApply, vpcApply := name+"-controlplane", name+"-vpc"
	cpWorkspace := "Workspace/" + render.WorkspaceName(api, w.Namespace, cpApply)
	vpcWorkspace := "Workspace/" + render.WorkspaceName(api, w.Namespace, vpcApply)
	cpWTA, vpcWTA := "WorkspaceTemplateApply/"+cpApply, "WorkspaceTemplateApply/"+vpcApply
	// Each pair: the first step is seen no later than the second.
	before := [][2]string{
		{dev.EndpointCleared, cpWTA + " deleting"},
		{cpWTA + " deleting", cpWorkspace + " deleting"},
		{cpWorkspace + " deleting", cpWorkspace + " gone"},
		{cpWorkspace + " gone", cpWTA + " gone"},
		{cpWorkspace + " gone", "Secret/" + name + "-kubeconfig gone"},
		{cpWorkspace + " gone", "Secret/" + name + "-ca gone"},
		{"Secret/" + name + "-kubeconfig gone", "CAPTControlPlane/" + name + " gone"},
		{"CAPTControlPlane/" + name + " gone", vpcWTA + " deleting"},
		{vpcWTA + " deleting", vpcWorkspace + " deleting"},
		{vpcWorkspace + " gone", vpcWTA + " gone"},
		{vpcWTA + " gone", "CAPTCluster/" + name + " gone"},
		{"CAPTCluster/" + name + " gone", "Cluster/" + name + " gone"},
	}
	for _, pair := range append(before, more...) {
		first, ok1 := d.Find(pair[0])
		second, ok2 := d.Find(pair[1])
		switch {
		case !ok1 || !ok2:
			t.Errorf("step %q or %q never seen", pair[0], pair[1])
		case second.Revision < first.Revision:
			t.Errorf("%q (revision %d) came before %q (revision %d)", pair[1], second.Revision, pair[0], first.Revision)
		}
	}
}
