package awsmodules

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/captcluster"
	"github.com/capt-dev/capt/internal/controller/controlplane"
	"github.com/capt-dev/capt/internal/controller/machinepool"
	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestProtectedResourcesWaitForApproval applies each shipped module through the stand-in
// with what CAPT renders from templates/aws/workspacetemplates.yaml (capt_protect true:
// the templates declare spec.protection), then plans the replacement of the module's
// protected resource (the VPC, the EKS cluster, the node group's IAM role; -replace,
// since the stand-in serves the schema but not which attribute changes force a
// replacement): OpenTofu refuses it, naming exactly that resource as CAPT reads the
// refusal, while the other resources replace freely; the same plan with capt_protect
// false (an approved change) goes through; and the destroy with the destroyArgs CAPT
// renders (a deletion) is never refused.
func TestProtectedResourcesWaitForApproval(t *testing.T) {
	cp := &controlplanev1.CAPTControlPlane{Spec: controlplanev1.CAPTControlPlaneSpec{Version: "v1.31.2"}}
	pool := &infrav1.CAPTMachinePool{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "workers"}, Spec: infrav1.CAPTMachinePoolSpec{
		InstanceTypes: []string{"m7g.large"}, CapacityType: infrav1.CapacityTypeOnDemand}}
	owner := &clusterv1.MachinePool{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "workers"}, Spec: clusterv1.MachinePoolSpec{
		Replicas: ptr.To[int32](2), Template: clusterv1.MachineTemplateSpec{Spec: clusterv1.MachineSpec{Version: "v1.31.2"}}}}
	poolVars, err := machinepool.TemplateVariables(pool, owner, cluster, infra)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		module, template string
		vars             map[string]string
		extra            []string
		// protected is the resource the module protects; free one it does not.
		protected, free string
	}{
		{module: "vpc", template: "aws-vpc", protected: "aws_vpc.this", free: "aws_internet_gateway.this",
			vars: captcluster.VPCVariables(&infrav1.CAPTCluster{Spec: infrav1.CAPTClusterSpec{Region: scenarioRegion}}, cluster)},
		{module: "eks", template: "aws-eks", protected: "aws_eks_cluster.this", free: "aws_eks_access_entry.capt[0]",
			vars:  controlplane.Variables(cp, cluster, infra, cp.Spec.Version, addonsOf(cp)),
			extra: []string{"-var=capt_principal_arn=arn:aws:iam::" + standinAccount + ":role/capt-control-plane"}},
		{module: "nodegroup", template: "aws-nodegroup", protected: "aws_iam_role.node", free: "aws_eks_node_group.fixed[0]", vars: poolVars},
	} {
		t.Run(tc.module, func(t *testing.T) {
			t.Parallel()
			w := module(t, tc.module, localstack.AWSStandInVersion)
			file := varFile(t, w.dir, tc.template, tc.vars)
			run := func(args ...string) []string {
				return slices.Concat(args, []string{"-input=false", "-no-color", "-var-file=" + file}, tc.extra)
			}
			if out, err := w.tofu(t.Context(), run("apply", "-auto-approve")...); err != nil {
				t.Fatalf("tofu apply of templates/aws/%s: %v\n%s", tc.module, err, out)
			}
			if out, err := w.tofu(t.Context(), run("plan", "-detailed-exitcode", "-replace="+tc.free)...); exitCode(err) != 2 {
				t.Fatalf("templates/aws/%s: the replacement of %s, which is not protected: %v\n%s", tc.module, tc.free, err, out)
			}

			plan := run("plan", "-detailed-exitcode", "-replace="+tc.protected)
			out, err := w.tofu(t.Context(), plan...)
			if err == nil {
				t.Fatalf("templates/aws/%s: the replacement of %s planned although protected:\n%s", tc.module, tc.protected, out)
			}
			refusal := workspace.PreventedDestroy(out)
			if refusal == nil || !refusal.Complete || !slices.Equal(refusal.Addresses, []string{tc.protected}) {
				t.Fatalf("templates/aws/%s: refusal %+v, want exactly %s:\n%s", tc.module, refusal, tc.protected, out)
			}

			// Approved: the same change goes through, and replaces the resource.
			out, err = w.tofu(t.Context(), append(plan, "-var=capt_protect=false")...)
			if code := exitCode(err); code != 2 || !strings.Contains(out, "# "+tc.protected+" will be replaced") {
				t.Fatalf("templates/aws/%s: the approved change (exit %d) does not replace %s:\n%s", tc.module, code, tc.protected, out)
			}

			// A deletion: the destroy with the Workspace's destroyArgs, the variable true
			// in its variables file.
			apply := &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "c1-" + tc.template}}
			ws, err := render.Workspace(workspace.DefaultAPI(), shippedTemplate(t, tc.template), apply)
			if err != nil {
				t.Fatal(err)
			}
			if len(ws.Spec.ForProvider.DestroyArgs) == 0 {
				t.Fatalf("%s renders no destroyArgs: a deletion's destroy would be refused", tc.template)
			}
			if out, err := w.tofu(t.Context(), append(run("plan", "-destroy"), ws.Spec.ForProvider.DestroyArgs...)...); err != nil {
				t.Fatalf("templates/aws/%s: the destroy of a deletion is refused: %v\n%s", tc.module, err, out)
			}
			if out, err := w.tofu(t.Context(), run("plan", "-destroy")...); err == nil {
				t.Fatalf("templates/aws/%s: a destroy without CAPT's destroyArgs is not refused: the test proves nothing\n%s", tc.module, out)
			}
		})
	}
}

// exitCode is the exit status of a tofu run, 0 when it succeeded.
func exitCode(err error) int {
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode()
	case err != nil:
		return -1
	}
	return 0
}

// protectionRule is the rule protected.tofu adds to each resource of protected.tf.
var protectionRule = regexp.MustCompile(`\n\n  lifecycle \{\n    prevent_destroy = var\.capt_protect\n  \}\n\}`)

// TestProtectedCopiesAgree: OpenTofu reads a module's protected.tofu instead of its
// protected.tf, Terraform the other way round; the two are the same but for the
// protection rule, which each resource of the .tofu file has (a change made to one copy
// only would reach one engine only).
func TestProtectedCopiesAgree(t *testing.T) {
	for _, name := range shippedModules {
		dir := filepath.Join(root, "templates", "aws", name)
		tofuFiles, err := filepath.Glob(filepath.Join(dir, "*.tofu"))
		if err != nil || len(tofuFiles) == 0 {
			t.Errorf("templates/aws/%s: no .tofu file: nothing is protected (%v)", name, err)
			continue
		}
		for _, f := range tofuFiles {
			tofu, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tf, err := os.ReadFile(strings.TrimSuffix(f, ".tofu") + ".tf")
			if err != nil {
				t.Errorf("%s has no .tf twin: Terraform would miss its resources: %v", f, err)
				continue
			}
			rules := len(protectionRule.FindAllIndex(tofu, -1))
			if resources := strings.Count(string(tofu), "\nresource \""); rules == 0 || rules != resources {
				t.Errorf("%s: %d resources, %d with the protection rule", f, resources, rules)
			}
			if got := protectionRule.ReplaceAllString(string(tofu), "\n}"); got != string(tf) {
				t.Errorf("%s differs from its .tf twin beyond the protection rule:\n%s\n---\n%s", f, got, tf)
			}
		}
	}
}
