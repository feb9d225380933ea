package localstack

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// startTimeout bounds how long etcd or kube-apiserver may take to start.
const startTimeout = 2 * time.Minute

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
		// A deadline against a hang, not a speed limit: envtest's 20 s default was
		// exceeded by a kube-apiserver restarted while the tests of other packages ran
		// beside it on two cores (make test runs several at a time).
		ControlPlaneStartTimeout: startTimeout,
		BinaryAssetsDirectory:    binDir,
		CRDInstallOptions:        envtest.CRDInstallOptions{Paths: crdDirs, ErrorIfPathMissing: true, Scheme: scheme},
		Scheme:                   scheme,
	}, nil
}
