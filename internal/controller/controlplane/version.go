package controlplane

import (
	"fmt"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// minorVersion is a Kubernetes version cut to what EKS versions: major and minor.
type minorVersion struct {
	major, minor int
}

// parseMinor reads "v1.31", "1.31" or "1.31.2"; ok is false for anything else.
func parseMinor(v string) (minorVersion, bool) {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return minorVersion{}, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return minorVersion{}, false
	}
	return minorVersion{major, minor}, true
}

// nextVersion is the version the control plane's Workspace is asked to run, as spec.version
// spells it: spec.version itself, unless the control plane is initialized, runs a version
// more than one minor behind, and so is taken one minor further (EKS moves one minor at a
// time and refuses anything else). Before initialization there is nothing to step: the
// Workspace creates the cluster at spec.version. A version CAPT cannot read (an empty
// status of a control plane from before status.version existed) is not stepped either.
func nextVersion(spec, running string, initialized bool) string {
	want, ok1 := parseMinor(spec)
	have, ok2 := parseMinor(running)
	if !initialized || !ok1 || !ok2 || want.major != have.major || want.minor <= have.minor+1 {
		return spec
	}
	prefix := ""
	if strings.HasPrefix(spec, "v") {
		prefix = "v"
	}
	return fmt.Sprintf("%s%d.%d", prefix, have.major, have.minor+1)
}

// terraformVersion is a version as the templates' kubernetes_version variable takes it.
func terraformVersion(v string) string {
	return strings.TrimPrefix(v, "v")
}

// rollingOutCondition says whether the control plane is being upgraded: it runs (last
// applied) another version than spec.version. Cluster API mirrors it into the Cluster's
// RollingOut. A control plane being created is not rolling out, whatever its version.
func rollingOutCondition(initialized bool, spec, running, applying, unconfirmed string) metav1.Condition {
	if !initialized || running == "" || running == spec {
		return metav1.Condition{Type: controlplanev1.RollingOutCondition, Status: metav1.ConditionFalse, Reason: controlplanev1.NotRollingOutReason}
	}
	msg := fmt.Sprintf("Upgrading from %s to %s", running, spec)
	switch {
	case applying != "" && applying != spec:
		msg = fmt.Sprintf("Upgrading to %s one minor version at a time: running %s, applying %s", spec, running, applying)
	case applying != "":
		msg = fmt.Sprintf("Upgrading to %s: running %s, applying %s", spec, running, applying)
	}
	if unconfirmed != "" {
		msg += "; " + unconfirmed
	}
	return metav1.Condition{Type: controlplanev1.RollingOutCondition, Status: metav1.ConditionTrue, Reason: controlplanev1.RollingOutReason, Message: msg}
}

// versionEvidence says whether the Workspace shows that it runs version v, after a change
// of version: it is Ready and its last reconcile did not fail (read here, not only
// through the apply, whose report can lag the Workspace's event), and its version output
// (VersionOutputs) has v's major and minor, or, for a module without one, the provider
// reports it applied the Workspace's current generation.
// A Ready condition alone proves nothing after a change: provider-terraform v0.21 keeps
// Ready=True from the previous apply while it applies the new spec and reports no
// generation. When nothing can tell, why is what the user can do about it.
func versionEvidence(ws *workspace.Workspace, v string) (applied bool, why string) {
	if !ws.IsTrue(workspace.ConditionReady) || ws.IsFalse(workspace.ConditionSynced) {
		return false, ""
	}
	want, ok := parseMinor(v)
	outputs := workspace.ReadOutputs(ws, nil)
	if name, value, found := outputs.First(controlplanev1.VersionOutputs...); found {
		got, ok2 := parseMinor(value)
		if !ok || !ok2 {
			return false, fmt.Sprintf("output %s is %q, not a Kubernetes version", name, value)
		}
		return got == want, ""
	}
	if g := ws.AppliedGeneration(); g > 0 {
		return g >= ws.Generation, ""
	}
	return false, fmt.Sprintf("Workspace %s cannot show that it applied %s: its module has no %s output and its provider reports no observedGeneration; add the output to the module",
		ws.Name, v, strings.Join(controlplanev1.VersionOutputs, " or "))
}
