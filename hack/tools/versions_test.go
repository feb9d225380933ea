// Package tools holds no code: the tools are built by build.sh from their own modules.
// Its test keeps those modules on CAPT's versions of the modules they share.
package tools

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// behind lists, per tools module, the modules it may require at a lower version than
// CAPT's go.mod, and why. Everywhere else a lower version is a second compiled copy of
// the module and of everything above it in the graph: a cold machine compiles
// k8s.io/api, client-go and apimachinery once for every tool and for CAPT only while
// they all name the same versions (docs/development.md, "Tools share compiled
// packages").
var behind = map[string]struct {
	modules []string // module paths, or prefixes ending in "/"
	why     string
}{
	"provider-terraform": {
		modules: []string{"k8s.io/", "sigs.k8s.io/", "github.com/google/gnostic-models", "github.com/go-openapi/",
			"github.com/emicklei/go-restful/v3", "github.com/evanphx/json-patch/v5", "gomodules.xyz/jsonpatch/v2",
			"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"},
		why: "crossplane-runtime v1.16 is built on controller-runtime v0.17 and k8s.io v0.29 and does not compile on newer ones",
	},
	"tofu": {
		modules: []string{"github.com/hashicorp/hcl/v2"},
		why:     "OpenTofu replaces exactly hcl v2.20.1 by its fork; another version would drop the replace",
	},
	"golangci-lint": {
		modules: []string{""},
		why:     "the linters run on the versions they were released with; it shares nothing large with CAPT",
	},
	"terraform": {
		modules: []string{""},
		why:     "only make dev builds it (capt dev --engine=terraform): it is never in a cold .ci/run",
	},
}

// TestToolsModulesTakeCAPTVersions fails when a tools module requires a module CAPT's
// go.mod also requires, at a lower version (after replaces), unless behind says why.
func TestToolsModulesTakeCAPTVersions(t *testing.T) {
	capt := requires(t, filepath.Join("..", "..", "go.mod"))
	mods, err := filepath.Glob(filepath.Join("*", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) < 10 {
		t.Fatalf("found %d tools modules under hack/tools, want every tool's (%v)", len(mods), mods)
	}
	for _, path := range mods {
		tool := filepath.Dir(path)
		for mod, version := range requires(t, path) {
			want, shared := capt[mod]
			if !shared || semver.Compare(version, want) >= 0 || excused(tool, mod) {
				continue
			}
			t.Errorf("hack/tools/%s requires %s %s, CAPT's go.mod %s: raise it (cd hack/tools/%s && go get %s@%s && go mod tidy), or say in behind why it cannot be",
				tool, mod, version, want, tool, mod, want)
		}
	}
}

func excused(tool, mod string) bool {
	return slices.ContainsFunc(behind[tool].modules, func(m string) bool {
		return m == mod || (m == "" || strings.HasSuffix(m, "/")) && strings.HasPrefix(mod, m)
	})
}

// requires is a go.mod's build list as written: every module it requires, at the
// version a replace by the same module's other version gives (kube-apiserver requires
// k8s.io staging modules at v0.0.0 and replaces them by v0.36.3).
func requires(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse(path, data, nil)
	if err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	out := make(map[string]string, len(f.Require))
	for _, r := range f.Require {
		out[r.Mod.Path] = r.Mod.Version
	}
	for _, r := range f.Replace {
		if _, ok := out[r.Old.Path]; ok && r.New.Path == r.Old.Path && r.New.Version != "" {
			out[r.Old.Path] = r.New.Version
		}
	}
	return out
}
