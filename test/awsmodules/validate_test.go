package awsmodules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capt-dev/capt/internal/localstack"
)

// TestShippedModulesValidate: every templates/aws module is valid against hashicorp/aws's
// schema (every argument, block, type and required argument) at the version the local
// stack plays and at the module's floor, the lower bound of its required_providers:
// OpenTofu installs the floor when the mirror holds nothing newer, as a platform team's
// lock file may.
func TestShippedModulesValidate(t *testing.T) {
	for _, name := range shippedModules {
		for _, version := range versionsUnderTest(t, name) {
			t.Run(name+"@"+version, func(t *testing.T) {
				t.Parallel()
				w := module(t, name, version)
				valid, diags := w.validate(t)
				if !valid {
					t.Fatalf("templates/aws/%s is not valid against hashicorp/aws %s:\n%s", name, version, errorsOf(diags))
				}
				for _, d := range diags {
					t.Logf("templates/aws/%s: %s", name, d)
				}
			})
		}
	}
}

// TestBrokenModuleNamesWhatIsWrong: a module that uses what hashicorp/aws does not have,
// a wrong type, or leaves out a required argument fails validation with the file, the
// line and the argument: the stand-in's schema is what OpenTofu checks against, not a
// schema that accepts anything.
func TestBrokenModuleNamesWhatIsWrong(t *testing.T) {
	for _, tc := range []struct {
		name string
		// edit changes a file of templates/aws/eks: main.tf, or, for the EKS cluster,
		// protected.tofu, which OpenTofu reads instead of protected.tf.
		file     string
		old, new string
		// want are the words the error must hold; line is the line it must name.
		want []string
		line string
	}{
		{
			name: "an argument the resource does not have", file: "protected.tofu",
			old:  "  role_arn = aws_iam_role.cluster.arn\n",
			new:  "  role_arn = aws_iam_role.cluster.arn\n  kubernetes_flavour = \"vanilla\"\n",
			want: []string{"Unsupported argument", "kubernetes_flavour"}, line: `kubernetes_flavour = "vanilla"`,
		},
		{
			name: "a wrong type", file: "protected.tofu",
			old:  "    endpoint_public_access  = var.endpoint_public_access\n",
			new:  "    endpoint_public_access  = [\"yes\"]\n",
			want: []string{"Incorrect attribute value type", "endpoint_public_access"}, line: `endpoint_public_access  = ["yes"]`,
		},
		{
			name: "a required argument left out", file: "protected.tofu",
			old:  "  role_arn = aws_iam_role.cluster.arn\n",
			new:  "",
			want: []string{"Missing required argument", "role_arn"}, line: `resource "aws_eks_cluster" "this" {`,
		},
		{
			name: "a block in place of an argument of another block", file: "protected.tofu",
			old:  "    authentication_mode                         = \"API_AND_CONFIG_MAP\"\n",
			new:  "    authentication_mode                         = \"API_AND_CONFIG_MAP\"\n    mode {}\n",
			want: []string{"Unsupported block type", "mode"}, line: `mode {}`,
		},
		{
			name: "a resource type the provider does not have", file: "main.tf",
			old:  `resource "aws_eks_addon" "this" {`,
			new:  `resource "aws_eks_addons" "this" {`,
			want: []string{"Invalid resource type", "aws_eks_addons"}, line: `resource "aws_eks_addons" "this" {`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := module(t, "eks", localstack.AWSStandInVersion)
			file := filepath.Join(w.dir, tc.file)
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(src), tc.old) {
				t.Fatalf("templates/aws/eks/%s no longer has %q: update the test", tc.file, tc.old)
			}
			edited := strings.Replace(string(src), tc.old, tc.new, 1)
			if err := os.WriteFile(file, []byte(edited), 0o600); err != nil {
				t.Fatal(err)
			}
			wantLine := 0
			for i, l := range strings.Split(edited, "\n") {
				if strings.TrimSpace(l) == tc.line {
					wantLine = i + 1
					break
				}
			}
			if wantLine == 0 {
				t.Fatalf("no line %q in the edited module", tc.line)
			}
			valid, diags := w.validate(t)
			if valid {
				t.Fatal("the broken module validates")
			}
			for _, d := range diags {
				if d.Severity != "error" || d.Range == nil {
					continue
				}
				text := d.Summary + " " + d.Detail
				ok := d.Range.Filename == tc.file && d.Range.Start.Line == wantLine
				for _, w := range tc.want {
					ok = ok && strings.Contains(text, w)
				}
				if ok {
					return
				}
			}
			t.Fatalf("no error at %s:%d with %q; got:\n%s", tc.file, wantLine, tc.want, errorsOf(diags))
		})
	}
}
