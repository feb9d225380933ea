// Command release writes CAPT's clusterctl release files (make release-manifests).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/release"
)

func main() {
	out := flag.String("out", "out", "directory to write the release files to")
	image := flag.String("image", "", "the manager's image (default ghcr.io/capt-dev/capt:<version>)")
	version := flag.String("version", "", "the release's tag, vMAJOR.MINOR.PATCH: the ref its templates fetch the modules of templates/aws at (required)")
	flag.Parse()
	r := release.Release{Version: *version, Image: *image}
	if r.Image == "" {
		r.Image = "ghcr.io/capt-dev/capt:" + r.Version
	}
	root, err := localstack.RepoRoot()
	if err == nil {
		err = release.Artifacts(root, *out, r)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}
