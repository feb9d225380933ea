package main

import (
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/capt-dev/capt/hack/tools/aws-standin/schema"
)

func extract(args []string) error {
	fs := flag.NewFlagSet("extract", flag.ContinueOnError)
	dir := fs.String("dir", "", "extract every pinned package (fetched with npm pack, integrity checked) into DIR/schema-<version>.json.gz")
	tarball := fs.String("tarball", "", "extract one @cdktf/provider-aws npm tarball instead (with -out)")
	out := fs.String("out", "", "where to write the schema of -tarball (gzipped JSON)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *tarball != "" && *out != "" && *dir == "":
		_, err := extractFile(*tarball, *out)
		return err
	case *dir != "" && *tarball == "" && *out == "":
		return extractPinned(*dir)
	default:
		return errors.New("extract takes -dir DIR, or -tarball FILE and -out FILE")
	}
}

// extractPinned fetches and extracts every pinned package, side by side: each takes a
// few seconds of npm and ten of one core, and build.sh waits for them.
func extractPinned(dir string) error {
	errs := make([]error, len(schema.Packages))
	var wg sync.WaitGroup
	for i, p := range schema.Packages {
		wg.Go(func() {
			if err := extractOne(p, dir); err != nil {
				errs[i] = fmt.Errorf("hashicorp/aws %s (%s@%s): %w", p.Provider, schema.NPMPackage, p.NPM, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func extractOne(p schema.Package, dir string) error {
	tmp, err := os.MkdirTemp("", "aws-standin-npm-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	tgz, err := fetch(p, tmp)
	if err != nil {
		return err
	}
	s, err := extractFile(tgz, filepath.Join(dir, schema.FileName(p.Provider)))
	if err != nil {
		return err
	}
	// The pin's claim, checked: the package was generated from that provider version.
	if s.Version != p.Provider || s.Source != schema.NPMPackage+"@"+p.NPM {
		return fmt.Errorf("the package says it was generated from hashicorp/aws %s (%s), the pin says %s", s.Version, s.Source, p.Provider)
	}
	return nil
}

func extractFile(tarball, out string) (*schema.Schema, error) {
	f, err := os.Open(tarball) //nolint:gosec // the tarball named on the command line
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	s, err := schema.Extract(f)
	if err != nil {
		return nil, err
	}
	if err := s.Write(out + ".tmp"); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "%s %s (from %s): %d resources, %d data sources\n", s.Provider, s.Version, s.Source, len(s.Resources), len(s.DataSources))
	return s, os.Rename(out+".tmp", out)
}

// fetch runs npm pack of a pinned package into dir (npm's registry settings apply) and
// checks the tarball against the pinned integrity.
func fetch(p schema.Package, dir string) (string, error) {
	spec := schema.NPMPackage + "@" + p.NPM
	cmd := exec.Command("npm", "pack", spec, "--pack-destination", dir, "--silent") //nolint:gosec // a pinned package
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("npm pack %s: %w", spec, err)
	}
	name := strings.TrimPrefix(strings.ReplaceAll(schema.NPMPackage, "/", "-"), "@") + "-" + p.NPM + ".tgz"
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path) //nolint:gosec // the file npm pack just wrote
	if err != nil {
		return "", err
	}
	sum := sha512.Sum512(b)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != p.Integrity {
		return "", fmt.Errorf("%s: integrity %s, want %s", name, got, p.Integrity)
	}
	return path, nil
}
