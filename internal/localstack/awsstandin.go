package localstack

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// AWSStandInVersion is the hashicorp/aws version the local stack plays: the newest the
// stand-in serves (hack/tools/aws-standin/schema/source.go). The stand-in also serves
// the shipped modules' floor (test/awsmodules installs it).
const AWSStandInVersion = "6.25.0"

// AWSStandInVersions are the hashicorp/aws versions the stand-in of binDir serves: those
// whose schema its build extracted (`aws-standin versions`).
func AWSStandInVersions(binDir string) ([]string, error) {
	bin, err := filepath.EvalSymlinks(filepath.Join(binDir, "aws-standin"))
	if err != nil {
		return nil, fmt.Errorf("the AWS provider stand-in is not built (make stack-tools builds it): %w", err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "versions")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s versions: %w: %s", bin, err, strings.TrimSpace(stderr.String()))
	}
	return strings.Fields(string(out)), nil
}

// AWSStandInConfig installs the AWS provider stand-in of binDir (bin/aws-standin, built by
// hack/tools/build.sh) for OpenTofu and Terraform under dir: a filesystem mirror holding
// it as each of versions of hashicorp/aws, in both registries' names (OpenTofu resolves
// hashicorp/aws to registry.opentofu.org, Terraform to registry.terraform.io), and a CLI
// configuration that installs hashicorp/aws from there and nothing from the network. A
// module's own required_providers resolve to it unchanged, at the newest of versions
// they allow: a mirror of one version forces it. The stand-in plays the version in the
// name it is linked as (terraform-provider-aws_v<version>); a version it serves no
// schema of is refused here. It returns the CLI configuration's path, for
// TF_CLI_CONFIG_FILE.
func AWSStandInConfig(binDir, dir string, versions ...string) (string, error) {
	if len(versions) == 0 {
		return "", errors.New("installing the AWS provider stand-in: no hashicorp/aws version given")
	}
	served, err := AWSStandInVersions(binDir)
	if err != nil {
		return "", err
	}
	for _, v := range versions {
		if !slices.Contains(served, v) {
			return "", fmt.Errorf("the AWS provider stand-in serves hashicorp/aws %s, not %s", strings.Join(served, " and "), v)
		}
	}
	bin, err := filepath.EvalSymlinks(filepath.Join(binDir, "aws-standin"))
	if err != nil {
		return "", err
	}
	mirror := filepath.Join(dir, "providers")
	for _, registry := range []string{"registry.opentofu.org", "registry.terraform.io"} {
		for _, v := range versions {
			pkg := filepath.Join(mirror, registry, "hashicorp", "aws", v, runtime.GOOS+"_"+runtime.GOARCH)
			if err := os.MkdirAll(pkg, 0o755); err != nil {
				return "", err
			}
			if err := relink(bin, filepath.Join(pkg, "terraform-provider-aws_v"+v)); err != nil {
				return "", fmt.Errorf("installing the AWS provider stand-in: %w", err)
			}
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

// awsDir holds the stand-in's installation for provider-terraform.
func (s *Stack) awsDir() string { return filepath.Join(s.DataDir, "provider-terraform", "aws") }

// awsCLIConfig is the CLI configuration awsStandIn writes: the ProviderConfig
// AWSProviderConfigName gives it to every Workspace (provider-terraform's init reads only
// the Workspace directory's .terraformrc).
func (s *Stack) awsCLIConfig() string { return filepath.Join(s.awsDir(), "terraformrc") }

// awsStandIn installs the AWS stand-in for provider-terraform under awsDir and returns its
// CLI configuration and the environment that lets the stand-in play AWS with this
// stack: the endpoint and CA an aws_eks_cluster answers with (the stack's own: CAPT's
// kubeconfig for it then reaches this kube-apiserver, through the EKS token webhook in
// EKS mode), and the capt that registers a node group's instances as Nodes (linked in
// engineDir; it reaches the stack through provider-terraform's KUBECONFIG).
func (s *Stack) awsStandIn(engineDir string) (string, []string, error) {
	dir := s.awsDir()
	cfg, err := AWSStandInConfig(s.BinDir, dir, AWSStandInVersion)
	if err != nil {
		return "", nil, err
	}
	ca := filepath.Join(dir, "eks-ca.pem")
	if err := os.WriteFile(ca, s.Config.CAData, 0o600); err != nil {
		return "", nil, fmt.Errorf("writing the stack's CA for the AWS stand-in: %w", err)
	}
	return cfg, []string{
		"AWS_STANDIN_EKS_ENDPOINT=" + s.Config.Host,
		"AWS_STANDIN_EKS_CA_FILE=" + ca,
		"AWS_STANDIN_CAPT=" + filepath.Join(engineDir, "capt"),
	}, nil
}
