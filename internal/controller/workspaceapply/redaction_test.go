package workspaceapply

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestEnvValuesAreMasked: every inline env value (where provider credentials go) is
// masked, even when no variable is marked sensitive; other values stay readable.
func TestEnvValuesAreMasked(t *testing.T) {
	apply := &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "vpc"},
		Spec: infrav1.WorkspaceTemplateApplySpec{Variables: map[string]string{"region": "us-west-2"}}}
	desired := &workspace.Workspace{}
	desired.Spec.ForProvider.Env = []infrav1.EnvVar{{Name: "AWS_SECRET_ACCESS_KEY", Value: "wJalrXUtnFEMIK7MDENG"}}
	got := redactorFor(workspace.DefaultAPI(), apply, nil, desired).Message("auth failed for wJalrXUtnFEMIK7MDENG in us-west-2")
	if strings.Contains(got, "wJalrXUtnFEMIK7MDENG") || !strings.Contains(got, "us-west-2") {
		t.Errorf("message %q: want the env value masked and the region readable", got)
	}
}
