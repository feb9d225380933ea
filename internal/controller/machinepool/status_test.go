package machinepool

import (
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cluster-api/util/conditions"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"

	"github.com/capt-dev/capt/internal/controller/observed"
)

func TestSetStatus(t *testing.T) {
	two := ptr.To[int32](2)
	for _, tc := range []struct {
		name        string
		s           scope
		provisioned bool // before the pass
		ws, nodes   metav1.ConditionStatus
		ready       metav1.ConditionStatus
		readyReason string
		phase       string
		wantProv    bool
	}{
		{name: "waiting for the control plane", s: scope{workspaceProblem: &observed.Problem{Reason: infrav1.WaitingForControlPlaneReason, Message: "m"}},
			ws: metav1.ConditionFalse, nodes: metav1.ConditionFalse, ready: metav1.ConditionFalse, readyReason: infrav1.WaitingForControlPlaneReason, phase: infrav1.PhaseProvisioning},
		{name: "all Ready", s: scope{workspaceReady: true, desired: two, nodes: &nodes{count: 2, ready: 2}},
			ws: metav1.ConditionTrue, nodes: metav1.ConditionTrue, ready: metav1.ConditionTrue, readyReason: infrav1.ReadyReason, phase: infrav1.PhaseProvisioned, wantProv: true},
		{name: "Nodes not all Ready", s: scope{workspaceReady: true, desired: two, nodes: &nodes{count: 2, ready: 1}},
			ws: metav1.ConditionTrue, nodes: metav1.ConditionFalse, ready: metav1.ConditionFalse, readyReason: infrav1.WaitingForNodesReason, phase: infrav1.PhaseProvisioned, wantProv: true},
		{name: "one Node too many", s: scope{workspaceReady: true, desired: two, nodes: &nodes{count: 3, ready: 2}},
			ws: metav1.ConditionTrue, nodes: metav1.ConditionFalse, ready: metav1.ConditionFalse, readyReason: infrav1.WaitingForNodesReason, phase: infrav1.PhaseProvisioned, wantProv: true},
		{name: "workload cluster unreachable: Ready keeps what it said", s: scope{workspaceReady: true, desired: two, unreachable: "no connection"},
			ws: metav1.ConditionTrue, nodes: metav1.ConditionUnknown, ready: metav1.ConditionTrue, readyReason: "Kept", phase: infrav1.PhaseProvisioned, wantProv: true},
		{name: "a failed read is Unknown, not missing", s: scope{Pass: observed.Pass{Err: errors.New("timeout")}},
			ws: metav1.ConditionUnknown, nodes: metav1.ConditionUnknown, ready: metav1.ConditionTrue, readyReason: "Kept", phase: infrav1.PhaseProvisioned, provisioned: true, wantProv: true},
		{name: "a later failure does not unprovision", s: scope{workspaceProblem: &observed.Problem{Reason: infrav1.NodeGroupFailedReason, Message: "boom"}},
			provisioned: true, ws: metav1.ConditionFalse, nodes: metav1.ConditionFalse, ready: metav1.ConditionFalse, readyReason: infrav1.NodeGroupFailedReason, phase: infrav1.PhaseFailed, wantProv: true},
		{name: "scaling invalid is a failure", s: scope{workspaceProblem: &observed.Problem{Reason: infrav1.ScalingInvalidReason, Message: "m"}},
			ws: metav1.ConditionFalse, nodes: metav1.ConditionFalse, ready: metav1.ConditionFalse, readyReason: infrav1.ScalingInvalidReason, phase: infrav1.PhaseFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			s.mp = &infrav1.CAPTMachinePool{}
			s.mp.Status.Initialization.Provisioned = ptr.To(tc.provisioned)
			conditions.Set(s.mp, metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionTrue, Reason: "Kept"})
			setStatus(&s)
			mp := s.mp
			if c := conditions.Get(mp, infrav1.WorkspaceReadyCondition); c.Status != tc.ws {
				t.Errorf("WorkspaceReady %s/%s, want %s", c.Status, c.Reason, tc.ws)
			}
			if c := conditions.Get(mp, infrav1.NodesReadyCondition); c.Status != tc.nodes {
				t.Errorf("NodesReady %s/%s, want %s", c.Status, c.Reason, tc.nodes)
			}
			if c := conditions.Get(mp, infrav1.ReadyCondition); c.Status != tc.ready || c.Reason != tc.readyReason {
				t.Errorf("Ready %s/%s, want %s/%s", c.Status, c.Reason, tc.ready, tc.readyReason)
			}
			if mp.Status.Phase != tc.phase || *mp.Status.Initialization.Provisioned != tc.wantProv || mp.Status.Ready != tc.wantProv {
				t.Errorf("phase %s provisioned %v ready %v, want %s %v", mp.Status.Phase, *mp.Status.Initialization.Provisioned, mp.Status.Ready, tc.phase, tc.wantProv)
			}
		})
	}
}
