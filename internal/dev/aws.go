package dev

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cluster-api/cmd/clusterctl/client/config"
	"sigs.k8s.io/cluster-api/cmd/clusterctl/client/repository"
	yamlprocessor "sigs.k8s.io/cluster-api/cmd/clusterctl/client/yamlprocessor"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/capt-dev/capt/internal/localstack"
)

// The AWS sample (capt dev --aws, test/e2e): the clusterctl eks flavor in a namespace of
// its own, named as the stack's EKS token verifier answers, since templates/aws/eks names
// the EKS cluster after the Cluster and CAPT signs tokens for that name.
const (
	AWSNamespace   = "capt-dev-aws"
	AWSClusterName = localstack.EKSClusterName
	// AWSPoolName is the flavor's MachinePool and CAPTMachinePool.
	AWSPoolName = AWSClusterName + "-pool-0"
	// modulesURL is the repository the shipped templates fetch their modules from.
	modulesURL = "https://github.com/capt-dev/capt.git"
	// modulesBranch is ModulesRepo's branch: the sample fetches the modules at it (the
	// flavor's CAPT_MODULES_REF), the working tree's, where a release fetches its tag.
	modulesBranch = "main"
	// modulesRefVariable is the flavor's variable for the modules' ref
	// (release.ModulesVariable; internal/release, with kustomize, stays out of capt).
	modulesRefVariable = "CAPT_MODULES_REF"
)

// EKSFlavorFile is the clusterctl eks flavor (the default one).
func EKSFlavorFile(root string) string {
	return filepath.Join(root, "templates", "clusterctl", "eks.yaml")
}

// ModulesRepo makes, under dir, a git repository holding root's templates/aws on branch
// main (modulesBranch) and returns its file:// URL: provider-terraform fetches the shipped
// modules from it with git as it would from GitHub, and what runs is the working tree's.
func ModulesRepo(root, dir string) (string, error) {
	src := filepath.Join(root, "templates", "aws")
	if err := os.CopyFS(filepath.Join(dir, "templates", "aws"), os.DirFS(src)); err != nil {
		return "", fmt.Errorf("copying %s: %w", src, err)
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", modulesBranch},
		{"add", "templates"},
		{"-c", "user.name=capt-dev", "-c", "user.email=capt-dev@localhost", "commit", "-q", "-m", "templates/aws"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		// The host's git configuration (hooks, signing) has no say.
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("git %s in %s: %w: %s", strings.Join(args, " "), dir, err, out)
		}
	}
	return "file://" + dir, nil
}

// AWSFlavor is the eks flavor as `clusterctl generate cluster` gives it (clusterctl's own
// library) with vars, in namespace, its WorkspaceTemplates fetching the modules from repo
// (ModulesRepo) instead of GitHub, at its branch rather than the flavor's release tag.
func AWSFlavor(ctx context.Context, root, namespace, repo string, vars map[string]string) ([]unstructured.Unstructured, error) {
	reader := config.NewMemoryReader()
	reader.Set("NAMESPACE", namespace)
	reader.Set(modulesRefVariable, modulesBranch)
	for k, v := range vars {
		reader.Set(k, v)
	}
	cfg, err := config.New(ctx, "", config.InjectReader(reader))
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(EKSFlavorFile(root))
	if err != nil {
		return nil, err
	}
	tmpl, err := repository.NewTemplate(repository.TemplateInput{
		RawArtifact: raw, ConfigVariablesClient: cfg.Variables(),
		Processor: yamlprocessor.NewSimpleProcessor(), TargetNamespace: namespace,
	})
	if err != nil {
		return nil, fmt.Errorf("generating the eks flavor: %w", err)
	}
	objs := tmpl.Objs()
	modules := 0
	for i := range objs {
		if objs[i].GetKind() != "WorkspaceTemplate" {
			continue
		}
		path := []string{"spec", "template", "spec", "forProvider", "module"}
		module, _, _ := unstructured.NestedString(objs[i].Object, path...)
		if !strings.Contains(module, modulesURL) {
			return nil, fmt.Errorf("WorkspaceTemplate %s fetches %q, not from %s", objs[i].GetName(), module, modulesURL)
		}
		if err := unstructured.SetNestedField(objs[i].Object, strings.Replace(module, modulesURL, repo, 1), path...); err != nil {
			return nil, err
		}
		modules++
	}
	if modules != 3 {
		return nil, fmt.Errorf("the eks flavor has %d WorkspaceTemplates, want the VPC's, EKS's and the node group's", modules)
	}
	return objs, nil
}

// CreateAWSSample creates namespace and the eks flavor in it for the stack's EKS
// cluster and identity (region, CAPT_PRINCIPAL_ARN), at Kubernetes version, its modules
// from repo.
func CreateAWSSample(ctx context.Context, c client.Client, root, namespace, repo, version string, eks *localstack.EKSAuth) error {
	if eks == nil {
		return errors.New("the AWS sample needs the stack's EKS mode")
	}
	objs, err := AWSFlavor(ctx, root, namespace, repo, map[string]string{
		"CLUSTER_NAME": AWSClusterName, "AWS_REGION": eks.Region, "KUBERNETES_VERSION": version,
		// The identity CAPT mints tokens with gets the module's access entry, as
		// docs/install.md has a platform team set it.
		"CAPT_PRINCIPAL_ARN": eks.Credentials.ARN,
	})
	if err != nil {
		return err
	}
	if err := createNamespace(ctx, c, namespace); err != nil {
		return err
	}
	for i := range objs {
		if err := c.Create(ctx, &objs[i]); err != nil {
			return fmt.Errorf("creating %s %s: %w", objs[i].GetKind(), objs[i].GetName(), err)
		}
	}
	return nil
}
