// Command aws-standin is a Terraform provider that speaks hashicorp/aws's real schema
// (version 6.25.0, extracted from @cdktf/provider-aws) and plays AWS's answers: the
// shipped templates/aws modules validate, plan, apply and destroy through it on one
// machine. docs/aws.md says what is real and what is simulated.
//
//	aws-standin extract -out schema.json.gz     (npm pack of the pinned package; hack/tools/build.sh runs it)
//	aws-standin extract -tarball provider-aws-21.22.1.tgz -out schema.json.gz
//	aws-standin                                  (started by OpenTofu or Terraform as a plugin)
package main

import (
	"crypto/sha512"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/capt-dev/capt/hack/tools/aws-standin/schema"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "extract" {
		if err := extract(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "aws-standin extract:", err)
			os.Exit(1)
		}
		return
	}
	if err := serve(); err != nil {
		fmt.Fprintln(os.Stderr, "aws-standin:", err)
		os.Exit(1)
	}
}

func extract(args []string) error {
	fs := flag.NewFlagSet("extract", flag.ContinueOnError)
	tarball := fs.String("tarball", "", "the @cdktf/provider-aws npm tarball (default: fetched with npm pack, integrity checked)")
	out := fs.String("out", "", "where to write the schema (gzipped JSON)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("-out is required")
	}
	if *tarball == "" {
		dir, err := os.MkdirTemp("", "aws-standin-npm-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(dir) }()
		if *tarball, err = fetch(dir); err != nil {
			return err
		}
	}
	f, err := os.Open(*tarball)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	s, err := schema.Extract(f)
	if err != nil {
		return err
	}
	if err := s.Write(*out + ".tmp"); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s %s (from %s): %d resources, %d data sources\n", s.Provider, s.Version, s.Source, len(s.Resources), len(s.DataSources))
	return os.Rename(*out+".tmp", *out)
}

// fetch runs npm pack of the pinned package into dir (npm's registry settings apply) and
// checks the tarball against the pinned integrity.
func fetch(dir string) (string, error) {
	spec := schema.NPMPackage + "@" + schema.NPMVersion
	cmd := exec.Command("npm", "pack", spec, "--pack-destination", dir, "--silent") //nolint:gosec // the pinned package
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("npm pack %s: %w", spec, err)
	}
	name := strings.TrimPrefix(strings.ReplaceAll(schema.NPMPackage, "/", "-"), "@") + "-" + schema.NPMVersion + ".tgz"
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path) //nolint:gosec // the file npm pack just wrote
	if err != nil {
		return "", err
	}
	sum := sha512.Sum512(b)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != schema.NPMIntegrity {
		return "", fmt.Errorf("%s: integrity %s, want %s", name, got, schema.NPMIntegrity)
	}
	return path, nil
}
