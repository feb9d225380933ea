package machinepool

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

func TestNextVersion(t *testing.T) {
	cases := []struct {
		want, controlPlane, running string
		next                        string
		held                        bool
	}{
		// Behind nothing: the MachinePool's version, one minor at a time once created.
		{"v1.32.0", "v1.32.0", "v1.32.0", "v1.32.0", false},
		{"v1.32.0", "v1.32.0", "v1.29.0", "v1.30", false},
		{"v1.32.0", "v1.32.0", "v1.30", "v1.31", false},
		{"v1.32.0", "v1.32.0", "v1.31", "v1.32.0", false},
		{"1.32.1", "v1.32", "1.29.3", "1.30", false},
		// Created at the target, nothing to step from.
		{"v1.32.0", "v1.32.0", "", "v1.32.0", false},
		// Ahead of the control plane: held at its minor, spelled like the MachinePool's.
		{"v1.32.0", "v1.30.2", "", "v1.30", true},
		{"v1.32.0", "v1.30.2", "v1.30.0", "v1.30.0", true},
		{"v1.32.0", "v1.31.0", "v1.30.0", "v1.31", true},
		{"v1.33.0", "v1.32.0", "v1.29.0", "v1.30", true},
		{"1.32", "v1.31", "1.30", "1.31", true},
		// A control plane behind the node group never takes it down.
		{"v1.32.0", "v1.29.0", "v1.31", "v1.31", true},
		// Nothing to hold by: the cluster's version, no control plane version, unreadable.
		{"", "v1.30.0", "v1.30", "", false},
		{"v1.32.0", "", "v1.31", "v1.32.0", false},
		{"v1.32.0", "latest", "v1.31", "v1.32.0", false},
		// A lowered MachinePool version is passed on (EKS refuses it; the apply says so).
		{"v1.29.0", "v1.32.0", "v1.31", "v1.29.0", false},
	}
	for _, tc := range cases {
		next, held := nextVersion(tc.want, tc.controlPlane, tc.running)
		if next != tc.next || held != tc.held {
			t.Errorf("nextVersion(%q, %q, %q) = %q, %v; want %q, %v", tc.want, tc.controlPlane, tc.running, next, held, tc.next, tc.held)
		}
	}
}

func TestRollingOutCondition(t *testing.T) {
	cases := []struct {
		name          string
		running       string
		v             *versionState
		status        metav1.ConditionStatus
		reason        string
		wantInMessage string
	}{
		{"not reached", "v1.30", nil, metav1.ConditionFalse, infrav1.MachinePoolNotRollingOutReason, ""},
		{"creating", "", &versionState{want: "v1.31", applying: "v1.31"}, metav1.ConditionFalse, infrav1.MachinePoolNotRollingOutReason, ""},
		{"up to date", "v1.31", &versionState{want: "v1.31", applying: "v1.31"}, metav1.ConditionFalse, infrav1.MachinePoolNotRollingOutReason, ""},
		{"the cluster's version", "v1.31", &versionState{applying: ""}, metav1.ConditionFalse, infrav1.MachinePoolNotRollingOutReason, ""},
		{"stepping", "v1.29.0", &versionState{want: "v1.32.0", controlPlane: "v1.32.0", applying: "v1.30"}, metav1.ConditionTrue, infrav1.MachinePoolRollingOutReason,
			"Upgrading to v1.32.0 one minor version at a time: running v1.29.0, applying v1.30"},
		{"last step", "v1.31", &versionState{want: "v1.32.0", controlPlane: "v1.32.0", applying: "v1.32.0"}, metav1.ConditionTrue, infrav1.MachinePoolRollingOutReason,
			"Upgrading to v1.32.0: running v1.31, applying v1.32.0"},
		{"held", "v1.30.0", &versionState{want: "v1.31.0", controlPlane: "v1.30.0", applying: "v1.30.0", held: true}, metav1.ConditionTrue, infrav1.WaitingForControlPlaneUpgradeReason,
			"the MachinePool asks for v1.31.0, the control plane runs v1.30.0; the node group stays at v1.30.0"},
		{"stepping behind", "v1.29.0", &versionState{want: "v1.33.0", controlPlane: "v1.31.0", applying: "v1.30", held: true}, metav1.ConditionTrue, infrav1.WaitingForControlPlaneUpgradeReason,
			"running v1.29.0, applying v1.30"},
		{"unconfirmed", "v1.29.0", &versionState{want: "v1.30", applying: "v1.30", unconfirmed: "add the output"}, metav1.ConditionTrue, infrav1.MachinePoolRollingOutReason, "; add the output"},
	}
	for _, tc := range cases {
		c := rollingOutCondition(tc.running, tc.v)
		if c.Type != infrav1.MachinePoolRollingOutCondition || c.Status != tc.status || c.Reason != tc.reason || !strings.Contains(c.Message, tc.wantInMessage) {
			t.Errorf("%s: %+v", tc.name, c)
		}
	}
}
