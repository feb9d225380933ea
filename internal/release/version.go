package release

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/version"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/yaml"
)

// ValidateVersion checks a release's version: a tag vMAJOR.MINOR.PATCH (clusterctl
// reads a provider's versions from its tags) whose series metadata.yaml declares, as
// clusterctl init requires.
func ValidateVersion(v string) error {
	if v == "" {
		return fmt.Errorf("a release needs its version (vMAJOR.MINOR.PATCH): the tag its templates fetch the modules at")
	}
	parsed, err := version.ParseSemantic(v)
	if err != nil || !strings.HasPrefix(v, "v") {
		return fmt.Errorf("release version %q is not a tag of the form vMAJOR.MINOR.PATCH", v)
	}
	metadata := &clusterctlv1.Metadata{}
	if err := yaml.UnmarshalStrict([]byte(Metadata), metadata); err != nil {
		return fmt.Errorf("reading metadata.yaml: %w", err)
	}
	if metadata.GetReleaseSeriesForVersion(parsed) == nil {
		return fmt.Errorf("release version %s is in no release series of metadata.yaml: add its series there", v)
	}
	return nil
}
