package machinepool

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/kubeversion"
)

// targetVersion is the version the node group may run now: the MachinePool's, unless it
// is a newer minor than the control plane runs (its status.version), then the control
// plane's minor, spelled like the MachinePool's version: EKS refuses a node group newer
// than its cluster. held says the MachinePool's version waits for the control plane. An
// empty MachinePool version (the cluster's own) and a control plane that reports no
// version CAPT can read hold nothing back.
func targetVersion(want, controlPlane string) (target string, held bool) {
	w, ok1 := kubeversion.Parse(want)
	cp, ok2 := kubeversion.Parse(controlPlane)
	if !ok1 || !ok2 || !cp.Less(w) {
		return want, false
	}
	return cp.Format(want), true
}

// nextVersion is the version the node group's Workspace is asked to run: the target
// (targetVersion), or one minor above running when the target is further (EKS upgrades a
// node group one minor at a time). Before the node group is first applied (running
// empty, or a version CAPT cannot read) it is created at the target. A node group held at
// the control plane's minor keeps the version it runs when that is the same minor or a
// newer one: the control plane never takes a node group down.
func nextVersion(want, controlPlane, running string) (next string, held bool) {
	target, held := targetVersion(want, controlPlane)
	t, ok1 := kubeversion.Parse(target)
	r, ok2 := kubeversion.Parse(running)
	switch {
	case !ok1 || !ok2 || t.Major != r.Major:
		return target, held
	case t.Minor > r.Minor+1:
		return r.Next().Format(target), held
	case held && t.Minor <= r.Minor:
		return running, held
	}
	return target, held
}

// versionState is what a pass found of the node group's version, for RollingOut.
type versionState struct {
	// want is the MachinePool's version, controlPlane the control plane's status.version.
	want, controlPlane string
	// applying is the version rendered into the node group's apply this pass; held says
	// it is the control plane's, below the MachinePool's.
	applying string
	held     bool
	// unconfirmed says why a Ready Workspace cannot show that it applied a new version.
	unconfirmed string
}

// rollingOutCondition says whether the node group runs (was last applied with) another
// version than its MachinePool's, and what it waits for: the next minor being applied,
// or the control plane. A node group being created is not rolling out, nor one whose
// MachinePool leaves the version to the cluster.
func rollingOutCondition(running string, v *versionState) metav1.Condition {
	c := metav1.Condition{Type: infrav1.MachinePoolRollingOutCondition, Status: metav1.ConditionFalse, Reason: infrav1.MachinePoolNotRollingOutReason}
	if v == nil || v.want == "" || running == "" || running == v.want {
		return c
	}
	c.Status, c.Reason = metav1.ConditionTrue, infrav1.MachinePoolRollingOutReason
	switch {
	case v.held && v.applying == running:
		c.Reason = infrav1.WaitingForControlPlaneUpgradeReason
		c.Message = fmt.Sprintf("Waiting for the control plane: the MachinePool asks for %s, the control plane runs %s; the node group stays at %s", v.want, v.controlPlane, running)
	case v.held:
		c.Reason = infrav1.WaitingForControlPlaneUpgradeReason
		c.Message = fmt.Sprintf("Upgrading towards %s behind the control plane (it runs %s), one minor version at a time: running %s, applying %s", v.want, v.controlPlane, running, v.applying)
	case v.applying != v.want:
		c.Message = fmt.Sprintf("Upgrading to %s one minor version at a time: running %s, applying %s", v.want, running, v.applying)
	default:
		c.Message = fmt.Sprintf("Upgrading to %s: running %s, applying %s", v.want, running, v.applying)
	}
	if v.unconfirmed != "" {
		c.Message += "; " + v.unconfirmed
	}
	return c
}
