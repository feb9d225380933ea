package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5/tf5server"

	"github.com/capt-dev/capt/hack/tools/aws-standin/provider"
	"github.com/capt-dev/capt/hack/tools/aws-standin/schema"
)

// schemaFile is where the build step put the extracted schema: beside the binary (the
// real path: Terraform starts the plugin through a mirror's symbolic link), or
// AWS_STANDIN_SCHEMA.
func schemaFile() (string, error) {
	if f := os.Getenv("AWS_STANDIN_SCHEMA"); f != "" {
		return f, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(exe), "schema.json.gz"), nil
}

func serve() error {
	f, err := schemaFile()
	if err != nil {
		return err
	}
	s, err := schema.Read(f)
	if err != nil {
		return fmt.Errorf("the schema (%s; hack/tools/build.sh aws-standin extracts it): %w", f, err)
	}
	srv := provider.New(s)
	return tf5server.Serve("registry.terraform.io/hashicorp/aws", func() tfprotov5.ProviderServer { return srv })
}
