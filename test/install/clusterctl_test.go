package install

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/version"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/cluster-api/cmd/clusterctl/client/config"
	"sigs.k8s.io/cluster-api/cmd/clusterctl/client/repository"
	yamlprocessor "sigs.k8s.io/cluster-api/cmd/clusterctl/client/yamlprocessor"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/release"
)

// TestClusterctlArtifacts writes the release files as `make release-manifests` does and
// reads them with clusterctl's own library: the metadata's release series, each
// provider's components (variables, target namespace, objects) and the cluster templates
// with their variables; every object is applied to the API server (server-side dry run).
func TestClusterctlArtifacts(t *testing.T) {
	ctx := context.Background()
	root, err := localstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	const image = "registry.example.com/capt:v0.1.0"
	if err := release.Artifacts(root, out, image); err != nil {
		t.Fatal(err)
	}

	metadata := &clusterctlv1.Metadata{}
	if err := yaml.UnmarshalStrict(read(t, out, "metadata.yaml"), metadata); err != nil {
		t.Fatal(err)
	}
	if s := metadata.GetReleaseSeriesForVersion(mustVersion(t, "v0.1.0")); s == nil || s.Contract != "v1beta2" {
		t.Errorf("metadata: release series for v0.1.0 %+v, want contract v1beta2", s)
	}

	reader := config.NewMemoryReader()
	for k, v := range map[string]string{"CLUSTER_NAME": "demo", "AWS_REGION": "eu-west-1", "KUBERNETES_VERSION": "v1.31.2",
		"CAPT_PRINCIPAL_ARN": "arn:aws:iam::111122223333:role/capt-control-plane"} {
		reader.Set(k, v)
	}
	cfg, err := config.New(ctx, "", config.InjectReader(reader))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file      string
		provider  clusterctlv1.ProviderType
		namespace string
	}{
		{"infrastructure-components.yaml", clusterctlv1.InfrastructureProviderType, "capt-system"},
		{"control-plane-components.yaml", clusterctlv1.ControlPlaneProviderType, "capt-control-plane-system"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			raw := read(t, out, tc.file)
			if !strings.Contains(string(raw), image) || strings.Contains(string(raw), release.DevImage) {
				t.Errorf("%s does not run the release image %s", tc.file, image)
			}
			comps, err := repository.NewComponents(repository.ComponentsInput{
				Provider:     config.NewProvider("capt", "file://"+out, tc.provider),
				ConfigClient: cfg,
				Processor:    yamlprocessor.NewSimpleProcessor(),
				RawYaml:      raw,
				Options:      repository.ComponentsOptions{Version: "v0.1.0"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if comps.TargetNamespace() != tc.namespace {
				t.Errorf("target namespace %q, want %q", comps.TargetNamespace(), tc.namespace)
			}
			apply(t, pointers(comps.Objs()))
		})
	}

	for _, flavor := range []string{"cluster-template.yaml", "cluster-template-eks.yaml", "cluster-template-local.yaml"} {
		t.Run(flavor, func(t *testing.T) {
			// clusterctl generate cluster sets NAMESPACE to the target namespace.
			namespace := "clusterctl-" + strings.TrimSuffix(flavor, ".yaml")
			reader.Set("NAMESPACE", namespace)
			tmpl, err := repository.NewTemplate(repository.TemplateInput{
				RawArtifact:           read(t, out, flavor),
				ConfigVariablesClient: cfg.Variables(),
				Processor:             yamlprocessor.NewSimpleProcessor(),
				TargetNamespace:       namespace,
			})
			if err != nil {
				t.Fatal(err)
			}
			vars := tmpl.Variables()
			slices.Sort(vars)
			want := []string{"AWS_REGION", "CAPT_PRINCIPAL_ARN", "CLUSTER_NAME", "KUBERNETES_VERSION"}
			if flavor == "cluster-template-local.yaml" {
				want = []string{"CLUSTER_NAME", "NAMESPACE"}
			}
			for _, v := range want {
				if !slices.Contains(vars, v) {
					t.Errorf("variables %v lack %s", vars, v)
				}
			}
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tmpl.TargetNamespace()}}
			if err := env.Client.Create(ctx, ns); client.IgnoreAlreadyExists(err) != nil {
				t.Fatal(err)
			}
			objs := tmpl.Objs()
			for _, o := range objs {
				// Terraform's own interpolation survives clusterctl's.
				if module, _, _ := unstructured.NestedString(o.Object, "spec", "template", "spec", "forProvider", "module"); strings.Contains(module, "$${") {
					t.Errorf("%s: module keeps clusterctl's escape $${", o.GetName())
				}
			}
			checkFlavorObjects(t, flavor, objs)
			apply(t, pointers(objs))
		})
	}
}

// flavorKinds is what each flavor creates, in order. eks (the default flavor): the
// WorkspaceTemplates of the VPC, the control plane and the node group, the Cluster, its
// CAPTCluster and CAPTControlPlane, and one worker pool (MachinePool and CAPTMachinePool).
// local: templates/local's WorkspaceTemplates (local-vpc, local-controlplane,
// local-nodegroup), the Cluster, its CAPTCluster and CAPTControlPlane.
var flavorKinds = map[string][]string{
	"cluster-template.yaml": {"WorkspaceTemplate", "WorkspaceTemplate", "WorkspaceTemplate",
		"Cluster", "CAPTCluster", "CAPTControlPlane", "MachinePool", "CAPTMachinePool"},
	"cluster-template-local.yaml": {"WorkspaceTemplate", "WorkspaceTemplate", "WorkspaceTemplate",
		"Cluster", "CAPTCluster", "CAPTControlPlane"},
}

func init() { flavorKinds["cluster-template-eks.yaml"] = flavorKinds["cluster-template.yaml"] }

// checkFlavorObjects checks a flavor's kinds, that every object is named after the
// cluster (CLUSTER_NAME is demo), and that each reference to a WorkspaceTemplate, a
// CAPTMachinePool or the Cluster names an object of the flavor.
func checkFlavorObjects(t *testing.T, flavor string, objs []unstructured.Unstructured) {
	t.Helper()
	kinds := make([]string, 0, len(objs))
	names := map[string]bool{}
	for _, o := range objs {
		kinds = append(kinds, o.GetKind())
		names[o.GetKind()+"/"+o.GetName()] = true
		if o.GetName() != "demo" && !strings.HasPrefix(o.GetName(), "demo-") {
			t.Errorf("%s %s is not named after the cluster", o.GetKind(), o.GetName())
		}
	}
	if want := flavorKinds[flavor]; !slices.Equal(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
	refs := map[string][]string{
		"CAPTCluster":      {"WorkspaceTemplate", "spec", "vpcTemplateRef", "name"},
		"CAPTControlPlane": {"WorkspaceTemplate", "spec", "workspaceTemplateRef", "name"},
		"CAPTMachinePool":  {"WorkspaceTemplate", "spec", "workspaceTemplateRef", "name"},
		"MachinePool":      {"CAPTMachinePool", "spec", "template", "spec", "infrastructureRef", "name"},
	}
	for _, o := range objs {
		ref, ok := refs[o.GetKind()]
		if !ok {
			continue
		}
		name, _, _ := unstructured.NestedString(o.Object, ref[1:]...)
		if !names[ref[0]+"/"+name] {
			t.Errorf("%s %s: %s %q is not in the flavor", o.GetKind(), o.GetName(), strings.Join(ref[1:], "."), name)
		}
		if o.GetKind() == "MachinePool" {
			if cluster, _, _ := unstructured.NestedString(o.Object, "spec", "clusterName"); !names["Cluster/"+cluster] {
				t.Errorf("MachinePool %s: spec.clusterName %q is not the flavor's Cluster", o.GetName(), cluster)
			}
		}
	}
}

func mustVersion(t *testing.T, v string) *version.Version {
	t.Helper()
	parsed, err := version.ParseSemantic(v)
	if err != nil {
		t.Fatal(err)
	}
	return parsed
}

func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func pointers(objs []unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i := range objs {
		out[i] = &objs[i]
	}
	return out
}
