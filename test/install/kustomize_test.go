package install

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	yamlprocessor "sigs.k8s.io/cluster-api/cmd/clusterctl/client/yamlprocessor"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/release"
)

// TestKustomizations builds config/default (every controller in one Deployment) and the
// clusterctl providers config/infrastructure and config/controlplane (their variables
// given their defaults, as clusterctl init does), checks what a Cluster API provider must
// look like, and applies every object to the API server (server-side dry run: the CRDs
// are already installed by the test environment).
func TestKustomizations(t *testing.T) {
	root, err := localstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir, provider, namespace, controllers string
		crds                                  []string
	}{
		{"default", "infrastructure-capt", "capt-system", "all", []string{
			"captclusters", "captclustertemplates", "captcontrolplanes", "captcontrolplanetemplates", "captmachinepools", "captmachinepooltemplates", "captnodegroupbootstraps", "captnodegroupbootstraptemplates", "workspacetemplateapplies", "workspacetemplates"}},
		{"infrastructure", "infrastructure-capt", "capt-system", "infrastructure", []string{
			"captclusters", "captclustertemplates", "captmachinepools", "captmachinepooltemplates", "captnodegroupbootstraps", "captnodegroupbootstraptemplates", "workspacetemplateapplies", "workspacetemplates"}},
		{"controlplane", "control-plane-capt", "capt-control-plane-system", "controlplane", []string{
			"captcontrolplanes", "captcontrolplanetemplates"}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			out, err := release.Kustomize(filepath.Join(root, "config", tc.dir))
			if err != nil {
				t.Fatal(err)
			}
			if tc.dir != "default" {
				out, err = yamlprocessor.NewSimpleProcessor().Process(out, func(name string) (string, error) {
					return "", fmt.Errorf("%s is not set", name)
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			objs, err := release.Objects(out)
			if err != nil {
				t.Fatal(err)
			}
			var crds []string
			for _, o := range objs {
				if got := o.GetLabels()["cluster.x-k8s.io/provider"]; got != tc.provider {
					t.Errorf("%s %s: provider label %q, want %q", o.GetKind(), o.GetName(), got, tc.provider)
				}
				switch o.GetKind() {
				case "CustomResourceDefinition":
					crds = append(crds, strings.Split(o.GetName(), ".")[0])
				case "Deployment":
					checkDeployment(t, o, tc.namespace, tc.controllers)
				}
			}
			// CAPT's own AWS identity: the pod's own, unless an overlay gives one
			// (TestKustomizeAWSIdentity); the control-plane provider's, from clusterctl's
			// variables, unset here (TestClusterctlArtifacts).
			if tc.dir != "controlplane" {
				checkNoAWSIdentity(t, identityOf(t, objs))
			}
			if tc.dir != "controlplane" {
				checkBootstrapKinds(t, objs)
			}
			slices.Sort(crds)
			if !slices.Equal(crds, tc.crds) {
				t.Errorf("CRDs %v, want %v", crds, tc.crds)
			}
			apply(t, objs)
		})
	}
}

// checkDeployment checks the manager's Deployment: its namespace, a container named
// manager running the selected controllers, non-root with a read-only root filesystem.
func checkDeployment(t *testing.T, d *unstructured.Unstructured, namespace, controllers string) {
	t.Helper()
	if d.GetNamespace() != namespace {
		t.Errorf("Deployment in %q, want %q", d.GetNamespace(), namespace)
	}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(containers) != 1 {
		t.Fatalf("%d containers, want 1", len(containers))
	}
	c := containers[0].(map[string]any)
	if c["name"] != "manager" {
		t.Errorf("container %v, want manager", c["name"])
	}
	args, _, _ := unstructured.NestedStringSlice(c, "args")
	if !slices.Contains(args, "--controllers="+controllers) {
		t.Errorf("args %v lack --controllers=%s", args, controllers)
	}
	for path, want := range map[string]any{
		"readOnlyRootFilesystem": true, "runAsNonRoot": true, "allowPrivilegeEscalation": false,
	} {
		if got, _, _ := unstructured.NestedFieldNoCopy(c, "securityContext", path); got != want {
			t.Errorf("securityContext.%s = %v, want %v", path, got, want)
		}
	}
}

// apply creates the namespaces and dry-runs every other object on the API server.
func apply(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			if err := env.Client.Create(ctx, o.DeepCopy()); client.IgnoreAlreadyExists(err) != nil {
				t.Fatalf("creating Namespace %s: %v", o.GetName(), err)
			}
		}
	}
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			continue
		}
		if err := env.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()), client.FieldOwner("install-test"), client.ForceOwnership, client.DryRunAll); err != nil {
			t.Errorf("applying %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
}
