// Package awsmodules checks the shipped templates/aws modules with OpenTofu against the
// AWS provider stand-in (hack/tools/aws-standin), which serves hashicorp/aws's own
// schema at 6.25.0 and at each module's floor (5.79.0 for the EKS module, 5.33.0 for the
// others). Each module validates at both, a module that breaks the schema fails naming the file, the line and the
// argument, each plans with exactly the variables CAPT renders for a typical CAPTCluster,
// CAPTControlPlane and CAPTMachinePool (the controllers' own functions, through the
// WorkspaceTemplates of templates/aws/workspacetemplates.yaml and the renderer), the
// same at both versions, and each module's IAM policy allows what its resources need.
// What is real and what is simulated: docs/aws.md.
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
	"sync"
	"testing"

	"github.com/capt-dev/capt/internal/localstack"
)

var (
	root    string
	binDir  string
	tofuBin string
	tmpDir  string

	mirrorsMu sync.Mutex
	mirrors   = map[string]string{} // hashicorp/aws version → CLI configuration
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
	binDir = filepath.Join(root, "bin")
	tofuBin = filepath.Join(binDir, "tofu")
	if _, err := os.Stat(tofuBin); err != nil {
		fmt.Fprintln(os.Stderr, "awsmodules: OpenTofu is not built (make stack-tools builds it):", err)
		return 1
	}
	if tmpDir, err = os.MkdirTemp("", "capt-awsmodules-"); err != nil {
		fmt.Fprintln(os.Stderr, "awsmodules:", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(tmpDir) }()
	return m.Run()
}

// cliConfig is the CLI configuration of a mirror holding the stand-in as hashicorp/aws
// version and as nothing else: a module initialized with it gets that version, or fails
// if its required_providers exclude it.
func cliConfig(t *testing.T, version string) string {
	t.Helper()
	mirrorsMu.Lock()
	defer mirrorsMu.Unlock()
	if cfg, ok := mirrors[version]; ok {
		return cfg
	}
	cfg, err := localstack.AWSStandInConfig(binDir, filepath.Join(tmpDir, version), version)
	if err != nil {
		t.Fatalf("a mirror of hashicorp/aws %s: %v", version, err)
	}
	mirrors[version] = cfg
	return cfg
}

// workdir is a copy of a module, initialized against one hashicorp/aws version.
type workdir struct {
	dir, version, cliConfig string
}

// module copies templates/aws/<name> into a directory of the test's, where OpenTofu's
// files (.terraform, the lock file, plans) stay out of the repository, and initializes
// it against a mirror holding only hashicorp/aws version.
func module(t *testing.T, name, version string) *workdir {
	t.Helper()
	src := filepath.Join(root, "templates", "aws", name)
	w := &workdir{dir: filepath.Join(t.TempDir(), name), version: version, cliConfig: cliConfig(t, version)}
	if err := os.CopyFS(w.dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	w.init(t)
	return w
}

// init runs tofu init and checks OpenTofu installed the version asked for.
func (w *workdir) init(t *testing.T) {
	t.Helper()
	if out, err := w.tofu(t.Context(), "init", "-input=false", "-no-color", "-backend=false"); err != nil {
		t.Fatalf("tofu init in %s with hashicorp/aws %s: %v\n%s", w.dir, w.version, err, out)
	}
	lock, err := os.ReadFile(filepath.Join(w.dir, ".terraform.lock.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(lock), `version     = "`+w.version+`"`) {
		t.Fatalf("tofu init installed another hashicorp/aws than %s:\n%s", w.version, lock)
	}
}

// tofu runs OpenTofu in the work directory with the stand-in installed and nothing else
// from the host: its combined output, and an error when it fails.
func (w *workdir) tofu(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, tofuBin, args...)
	cmd.Dir = w.dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + w.dir,
		"TF_CLI_CONFIG_FILE=" + w.cliConfig,
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
func (w *workdir) validate(t *testing.T) (valid bool, diags []diagnostic) {
	t.Helper()
	out, err := w.tofu(t.Context(), "validate", "-json", "-no-color")
	var res struct {
		Valid       bool         `json:"valid"`
		Diagnostics []diagnostic `json:"diagnostics"`
	}
	if jerr := json.Unmarshal([]byte(out), &res); jerr != nil {
		t.Fatalf("tofu validate -json in %s: %v (%v)\n%s", w.dir, jerr, err, out)
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
