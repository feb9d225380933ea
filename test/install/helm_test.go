package install

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/release"
)

// TestHelmChart lints charts/capt and renders it with Helm's own library, for the
// defaults and for each provider's controllers, then checks the Deployment and RBAC and
// applies every object to the API server (server-side dry run; the CRDs of crds/ are
// those the test environment installed, as make verify-generate keeps them equal).
func TestHelmChart(t *testing.T) {
	ctx := context.Background()
	root, err := localstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "charts", "capt")
	linter := lint.All(dir, nil, "capt-system", false)
	for _, m := range linter.Messages {
		if m.Severity >= support.WarningSev {
			t.Errorf("helm lint: %s", m)
		}
	}
	chart, err := loader.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// CAPTCluster, CAPTMachinePool, CAPTControlPlane, CAPTNodeGroupBootstrap and their
	// templates, WorkspaceTemplate and WorkspaceTemplateApply.
	if got := len(chart.CRDObjects()); got != 10 {
		t.Errorf("%d CRDs in crds/, want 10", got)
	}
	checkMoveLabels(t, chart.CRDObjects())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "capt-helm"}}
	if err := env.Client.Create(ctx, ns); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	for _, controllers := range []string{"all", "infrastructure", "controlplane"} {
		t.Run(controllers, func(t *testing.T) {
			values := map[string]any{"controllers": controllers, "image": map[string]any{"tag": "v0.1.0"}}
			objs, err := renderChart(chart, "r-"+controllers, ns.Name, values)
			if err != nil {
				t.Fatal(err)
			}
			kinds := make([]string, 0, len(objs))
			for _, o := range objs {
				kinds = append(kinds, o.GetKind())
				if o.GetLabels()["cluster.x-k8s.io/provider"] != "infrastructure-capt" {
					t.Errorf("%s %s lacks the provider label", o.GetKind(), o.GetName())
				}
				if o.GetKind() == "Deployment" {
					checkDeployment(t, o, ns.Name, controllers)
					image, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
					if got := image[0].(map[string]any)["image"]; got != "ghcr.io/capt-dev/capt:v0.1.0" {
						t.Errorf("image %v", got)
					}
				}
			}
			// Helm installs crds/ itself: the bootstrap kinds' CRDs are checked with the
			// rendered objects.
			checkBootstrapKinds(t, append(slices.Clone(objs), crdObjects(t, chart.CRDObjects())...))
			slices.Sort(kinds)
			if want := []string{"ClusterRole", "ClusterRole", "ClusterRoleBinding", "Deployment", "ServiceAccount"}; !slices.Equal(kinds, want) {
				t.Errorf("kinds %v, want %v", kinds, want)
			}
			apply(t, objs)
		})
	}
}

// renderChart renders chart as `helm template` does, for release name in namespace
// with values, and returns its objects.
func renderChart(chart *chart.Chart, name, namespace string, values map[string]any) ([]*unstructured.Unstructured, error) {
	rv, err := chartutil.ToRenderValues(chart, values, chartutil.ReleaseOptions{Name: name, Namespace: namespace}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	rendered, err := engine.Render(chart, rv)
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	for file, text := range rendered {
		if !strings.HasSuffix(file, ".yaml") || strings.TrimSpace(text) == "" {
			continue
		}
		more, err := release.Objects([]byte(text))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		objs = append(objs, more...)
	}
	return objs, nil
}

// checkMoveLabels: clusterctl move finds a provider's kinds by the label
// clusterctl.cluster.x-k8s.io on their CRDs (clusterctl adds it when it installs a
// provider, Helm does not), and takes every object of a kind whose CRD also carries
// clusterctl.cluster.x-k8s.io/move: WorkspaceTemplates, which no Cluster owns. Without
// them, a move of a Helm-installed CAPT moves the bare Cluster and the source's garbage
// collector deletes its CAPT objects.
// crdObjects are the chart's CRDs as objects.
func crdObjects(t *testing.T, crds []chart.CRD) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, crd := range crds {
		o, err := release.Objects(crd.File.Data)
		if err != nil {
			t.Fatalf("%s: %v", crd.Filename, err)
		}
		objs = append(objs, o...)
	}
	return objs
}

func checkMoveLabels(t *testing.T, crds []chart.CRD) {
	t.Helper()
	for _, crd := range crds {
		objs, err := release.Objects(crd.File.Data)
		if err != nil || len(objs) != 1 {
			t.Fatalf("%s: %d objects, %v", crd.Filename, len(objs), err)
		}
		labels := objs[0].GetLabels()
		if _, ok := labels["clusterctl.cluster.x-k8s.io"]; !ok {
			t.Errorf("CRD %s lacks the label clusterctl.cluster.x-k8s.io: clusterctl move would not see its objects", objs[0].GetName())
		}
		_, move := labels["clusterctl.cluster.x-k8s.io/move"]
		if want := objs[0].GetName() == "workspacetemplates.infrastructure.cluster.x-k8s.io"; move != want {
			t.Errorf("CRD %s: label clusterctl.cluster.x-k8s.io/move present %v, want %v", objs[0].GetName(), move, want)
		}
	}
}
