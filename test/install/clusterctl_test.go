package install

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
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

// The release TestClusterctlArtifacts writes: not the checkout's own version (charts/capt's
// appVersion, v0.1.0), so that what names it can only have it from the release.
const (
	releaseVersion = "v0.1.7"
	releaseImage   = "registry.example.com/capt:" + releaseVersion
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
	if err := release.Artifacts(root, out, release.Release{Version: releaseVersion, Image: releaseImage}); err != nil {
		t.Fatal(err)
	}

	metadata := &clusterctlv1.Metadata{}
	if err := yaml.UnmarshalStrict(read(t, out, "metadata.yaml"), metadata); err != nil {
		t.Fatal(err)
	}
	if s := metadata.GetReleaseSeriesForVersion(mustVersion(t, releaseVersion)); s == nil || s.Contract != "v1beta2" {
		t.Errorf("metadata: release series for %s %+v, want contract v1beta2", releaseVersion, s)
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
			if !strings.Contains(string(raw), releaseImage) || strings.Contains(string(raw), release.DevImage) {
				t.Errorf("%s does not run the release image %s", tc.file, releaseImage)
			}
			comps := components(t, cfg, out, tc.file, tc.provider)
			if comps.TargetNamespace() != tc.namespace {
				t.Errorf("target namespace %q, want %q", comps.TargetNamespace(), tc.namespace)
			}
			if tc.provider == clusterctlv1.InfrastructureProviderType {
				// The bootstrap kinds are the infrastructure provider's (docs/install.md).
				checkBootstrapKinds(t, pointers(comps.Objs()))
			}
			apply(t, pointers(comps.Objs()))
		})
	}

	for _, flavor := range []string{"cluster-template.yaml", "cluster-template-eks.yaml", "cluster-template-local.yaml",
		"clusterclass-capt-eks.yaml", "cluster-template-eks-topology.yaml"} {
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
			switch flavor {
			case "cluster-template-local.yaml":
				want = []string{"CLUSTER_NAME", "NAMESPACE"}
			case "clusterclass-capt-eks.yaml":
				want = []string{"CAPT_PRINCIPAL_ARN"}
			case "cluster-template-eks-topology.yaml":
				want = []string{"AWS_REGION", "CLUSTER_NAME", "KUBERNETES_VERSION"}
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
			modules := 0
			for _, o := range objs {
				module, remote, _ := unstructured.NestedString(o.Object, "spec", "template", "spec", "forProvider", "module")
				// Terraform's own interpolation survives clusterctl's.
				if strings.Contains(module, "$${") {
					t.Errorf("%s: module keeps clusterctl's escape $${", o.GetName())
				}
				if source, _, _ := unstructured.NestedString(o.Object, "spec", "template", "spec", "forProvider", "source"); !remote || source != "Remote" {
					continue
				}
				// CAPT_MODULES_REF is not set: the release's own tag, never a branch.
				modules++
				if refs := release.ModuleRefs([]byte(module)); len(refs) != 1 || refs[0] != releaseVersion {
					t.Errorf("%s fetches %q: refs %q, want the release's version %s", o.GetName(), module, refs, releaseVersion)
				}
			}
			// eks and the ClusterClass: the VPC's, EKS's and the node group's; local: inline
			// modules only; eks-topology: none of its own (its class's).
			wantModules := map[string]int{"cluster-template-local.yaml": 0, "cluster-template-eks-topology.yaml": 0}
			if n, ok := wantModules[flavor]; (ok && modules != n) || (!ok && modules != 3) {
				t.Errorf("%d remote modules", modules)
			}
			checkFlavorObjects(t, flavor, objs)
			apply(t, pointers(objs))
		})
	}

	t.Run("aws-workspacetemplates.yaml", func(t *testing.T) {
		objs, err := release.Objects(read(t, out, "aws-workspacetemplates.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "clusterctl-aws"}}
		if err := env.Client.Create(ctx, ns); client.IgnoreAlreadyExists(err) != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			o.SetNamespace(ns.Name)
		}
		if len(objs) != 3 {
			t.Errorf("%d objects, want the VPC's, EKS's and the node group's WorkspaceTemplates", len(objs))
		}
		apply(t, objs)
	})
	t.Run("module refs", func(t *testing.T) {
		checkReleaseModuleRefs(t, root, out)
	})
	t.Run("CAPT's AWS identity", func(t *testing.T) {
		checkClusterctlAWSIdentity(t, out)
	})
}

// checkReleaseModuleRefs checks that no shipped artifact (every release file, and the
// chart's files) fetches a module at a branch: each ref is the release's version (the
// chart's, its appVersion), and the templates name the VPC's, EKS's and the node group's.
func checkReleaseModuleRefs(t *testing.T, root, out string) {
	t.Helper()
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"cluster-template.yaml": 3, "cluster-template-eks.yaml": 3, "aws-workspacetemplates.yaml": 3, "clusterclass-capt-eks.yaml": 3}
	for _, e := range entries {
		refs := release.ModuleRefs(read(t, out, e.Name()))
		if len(refs) != want[e.Name()] {
			t.Errorf("%s: %d module refs %q, want %d", e.Name(), len(refs), refs, want[e.Name()])
		}
		for _, ref := range refs {
			if ref != releaseVersion {
				t.Errorf("%s fetches a module at %q, not at the release's version %s", e.Name(), ref, releaseVersion)
			}
		}
	}
	dir := filepath.Join(root, "charts", "capt")
	chart, err := loader.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, ref := range release.ModuleRefs(data) {
			if ref != chart.Metadata.AppVersion {
				t.Errorf("%s fetches a module at %q, not at the chart's version %s", path, ref, chart.Metadata.AppVersion)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// components reads a provider's components of the release in out as clusterctl init
// does, with the variables cfg gives.
func components(t *testing.T, cfg config.Client, out, file string, provider clusterctlv1.ProviderType) repository.Components {
	t.Helper()
	comps, err := repository.NewComponents(repository.ComponentsInput{
		Provider:     config.NewProvider("capt", "file://"+out, provider),
		ConfigClient: cfg,
		Processor:    yamlprocessor.NewSimpleProcessor(),
		RawYaml:      read(t, out, file),
		Options:      repository.ComponentsOptions{Version: releaseVersion},
	})
	if err != nil {
		t.Fatal(err)
	}
	return comps
}

// clusterctlConfig is clusterctl's configuration with only vars set.
func clusterctlConfig(t *testing.T, vars map[string]string) config.Client {
	t.Helper()
	reader := config.NewMemoryReader()
	for k, v := range vars {
		reader.Set(k, v)
	}
	cfg, err := config.New(context.Background(), "", config.InjectReader(reader))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
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

func init() {
	flavorKinds["cluster-template-eks.yaml"] = flavorKinds["cluster-template.yaml"]
	// The topology flavor is a Cluster of its ClusterClass; the class file holds the rest.
	flavorKinds["cluster-template-eks-topology.yaml"] = []string{"Cluster"}
	flavorKinds["clusterclass-capt-eks.yaml"] = []string{"WorkspaceTemplate", "WorkspaceTemplate", "WorkspaceTemplate",
		"ClusterClass", "CAPTClusterTemplate", "CAPTControlPlaneTemplate", "CAPTMachinePoolTemplate", "CAPTNodeGroupBootstrapTemplate"}
}

// checkFlavorObjects checks a flavor's kinds, that every object is named after the
// cluster (CLUSTER_NAME is demo; a ClusterClass file's after the class), and that each
// reference to a WorkspaceTemplate, a CAPTMachinePool or the Cluster names an object of
// the flavor.
func checkFlavorObjects(t *testing.T, flavor string, objs []unstructured.Unstructured) {
	t.Helper()
	kinds := make([]string, 0, len(objs))
	names := map[string]bool{}
	// A ClusterClass's objects are named after the class, shared by its Clusters.
	named := "demo"
	if flavor == "clusterclass-capt-eks.yaml" {
		named = "capt-eks"
	}
	for _, o := range objs {
		kinds = append(kinds, o.GetKind())
		names[o.GetKind()+"/"+o.GetName()] = true
		if o.GetName() != named && !strings.HasPrefix(o.GetName(), named+"-") {
			t.Errorf("%s %s is not named after %s", o.GetKind(), o.GetName(), named)
		}
	}
	if want := flavorKinds[flavor]; !slices.Equal(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
	refs := map[string][]string{
		"CAPTCluster":              {"WorkspaceTemplate", "spec", "vpcTemplateRef", "name"},
		"CAPTControlPlane":         {"WorkspaceTemplate", "spec", "workspaceTemplateRef", "name"},
		"CAPTMachinePool":          {"WorkspaceTemplate", "spec", "workspaceTemplateRef", "name"},
		"MachinePool":              {"CAPTMachinePool", "spec", "template", "spec", "infrastructureRef", "name"},
		"CAPTClusterTemplate":      {"WorkspaceTemplate", "spec", "template", "spec", "vpcTemplateRef", "name"},
		"CAPTControlPlaneTemplate": {"WorkspaceTemplate", "spec", "template", "spec", "workspaceTemplateRef", "name"},
		"CAPTMachinePoolTemplate":  {"WorkspaceTemplate", "spec", "template", "spec", "workspaceTemplateRef", "name"},
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
