// Package kubeversion holds what the control plane and the machine pools share about
// Kubernetes versions as EKS takes them: major and minor only, one minor at a time, and
// when a Workspace shows that it applied one.
package kubeversion

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/capt-dev/capt/internal/workspace"
)

// Minor is a Kubernetes version cut to what EKS versions: major and minor.
type Minor struct {
	Major, Minor int
}

// Parse reads "v1.31", "1.31" or "1.31.2"; ok is false for anything else.
func Parse(v string) (Minor, bool) {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Minor{}, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return Minor{}, false
	}
	return Minor{major, minor}, true
}

// Format spells m as like spells its versions: with a leading "v" when like has one.
func (m Minor) Format(like string) string {
	prefix := ""
	if strings.HasPrefix(like, "v") {
		prefix = "v"
	}
	return fmt.Sprintf("%s%d.%d", prefix, m.Major, m.Minor)
}

// Next is the minor after m.
func (m Minor) Next() Minor { return Minor{m.Major, m.Minor + 1} }

// Terraform is a version as the templates' kubernetes_version variable takes it.
func Terraform(v string) string {
	return strings.TrimPrefix(v, "v")
}

// Evidence says whether the Workspace shows that it runs version v, after a change of
// version: it is Ready and its last reconcile did not fail (read here, not only through
// the apply, whose report can lag the Workspace's event), and its version output (the
// first of outputs it has) has v's major and minor, or, for a module without one, the
// provider reports it applied the Workspace's current generation.
// A Ready condition alone proves nothing after a change: provider-terraform v0.21 keeps
// Ready=True from the previous apply while it applies the new spec and reports no
// generation. When nothing can tell, why is what the user can do about it.
func Evidence(ws *workspace.Workspace, v string, outputs []string) (applied bool, why string) {
	if !ws.IsTrue(workspace.ConditionReady) || ws.IsFalse(workspace.ConditionSynced) {
		return false, ""
	}
	want, ok := Parse(v)
	if name, value, found := workspace.ReadOutputs(ws, nil).First(outputs...); found {
		got, ok2 := Parse(value)
		if !ok || !ok2 {
			return false, fmt.Sprintf("output %s is %q, not a Kubernetes version", name, value)
		}
		return got == want, ""
	}
	if g := ws.AppliedGeneration(); g > 0 {
		return g >= ws.Generation, ""
	}
	return false, fmt.Sprintf("Workspace %s cannot show that it applied %s: its module has no %s output and its provider reports no observedGeneration; add the output to the module",
		ws.Name, v, strings.Join(outputs, " or "))
}

// Less says m is an older minor than o.
func (m Minor) Less(o Minor) bool {
	return m.Major < o.Major || m.Major == o.Major && m.Minor < o.Minor
}
