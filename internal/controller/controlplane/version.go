package controlplane

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	"github.com/capt-dev/capt/internal/controller/kubeversion"
	"github.com/capt-dev/capt/internal/workspace"
)

// nextVersion is the version the control plane's Workspace is asked to run, as spec.version
// spells it: spec.version itself, unless the control plane is initialized, runs a version
// more than one minor behind, and so is taken one minor further (EKS moves one minor at a
// time and refuses anything else). Before initialization there is nothing to step: the
// Workspace creates the cluster at spec.version. A version CAPT cannot read (an empty
// status of a control plane from before status.version existed) is not stepped either.
func nextVersion(spec, running string, initialized bool) string {
	want, ok1 := kubeversion.Parse(spec)
	have, ok2 := kubeversion.Parse(running)
	if !initialized || !ok1 || !ok2 || want.Major != have.Major || want.Minor <= have.Minor+1 {
		return spec
	}
	return have.Next().Format(spec)
}

// terraformVersion is a version as the templates' kubernetes_version variable takes it.
func terraformVersion(v string) string {
	return kubeversion.Terraform(v)
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

// versionEvidence says whether the Workspace shows that it runs version v after a change
// of version (kubeversion.Evidence), read from the control plane's version outputs.
func versionEvidence(ws *workspace.Workspace, v string) (applied bool, why string) {
	return kubeversion.Evidence(ws, v, controlplanev1.VersionOutputs)
}
