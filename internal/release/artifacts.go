package release

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// DevImage is the image config/manager names; a release replaces it.
const DevImage = "ghcr.io/capt-dev/capt:dev"

// Metadata is clusterctl's metadata.yaml: CAPT's release series and the Cluster API
// contract each implements.
const Metadata = `apiVersion: clusterctl.cluster.x-k8s.io/v1alpha3
kind: Metadata
releaseSeries:
- major: 0
  minor: 1
  contract: v1beta2
`

// Artifacts writes clusterctl's release files for image into out: metadata.yaml, the
// two providers' components and the cluster templates (the default flavor is eks).
func Artifacts(root, out, image string) error {
	if err := os.MkdirAll(out, 0o750); err != nil {
		return err
	}
	files := map[string][]byte{"metadata.yaml": []byte(Metadata)}
	for provider, name := range map[string]string{
		"infrastructure": "infrastructure-components.yaml",
		"controlplane":   "control-plane-components.yaml",
	} {
		built, err := Kustomize(filepath.Join(root, "config", provider))
		if err != nil {
			return err
		}
		files[name] = bytes.ReplaceAll(built, []byte(DevImage), []byte(image))
	}
	eks, err := os.ReadFile(filepath.Join(root, "templates", "clusterctl", "eks.yaml")) //nolint:gosec // the checkout's own file
	if err != nil {
		return err
	}
	files["cluster-template.yaml"], files["cluster-template-eks.yaml"] = eks, eks
	if files["cluster-template-local.yaml"], err = LocalFlavor(root); err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(out, name), data, 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}
