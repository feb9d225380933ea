// Package awsmodules checks the shipped templates/aws modules with OpenTofu against the
// AWS provider stand-in (hack/tools/aws-standin), which serves hashicorp/aws 6.25.0's
// own schema: each module validates, a module that breaks the schema fails naming the
// file, the line and the argument, and each plans with exactly the variables CAPT
// renders for a typical CAPTCluster, CAPTControlPlane and CAPTMachinePool (the
// controllers' own functions, through the WorkspaceTemplates of
// templates/aws/workspacetemplates.yaml and the renderer). What is real and what is
// simulated: docs/aws.md.
package awsmodules

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capt-dev/capt/internal/localstack"
)

var (
	root      string
	tofuBin   string
	cliConfig string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if root, err = localstack.RepoRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "awsmodules:", err)
		return 1
	}
	bin := filepath.Join(root, "bin")
	tofuBin = filepath.Join(bin, "tofu")
	if _, err := os.Stat(tofuBin); err != nil {
		fmt.Fprintln(os.Stderr, "awsmodules: OpenTofu is not built (make stack-tools builds it):", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "capt-awsmodules-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "awsmodules:", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if cliConfig, err = localstack.AWSStandInConfig(bin, dir); err != nil {
		fmt.Fprintln(os.Stderr, "awsmodules:", err)
		return 1
	}
	return m.Run()
}

// module copies templates/aws/<name> into a directory of the test's, where OpenTofu's
// files (.terraform, the lock file, plans) stay out of the repository, and initializes it.
func module(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join(root, "templates", "aws", name)
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	initModule(t, dir)
	return dir
}

func initModule(t *testing.T, dir string) {
	t.Helper()
	if out, err := tofu(t.Context(), dir, "init", "-input=false", "-no-color", "-backend=false"); err != nil {
		t.Fatalf("tofu init in %s: %v\n%s", dir, err, out)
	}
}

// tofu runs OpenTofu in dir with the stand-in installed and nothing else from the host:
// its combined output, and an error when it fails.
func tofu(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, tofuBin, args...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"TF_CLI_CONFIG_FILE=" + cliConfig,
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// diagnostic is one entry of `tofu validate -json`.
type diagnostic struct {
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail"`
	Range    *struct {
		Filename string `json:"filename"`
		Start    struct {
			Line int `json:"line"`
		} `json:"start"`
	} `json:"range"`
}

func (d diagnostic) String() string {
	where := ""
	if d.Range != nil {
		where = fmt.Sprintf("%s:%d: ", d.Range.Filename, d.Range.Start.Line)
	}
	return fmt.Sprintf("%s%s: %s: %s", where, d.Severity, d.Summary, d.Detail)
}

// validate runs `tofu validate -json` and returns its diagnostics.
func validate(t *testing.T, dir string) (valid bool, diags []diagnostic) {
	t.Helper()
	out, err := tofu(t.Context(), dir, "validate", "-json", "-no-color")
	var res struct {
		Valid       bool         `json:"valid"`
		Diagnostics []diagnostic `json:"diagnostics"`
	}
	if jerr := json.Unmarshal([]byte(out), &res); jerr != nil {
		t.Fatalf("tofu validate -json in %s: %v (%v)\n%s", dir, jerr, err, out)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("tofu validate: %v", err)
	}
	return res.Valid, res.Diagnostics
}

// errorsOf are the error diagnostics, rendered.
func errorsOf(diags []diagnostic) string {
	var b strings.Builder
	for _, d := range diags {
		if d.Severity == "error" {
			b.WriteString(d.String() + "\n")
		}
	}
	return b.String()
}
