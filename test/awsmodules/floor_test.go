package awsmodules

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/capt-dev/capt/internal/localstack"
)

// lowerBound is the version of a version constraint's one lower bound (">= X"), as
// x.y.z. Any other way to bound a constraint from below (">", "~>", "=", a bare version)
// is refused: a floor these tests can install is a ">=" of a version the stand-in serves.
func lowerBound(constraint string) (string, error) {
	var floor string
	for term := range strings.SplitSeq(constraint, ",") {
		term = strings.TrimSpace(term)
		op, v := "=", term
		if m := regexp.MustCompile(`^(>=|<=|!=|~>|>|<|=)\s*(.+)$`).FindStringSubmatch(term); m != nil {
			op, v = m[1], m[2]
		}
		switch op {
		case "<", "<=", "!=":
			continue
		case ">=":
			if floor != "" {
				return "", fmt.Errorf("%q has two lower bounds", constraint)
			}
			if !regexp.MustCompile(`^\d+(\.\d+){0,2}$`).MatchString(v) {
				return "", fmt.Errorf("%q: lower bound %q is not a version", constraint, v)
			}
			for strings.Count(v, ".") < 2 {
				v += ".0"
			}
			floor = v
		default:
			return "", fmt.Errorf("%q: %q bounds it from below otherwise than with >=", constraint, term)
		}
	}
	if floor == "" {
		return "", fmt.Errorf("%q has no lower bound", constraint)
	}
	return floor, nil
}

// floorOf is a module's floor: the lower bound of its hashicorp/aws constraint.
func floorOf(t *testing.T, name string) string {
	t.Helper()
	c := readModule(t, name)
	floor, err := lowerBound(c.awsVersion)
	if err != nil {
		t.Fatalf("templates/aws/%s: required_providers.aws.version: %v", name, err)
	}
	return floor
}

// versionsUnderTest are the hashicorp/aws versions a module is checked at: the local
// stack's and the module's floor.
func versionsUnderTest(t *testing.T, name string) []string {
	t.Helper()
	vs := []string{localstack.AWSStandInVersion}
	if floor := floorOf(t, name); floor != localstack.AWSStandInVersion {
		vs = append(vs, floor)
	}
	return vs
}

// TestModuleFloorsAreServed: the lower bound each module writes in required_providers is
// a version the stand-in serves, so the tests above validate and plan every module at
// it; a floor nothing serves is a floor nothing checks (as ">= 5.0" was, for modules
// that use what 5.33.0 added).
func TestModuleFloorsAreServed(t *testing.T) {
	served, err := localstack.AWSStandInVersions(binDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range shippedModules {
		c := readModule(t, name)
		if c.awsSource != "hashicorp/aws" {
			t.Errorf("templates/aws/%s: required_providers.aws.source %q, want hashicorp/aws", name, c.awsSource)
		}
		floor, err := lowerBound(c.awsVersion)
		if err != nil {
			t.Errorf("templates/aws/%s: required_providers.aws.version: %v", name, err)
			continue
		}
		if !slices.Contains(served, floor) {
			t.Errorf("templates/aws/%s requires hashicorp/aws %q: its floor %s is not a version the stand-in serves (%s), so nothing checks the module against it; "+
				"make the floor a served version, or pin that version's @cdktf/provider-aws in hack/tools/aws-standin/schema/source.go",
				name, c.awsVersion, floor, strings.Join(served, ", "))
		}
	}
}

func TestLowerBound(t *testing.T) {
	for constraint, want := range map[string]string{
		">= 5.33.0, < 7.0": "5.33.0",
		"< 7.0, >=5.33":    "5.33.0",
		">= 5.0, < 7.0":    "5.0.0",
		"~> 5.33":          "",
		"5.33.0":           "",
		"> 5.32":           "",
		"< 7.0":            "",
		">= 5, >= 5.33":    "",
		">= 5.33.0-beta1":  "",
	} {
		got, err := lowerBound(constraint)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("lowerBound(%q) = %q, %v; want %q", constraint, got, err, want)
		}
	}
}

// TestFloorRefusesWhatOnlyNewerVersionsHave: an argument hashicorp/aws 6.25.0 has and
// the EKS module's floor, 5.79.0, has not (aws_eks_cluster's deletion_protection, from
// 6.x) validates at 6.25.0 and fails at the floor, naming it: the floor's mirror serves
// 5.79.0's schema, not 6.25.0's under another name.
func TestFloorRefusesWhatOnlyNewerVersionsHave(t *testing.T) {
	const name = "deletion_protection"
	const arg = "  " + name + " = false\n"
	for _, tc := range []struct {
		version string
		valid   bool
	}{{localstack.AWSStandInVersion, true}, {floorOf(t, "eks"), false}} {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			w := module(t, "eks", tc.version)
			// The EKS cluster as OpenTofu reads it (protected.tofu, not protected.tf).
			file := filepath.Join(w.dir, "protected.tofu")
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			anchor := "  role_arn = aws_iam_role.cluster.arn\n"
			if !strings.Contains(string(src), anchor) {
				t.Fatalf("templates/aws/eks/protected.tofu no longer has %q: update the test", anchor)
			}
			if err := os.WriteFile(file, []byte(strings.Replace(string(src), anchor, anchor+arg, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			valid, diags := w.validate(t)
			if valid != tc.valid {
				t.Fatalf("with %s, valid=%v at hashicorp/aws %s, want %v:\n%s", name, valid, tc.version, tc.valid, errorsOf(diags))
			}
			if !tc.valid && !strings.Contains(errorsOf(diags), `An argument named "`+name+`" is not expected here`) {
				t.Errorf("the error does not name the argument:\n%s", errorsOf(diags))
			}
		})
	}
}
