// Package localstack runs the parts CAPT works with on one machine: etcd and
// kube-apiserver with every CRD installed (CAPT's, Cluster API's from the module version
// in go.mod, provider-terraform's from its module zip), and, for `capt dev`, the real
// kube-controller-manager, Cluster API core manager and provider-terraform as child
// processes. In EKS mode (Options.EKS) kube-apiserver also authenticates EKS bearer tokens
// through eks-token-webhook, as EKS does. The binaries come from bin/, built from Go
// modules by hack/tools/build.sh.
package localstack

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"

	bootstrapv1 "github.com/capt-dev/capt/api/bootstrap/v1beta1"
	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// ProviderTerraformModule is the provider-terraform module whose CRDs the tests install.
// v0.21.2 is the version the Go module proxy serves; its Workspace is cluster-scoped
// (tf.upbound.io).
const ProviderTerraformModule = "github.com/upbound/provider-terraform@v0.21.2"

// NewScheme returns a scheme with the built-in kinds, CRDs, Cluster API's core and
// runtime v1beta2 kinds (its ClusterClass controller watches ExtensionConfigs) and CAPT's
// kinds. Workspaces are read as unstructured objects.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		apiextensionsv1.AddToScheme,
		clusterv1.AddToScheme,
		runtimev1.AddToScheme,
		infrav1.AddToScheme,
		bootstrapv1.AddToScheme,
		controlplanev1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("building scheme: %w", err)
		}
	}
	return s, nil
}

// CRDDirs lists the CRD directories to install: CAPT's (first), Cluster API's and
// provider-terraform's.
func CRDDirs(root string) ([]string, error) {
	capi, err := moduleDir(root, "sigs.k8s.io/cluster-api")
	if err != nil {
		return nil, err
	}
	tf, err := moduleDir(root, ProviderTerraformModule)
	if err != nil {
		return nil, err
	}
	return []string{
		filepath.Join(root, "config", "crd", "bases"),
		filepath.Join(capi, "core", "config", "crd", "bases"),
		filepath.Join(tf, "package", "crds"),
	}, nil
}

// moduleDir downloads a module into the module cache if needed and returns its
// directory. A path without a version resolves to the version in go.mod.
func moduleDir(root, module string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return "", fmt.Errorf("locating module %s: %w: %s %s", module, err, out, exitErr.Stderr)
		}
		return "", fmt.Errorf("locating module %s: %w", module, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("locating module %s: %w", module, err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("locating module %s: %s", module, info.Error)
	}
	return info.Dir, nil
}

// RepoRoot finds the directory of CAPT's go.mod, from the working directory up.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding repository root: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module github.com/capt-dev/capt\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding repository root: no go.mod of github.com/capt-dev/capt above the working directory")
		}
		dir = parent
	}
}
