package localstack

import (
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// NewEnvironment is the etcd and kube-apiserver of binDir, with every CRD CAPT works
// with (from the checkout at root and the modules in its go.mod) and CAPT's scheme. The
// tests start it as it is; the local stack first gives it a data directory and a port.
func NewEnvironment(root, binDir string) (*envtest.Environment, error) {
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(binDir, bin)); err != nil {
			return nil, fmt.Errorf("%s not found in %s: `make test` and `make dev` build it (or hack/tools/build.sh %s)", bin, binDir, bin)
		}
	}
	crdDirs, err := CRDDirs(root)
	if err != nil {
		return nil, err
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	return &envtest.Environment{
		BinaryAssetsDirectory: binDir,
		CRDInstallOptions:     envtest.CRDInstallOptions{Paths: crdDirs, ErrorIfPathMissing: true, Scheme: scheme},
		Scheme:                scheme,
	}, nil
}
