package dev

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/capt-dev/capt/internal/localstack"
)

// TestAWSFlavorFetchesTheWorkingTree checks that the AWS sample (capt dev --aws, test/e2e)
// fetches every module from the repository ModulesRepo makes, at its branch, where the
// flavor itself names a release's tag of GitHub's.
func TestAWSFlavorFetchesTheWorkingTree(t *testing.T) {
	root, err := localstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	const repo = "file:///tmp/capt-modules"
	objs, err := AWSFlavor(context.Background(), root, AWSNamespace, repo, map[string]string{
		"CLUSTER_NAME": AWSClusterName, "AWS_REGION": "eu-west-1", "KUBERNETES_VERSION": "v1.32.0",
		"CAPT_PRINCIPAL_ARN": "arn:aws:iam::111122223333:role/capt",
	})
	if err != nil {
		t.Fatal(err)
	}
	var modules []string
	for _, o := range objs {
		if m, ok, _ := unstructured.NestedString(o.Object, "spec", "template", "spec", "forProvider", "module"); ok {
			modules = append(modules, m)
		}
	}
	want := []string{
		"git::" + repo + "//templates/aws/vpc?ref=" + modulesBranch,
		"git::" + repo + "//templates/aws/eks?ref=" + modulesBranch,
		"git::" + repo + "//templates/aws/nodegroup?ref=" + modulesBranch,
	}
	if len(modules) != len(want) {
		t.Fatalf("modules %v, want %v", modules, want)
	}
	for i := range want {
		if modules[i] != want[i] {
			t.Errorf("module %q, want %q", modules[i], want[i])
		}
	}
}
