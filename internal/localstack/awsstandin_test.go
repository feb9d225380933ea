package localstack_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/capt-dev/capt/internal/localstack"
)

// The stand-in's mirror holds exactly the hashicorp/aws versions asked for, each a link
// named as the stand-in reads its version from, and refuses a version the stand-in has
// no schema of: a test that asks for the modules' floor gets it or fails, never another.
func TestAWSStandInConfigInstallsTheVersionsAsked(t *testing.T) {
	root, err := localstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	binDir := filepath.Join(root, "bin")
	served, err := localstack.AWSStandInVersions(binDir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(served, []string{localstack.AWSStandInVersion, "5.79.0", "5.33.0"}) {
		t.Errorf("the stand-in serves %v, want %s, 5.79.0 and 5.33.0", served, localstack.AWSStandInVersion)
	}
	bin, err := filepath.EvalSymlinks(filepath.Join(binDir, "aws-standin"))
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	if _, err := localstack.AWSStandInConfig(binDir, dir, "5.33.0"); err != nil {
		t.Fatal(err)
	}
	links, err := filepath.Glob(filepath.Join(dir, "providers", "*", "hashicorp", "aws", "*", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 2 {
		t.Errorf("the mirror holds %v, want the floor in both registries", links)
	}
	for _, l := range links {
		target, err := filepath.EvalSymlinks(l)
		if err != nil || target != bin || filepath.Base(l) != "terraform-provider-aws_v5.33.0" || !strings.Contains(l, "/aws/5.33.0/") {
			t.Errorf("%s → %s (%v), want terraform-provider-aws_v5.33.0 under 5.33.0, linked to %s", l, target, err, bin)
		}
	}

	for _, versions := range [][]string{{"5.0.0"}, {localstack.AWSStandInVersion, "5.32.1"}, nil} {
		dir := t.TempDir()
		_, err := localstack.AWSStandInConfig(binDir, dir, versions...)
		if err == nil {
			t.Errorf("a mirror of hashicorp/aws %v was installed", versions)
		}
		if _, statErr := os.Stat(filepath.Join(dir, "providers")); statErr == nil {
			t.Errorf("%v: the refused mirror was partly written", versions)
		}
	}
}
