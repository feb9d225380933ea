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
	image := flag.String("image", release.DevImage, "the manager's image")
	flag.Parse()
	root, err := localstack.RepoRoot()
	if err == nil {
		err = release.Artifacts(root, *out, *image)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}
