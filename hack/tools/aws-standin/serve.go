package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5/tf5server"

	"github.com/capt-dev/capt/hack/tools/aws-standin/provider"
	"github.com/capt-dev/capt/hack/tools/aws-standin/schema"
)

// pluginPrefix is how a mirror names the provider's executable:
// terraform-provider-aws_v<version>, the name Terraform and OpenTofu start it by.
const pluginPrefix = "terraform-provider-aws_v"

// servedVersion is the hashicorp/aws version to play when started as argv0: the version
// in a mirror's name for it, so that one binary is every version a mirror holds (the
// mirror links it once per version), else schema.DefaultVersion.
func servedVersion(argv0 string) (string, error) {
	v, ok := strings.CutPrefix(filepath.Base(argv0), pluginPrefix)
	if !ok {
		return schema.DefaultVersion, nil
	}
	if _, err := schema.Pinned(v); err != nil {
		return "", fmt.Errorf("started as %s: %w", filepath.Base(argv0), err)
	}
	return v, nil
}

// binDir is the directory of the real binary: the build step put the extracted schemas
// beside it, and Terraform starts the plugin through a mirror's symbolic link.
func binDir() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return "", err
	}
	return filepath.Dir(exe), nil
}

// schemaFile is the schema to serve and the version it must be: AWS_STANDIN_SCHEMA's
// file, whatever version it holds (by hand: any extracted schema), or the schema beside
// the binary of the version argv0 names.
func schemaFile(argv0 string) (file, version string, err error) {
	if f := os.Getenv("AWS_STANDIN_SCHEMA"); f != "" {
		return f, "", nil
	}
	if version, err = servedVersion(argv0); err != nil {
		return "", "", err
	}
	dir, err := binDir()
	if err != nil {
		return "", "", err
	}
	return filepath.Join(dir, schema.FileName(version)), version, nil
}

func serve() error {
	f, version, err := schemaFile(os.Args[0])
	if err != nil {
		return err
	}
	s, err := schema.Read(f)
	if err != nil {
		return fmt.Errorf("the schema %s (hack/tools/build.sh aws-standin extracts it): %w", f, err)
	}
	if version != "" && s.Version != version {
		return fmt.Errorf("%s holds the schema of hashicorp/aws %s, not %s", f, s.Version, version)
	}
	srv := provider.New(s)
	return tf5server.Serve("registry.terraform.io/hashicorp/aws", func() tfprotov5.ProviderServer { return srv })
}

// versions prints the pinned versions whose schema is beside the binary: what a mirror
// may link it as.
func versions() error {
	dir, err := binDir()
	if err != nil {
		return err
	}
	n := 0
	for _, v := range schema.Versions() {
		if _, err := os.Stat(filepath.Join(dir, schema.FileName(v))); err == nil {
			fmt.Println(v)
			n++
		}
	}
	if n == 0 {
		return errors.New("no schema beside the binary (hack/tools/build.sh aws-standin extracts them)")
	}
	return nil
}
