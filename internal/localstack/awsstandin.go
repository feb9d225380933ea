package localstack

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// AWSStandInVersion is the hashicorp/aws version whose schema the stand-in serves
// (hack/tools/aws-standin: its build table's version).
const AWSStandInVersion = "6.25.0"

// AWSStandInConfig installs the AWS provider stand-in of binDir (bin/aws-standin, built by
// hack/tools/build.sh) for OpenTofu and Terraform under dir: a filesystem mirror holding
// it as hashicorp/aws AWSStandInVersion in both registries' names (OpenTofu resolves
// hashicorp/aws to registry.opentofu.org, Terraform to registry.terraform.io), and a CLI
// configuration that installs hashicorp/aws from there and nothing from the network. A
// module's own required_providers resolve to it unchanged. It returns the CLI
// configuration's path, for TF_CLI_CONFIG_FILE.
func AWSStandInConfig(binDir, dir string) (string, error) {
	bin, err := filepath.EvalSymlinks(filepath.Join(binDir, "aws-standin"))
	if err != nil {
		return "", fmt.Errorf("the AWS provider stand-in is not built (make stack-tools builds it): %w", err)
	}
	mirror := filepath.Join(dir, "providers")
	for _, registry := range []string{"registry.opentofu.org", "registry.terraform.io"} {
		pkg := filepath.Join(mirror, registry, "hashicorp", "aws", AWSStandInVersion, runtime.GOOS+"_"+runtime.GOARCH)
		if err := os.MkdirAll(pkg, 0o755); err != nil {
			return "", err
		}
		if err := relink(bin, filepath.Join(pkg, "terraform-provider-aws_v"+AWSStandInVersion)); err != nil {
			return "", fmt.Errorf("installing the AWS provider stand-in: %w", err)
		}
	}
	cfg := filepath.Join(dir, "terraformrc")
	text := fmt.Sprintf(`provider_installation {
  filesystem_mirror {
    path    = %q
    include = ["registry.opentofu.org/hashicorp/aws", "registry.terraform.io/hashicorp/aws"]
  }
}
`, mirror)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		return "", fmt.Errorf("writing the Terraform CLI configuration: %w", err)
	}
	return cfg, nil
}
