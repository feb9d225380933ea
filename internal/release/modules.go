package release

import (
	"errors"
	"fmt"
	"regexp"
)

// ModulesVariable is the cluster templates' clusterctl variable for the ref the modules
// of templates/aws are fetched at; a release gives it the release's version as default.
const ModulesVariable = "CAPT_MODULES_REF"

var (
	// shippedModule is a module of templates/aws fetched from CAPT's repository, with
	// its ref: a literal (templates/aws/workspacetemplates.yaml) or the default of
	// ${CAPT_MODULES_REF:=...} (the clusterctl flavor); never a variable without a
	// default, which is left for the check of every ref to refuse.
	shippedModule = regexp.MustCompile(`(github\.com/capt-dev/capt\.git//templates/aws/[A-Za-z0-9_-]+\?ref=(?:\$\{` + ModulesVariable + `:=)?)([^\s"'}&$][^\s"'}&]*)`)
	// anyRef is every ref= of a module source (a query parameter of go-getter's
	// addresses), with a clusterctl variable's default read as the ref.
	anyRef = regexp.MustCompile(`[?&]ref=(?:\$\{[A-Za-z0-9_]+:=)?([^\s"'}&]+)`)
)

// ModuleRefs is the ref of every module address in a manifest, in order: what a module
// fetched from git is checked out at (a clusterctl variable's default for a template).
func ModuleRefs(data []byte) []string {
	matches := anyRef.FindAllSubmatch(data, -1)
	refs := make([]string, 0, len(matches))
	for _, m := range matches {
		refs = append(refs, string(m[1]))
	}
	return refs
}

// PinModules sets the ref of every module of templates/aws in data to version, so that a
// release's templates fetch the modules of its own tag and never a later commit (what a
// branch would give: provider-terraform fetches remote modules again on every run). It
// refuses a manifest with no such module, or with a module at any other ref.
func PinModules(data []byte, version string) ([]byte, error) {
	if !shippedModule.Match(data) {
		return nil, errors.New("no module of templates/aws to pin")
	}
	pinned := shippedModule.ReplaceAll(data, []byte("${1}"+version))
	for _, ref := range ModuleRefs(pinned) {
		if ref != version {
			return nil, fmt.Errorf("a module is fetched at %q, not at the release's version %s", ref, version)
		}
	}
	return pinned, nil
}
