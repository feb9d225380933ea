package release

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestPinModules checks that a release's templates fetch the modules of templates/aws
// at its version, whatever ref the checkout names (a literal, a clusterctl default), and
// that a module fetched elsewhere or at a ref that cannot be pinned is refused.
func TestPinModules(t *testing.T) {
	const version = "v0.1.3"
	in := strings.Join([]string{
		`module: git::https://github.com/capt-dev/capt.git//templates/aws/vpc?ref=main`,
		`module: "git::https://github.com/capt-dev/capt.git//templates/aws/eks?ref=${CAPT_MODULES_REF:=v0.1.0}"`,
		`module: git::https://github.com/capt-dev/capt.git//templates/aws/nodegroup?ref=v0.1.0`,
	}, "\n")
	out, err := PinModules([]byte(in), version)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`module: git::https://github.com/capt-dev/capt.git//templates/aws/vpc?ref=v0.1.3`,
		`module: "git::https://github.com/capt-dev/capt.git//templates/aws/eks?ref=${CAPT_MODULES_REF:=v0.1.3}"`,
		`module: git::https://github.com/capt-dev/capt.git//templates/aws/nodegroup?ref=v0.1.3`,
	}, "\n")
	if string(out) != want {
		t.Errorf("PinModules:\n%s\nwant:\n%s", out, want)
	}
	for name, bad := range map[string]string{
		"no module":           `module: git::https://example.com/vpc.git?ref=v1`,
		"another repository":  in + "\n" + `module: git::https://example.com/vpc.git?ref=main`,
		"a required variable": `module: git::https://github.com/capt-dev/capt.git//templates/aws/vpc?ref=${CAPT_MODULES_REF}`,
	} {
		if _, err := PinModules([]byte(bad), version); err == nil {
			t.Errorf("%s: PinModules accepted\n%s", name, bad)
		}
	}
}

// TestModuleRefs reads refs as a module address has them, a clusterctl default as the
// ref, and nothing from an address without one.
func TestModuleRefs(t *testing.T) {
	in := `a: git::https://h/r.git//m?ref=main
b: "git::https://h/r.git//m?depth=1&ref=${X_REF:=v1.2.3}"
c: git::https://h/r.git//m?ref=${X_REF}
d: git::https://h/r.git//m
`
	if got, want := ModuleRefs([]byte(in)), []string{"main", "v1.2.3", "${X_REF"}; !slices.Equal(got, want) {
		t.Errorf("ModuleRefs %q, want %q", got, want)
	}
}

// TestValidateVersion: a release's version is a tag clusterctl can read, in a series of
// metadata.yaml.
func TestValidateVersion(t *testing.T) {
	for _, v := range []string{"v0.1.0", "v0.1.12", "v0.1.0-rc.1"} {
		if err := ValidateVersion(v); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	for _, v := range []string{"", "main", "0.1.0", "v0.1", "v0.2.0", "v1.1.0"} {
		if err := ValidateVersion(v); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}

// TestCheckoutPinsItsOwnVersion: the checkout's templates fetch the modules at the
// version it declares (charts/capt's appVersion), never a branch, so that they can be
// applied from a tag's tree as they are; a release rewrites them to its own version.
func TestCheckoutPinsItsOwnVersion(t *testing.T) {
	root := filepath.Join("..", "..")
	data, err := os.ReadFile(filepath.Join(root, "charts", "capt", "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(data, &chart); err != nil {
		t.Fatal(err)
	}
	if err := ValidateVersion(chart.AppVersion); err != nil {
		t.Fatalf("charts/capt appVersion: %v", err)
	}
	for _, f := range []string{"templates/clusterctl/eks.yaml", "templates/clusterctl/clusterclass-capt-eks.yaml", "templates/aws/workspacetemplates.yaml"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		refs := ModuleRefs(data)
		if len(refs) != 3 {
			t.Errorf("%s: %d module refs %v, want the VPC's, EKS's and the node group's", f, len(refs), refs)
		}
		for _, ref := range refs {
			if ref != chart.AppVersion {
				t.Errorf("%s fetches a module at %q, want the checkout's version %s", f, ref, chart.AppVersion)
			}
		}
	}
}
