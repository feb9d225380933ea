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

// Release is what a release's files name: its version, the tag its cluster templates
// fetch the modules of templates/aws at, and the manager's image.
type Release struct {
	// Version is the release's tag, vMAJOR.MINOR.PATCH, in a series of Metadata.
	Version string
	// Image is the manager's image.
	Image string
}

// Artifacts writes clusterctl's release files for r into out: metadata.yaml, the two
// providers' components, the cluster templates (the default flavor is eks; eks-topology
// with its ClusterClass file clusterclass-capt-eks.yaml) and
// aws-workspacetemplates.yaml (templates/aws's WorkspaceTemplates), each module of
// templates/aws fetched at r.Version.
func Artifacts(root, out string, r Release) error {
	if err := ValidateVersion(r.Version); err != nil {
		return err
	}
	if r.Image == "" {
		return fmt.Errorf("a release needs the manager's image")
	}
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
		files[name] = bytes.ReplaceAll(built, []byte(DevImage), []byte(r.Image))
	}
	for name, src := range map[string]string{
		"cluster-template-eks.yaml":   filepath.Join("templates", "clusterctl", "eks.yaml"),
		"clusterclass-capt-eks.yaml":  filepath.Join("templates", "clusterctl", "clusterclass-capt-eks.yaml"),
		"aws-workspacetemplates.yaml": filepath.Join("templates", "aws", "workspacetemplates.yaml"),
	} {
		data, err := os.ReadFile(filepath.Join(root, src)) //nolint:gosec // the checkout's own file
		if err != nil {
			return err
		}
		if files[name], err = PinModules(data, r.Version); err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
	}
	files["cluster-template.yaml"] = files["cluster-template-eks.yaml"]
	// The eks flavor as a topology of the ClusterClass above: no module of its own.
	topology, err := os.ReadFile(filepath.Join(root, "templates", "clusterctl", "eks-topology.yaml")) //nolint:gosec // the checkout's own file
	if err != nil {
		return err
	}
	files["cluster-template-eks-topology.yaml"] = topology
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
