package controlplane

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

func applyWithReady(status metav1.ConditionStatus, reason string, observed, generation int64) *infrav1.WorkspaceTemplateApply {
	a := &infrav1.WorkspaceTemplateApply{}
	a.Name = "demo-controlplane"
	a.Generation = generation
	a.Status.Conditions = []metav1.Condition{{Type: infrav1.ReadyCondition, Status: status, Reason: reason, Message: "m", ObservedGeneration: observed}}
	return a
}

func TestWorkspaceReadyCondition(t *testing.T) {
	cases := []struct {
		name       string
		obs        observation
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		{"waiting for infrastructure", observation{waitingForInfra: "CAPTCluster a/b to be provisioned"}, metav1.ConditionFalse, controlplanev1.WaitingForInfrastructureReason},
		{"no apply yet", observation{}, metav1.ConditionFalse, controlplanev1.WaitingForWorkspaceReason},
		{"apply has not reported", observation{apply: &infrav1.WorkspaceTemplateApply{}}, metav1.ConditionFalse, controlplanev1.WaitingForWorkspaceReason},
		{"apply ready", observation{apply: applyWithReady(metav1.ConditionTrue, infrav1.ReadyReason, 2, 2)}, metav1.ConditionTrue, infrav1.ReadyReason},
		{"apply failing is mirrored", observation{apply: applyWithReady(metav1.ConditionFalse, infrav1.WorkspaceNotSyncedReason, 2, 2)}, metav1.ConditionFalse, infrav1.WorkspaceNotSyncedReason},
		{"ready apply changed since", observation{apply: applyWithReady(metav1.ConditionTrue, infrav1.ReadyReason, 1, 2)}, metav1.ConditionFalse, controlplanev1.WorkspaceUpdatingReason},
	}
	for _, tc := range cases {
		got := workspaceReadyCondition(tc.obs)
		if got.Status != tc.wantStatus || got.Reason != tc.wantReason {
			t.Errorf("%s: got %s/%s, want %s/%s", tc.name, got.Status, got.Reason, tc.wantStatus, tc.wantReason)
		}
	}
}

func TestEndpointAndSecretsConditions(t *testing.T) {
	withEndpoint := &controlplanev1.CAPTControlPlane{Spec: controlplanev1.CAPTControlPlaneSpec{ControlPlaneEndpoint: infrav1.APIEndpoint{Host: "h", Port: 443}}}
	empty := &controlplanev1.CAPTControlPlane{}
	bad := &problem{controlplanev1.EndpointInvalidReason, "output cluster_endpoint has scheme \"http\""}
	cases := []struct {
		name       string
		obs        observation
		cp         *controlplanev1.CAPTControlPlane
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		{"problem", observation{endpointChecked: true, endpoint: bad}, withEndpoint, metav1.ConditionFalse, controlplanev1.EndpointInvalidReason},
		{"just read, not yet in spec", observation{endpointChecked: true}, withEndpoint, metav1.ConditionFalse, controlplanev1.SettingEndpointReason},
		{"read and persisted", observation{endpointChecked: true, endpointPersisted: true}, withEndpoint, metav1.ConditionTrue, infrav1.ReadyReason},
		{"not read this pass, kept", observation{}, withEndpoint, metav1.ConditionTrue, infrav1.ReadyReason},
		{"not read, none yet", observation{}, empty, metav1.ConditionFalse, controlplanev1.WaitingForWorkspaceReason},
	}
	for _, tc := range cases {
		got := endpointReadyCondition(tc.obs, tc.cp)
		if got.Status != tc.wantStatus || got.Reason != tc.wantReason {
			t.Errorf("endpoint %s: got %s/%s, want %s/%s", tc.name, got.Status, got.Reason, tc.wantStatus, tc.wantReason)
		}
	}
	if got := secretsReadyCondition(observation{secretsChecked: true}); got.Status != metav1.ConditionTrue {
		t.Errorf("secrets checked: %+v", got)
	}
	if got := secretsReadyCondition(observation{secretsChecked: true, secrets: &problem{controlplanev1.SecretOwnedByOtherReason, "x"}}); got.Reason != controlplanev1.SecretOwnedByOtherReason {
		t.Errorf("secrets owned by other: %+v", got)
	}
	if got := secretsReadyCondition(observation{}); got.Status != metav1.ConditionFalse || got.Reason != controlplanev1.WaitingForWorkspaceReason {
		t.Errorf("secrets not checked: %+v", got)
	}
}

func c(t string, s metav1.ConditionStatus, reason string) metav1.Condition {
	return metav1.Condition{Type: t, Status: s, Reason: reason}
}

func TestAvailableAndReadyNeverContradictErrors(t *testing.T) {
	wsTrue := c(controlplanev1.WorkspaceReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason)
	wsUpdating := c(controlplanev1.WorkspaceReadyCondition, metav1.ConditionFalse, controlplanev1.WorkspaceUpdatingReason)
	wsFailed := c(controlplanev1.WorkspaceReadyCondition, metav1.ConditionFalse, infrav1.WorkspaceNotSyncedReason)
	epTrue := c(controlplanev1.EndpointReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason)
	epBad := c(controlplanev1.EndpointReadyCondition, metav1.ConditionFalse, controlplanev1.EndpointInvalidReason)
	secTrue := c(controlplanev1.SecretsReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason)
	epWaiting := c(controlplanev1.EndpointReadyCondition, metav1.ConditionFalse, controlplanev1.WaitingForWorkspaceReason)
	secWaiting := c(controlplanev1.SecretsReadyCondition, metav1.ConditionFalse, controlplanev1.WaitingForWorkspaceReason)
	cases := []struct {
		name                     string
		ws, ep, sec              metav1.Condition
		versionApplied           bool
		wantAvailable, wantReady metav1.ConditionStatus
		wantReadyReason          string
	}{
		{"all good", wsTrue, epTrue, secTrue, true, metav1.ConditionTrue, metav1.ConditionTrue, infrav1.ReadyReason},
		{"endpoint error", wsTrue, epBad, secTrue, true, metav1.ConditionFalse, metav1.ConditionFalse, controlplanev1.EndpointInvalidReason},
		{"workspace failed", wsFailed, epTrue, secTrue, true, metav1.ConditionFalse, metav1.ConditionFalse, infrav1.WorkspaceNotSyncedReason},
		// A first apply that fails: the failure is the reason, not the endpoint waiting for it.
		{"first apply failed", wsFailed, epWaiting, secWaiting, false, metav1.ConditionFalse, metav1.ConditionFalse, infrav1.WorkspaceNotSyncedReason},
		{"upgrading keeps it available", wsUpdating, epTrue, secTrue, false, metav1.ConditionTrue, metav1.ConditionFalse, controlplanev1.WorkspaceUpdatingReason},
		{"version not applied yet", wsTrue, epTrue, secTrue, false, metav1.ConditionTrue, metav1.ConditionFalse, controlplanev1.WorkspaceUpdatingReason},
	}
	for _, tc := range cases {
		available := availableCondition(tc.ws, tc.ep, tc.sec)
		ready := readyCondition(available, tc.ws, tc.versionApplied, "v1.32.0")
		if available.Status != tc.wantAvailable || ready.Status != tc.wantReady || ready.Reason != tc.wantReadyReason {
			t.Errorf("%s: available %s/%s, ready %s/%s", tc.name, available.Status, available.Reason, ready.Status, ready.Reason)
		}
		for _, cc := range []metav1.Condition{tc.ws, tc.ep, tc.sec} {
			if isFailure(cc) && ready.Status == metav1.ConditionTrue {
				t.Errorf("%s: Ready with %s failing", tc.name, cc.Type)
			}
		}
	}
}

func TestPhase(t *testing.T) {
	ok := c(infrav1.ReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason)
	notReady := c(infrav1.ReadyCondition, metav1.ConditionFalse, controlplanev1.WaitingForWorkspaceReason)
	failing := c(controlplanev1.EndpointReadyCondition, metav1.ConditionFalse, controlplanev1.EndpointUpdateFailedReason)
	waiting := c(controlplanev1.EndpointReadyCondition, metav1.ConditionFalse, controlplanev1.WaitingForWorkspaceReason)
	for _, tc := range []struct {
		name        string
		initialized bool
		ready       metav1.Condition
		others      []metav1.Condition
		want        string
	}{
		{"creating", false, notReady, []metav1.Condition{waiting}, controlplanev1.PhaseCreating},
		{"failed", false, notReady, []metav1.Condition{failing}, controlplanev1.PhaseFailed},
		{"ready", true, ok, nil, controlplanev1.PhaseReady},
		{"updating", true, notReady, []metav1.Condition{waiting}, controlplanev1.PhaseUpdating},
	} {
		if got := phase(tc.initialized, tc.ready, tc.others...); got != tc.want {
			t.Errorf("%s: phase %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestInitializationIsSticky(t *testing.T) {
	cp := &controlplanev1.CAPTControlPlane{}
	cp.Status.Initialization.ControlPlaneInitialized = ptr.To(true)
	setStatus(cp, observation{endpointChecked: true, endpoint: &problem{controlplanev1.EndpointOutputMissingReason, "x"}})
	if !ptr.Deref(cp.Status.Initialization.ControlPlaneInitialized, false) || !cp.Status.Initialized {
		t.Error("an initialized control plane went back to uninitialized")
	}
	if cp.Status.Ready || cp.Status.Phase != controlplanev1.PhaseFailed {
		t.Errorf("ready %v, phase %s", cp.Status.Ready, cp.Status.Phase)
	}
}

func TestTransitions(t *testing.T) {
	before := []metav1.Condition{
		c(controlplanev1.EndpointReadyCondition, metav1.ConditionFalse, controlplanev1.WaitingForWorkspaceReason),
		c(controlplanev1.SecretsReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason),
	}
	after := []metav1.Condition{
		c(controlplanev1.EndpointReadyCondition, metav1.ConditionFalse, controlplanev1.EndpointInvalidReason),
		c(controlplanev1.SecretsReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason),
		c(controlplanev1.WorkspaceReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason),
		c(controlplanev1.AvailableCondition, metav1.ConditionFalse, controlplanev1.WaitingForWorkspaceReason),
	}
	// A failure raised is an event; a condition other than Available turning true is not.
	got := transitions(before, after)
	if len(got) != 1 || got[0].eventType != "Warning" || got[0].reason != controlplanev1.EndpointInvalidReason {
		t.Errorf("transitions = %+v", got)
	}
	available := append(slices.Clone(after[:3]), c(controlplanev1.AvailableCondition, metav1.ConditionTrue, controlplanev1.AvailableReason))
	if got := transitions(after, available); len(got) != 1 || got[0].eventType != "Normal" || got[0].reason != controlplanev1.AvailableCondition {
		t.Errorf("transitions to available = %+v", got)
	}
	if again := transitions(after, after); len(again) != 0 {
		t.Errorf("a pass with no change made events: %+v", again)
	}
}

// TestStatusEndpoint checks the host:port that kubectl get's ENDPOINT column shows, from
// the endpoint the control plane publishes, on the normal and the delete path.
func TestStatusEndpoint(t *testing.T) {
	cases := []struct {
		name string
		ep   infrav1.APIEndpoint
		want string
	}{
		{"none yet", infrav1.APIEndpoint{}, ""},
		{"DNS name", infrav1.APIEndpoint{Host: "abc.gr7.us-west-2.eks.amazonaws.com", Port: 443}, "abc.gr7.us-west-2.eks.amazonaws.com:443"},
		{"IPv6", infrav1.APIEndpoint{Host: "fd00::1", Port: 6443}, "[fd00::1]:6443"},
	}
	for _, tc := range cases {
		cp := &controlplanev1.CAPTControlPlane{Spec: controlplanev1.CAPTControlPlaneSpec{ControlPlaneEndpoint: tc.ep}}
		cp.Status.Endpoint = "stale:1"
		setStatus(cp, observation{})
		if cp.Status.Endpoint != tc.want {
			t.Errorf("%s: status.endpoint %q, want %q", tc.name, cp.Status.Endpoint, tc.want)
		}
		cp.Status.Endpoint = "stale:1"
		setDeletingStatus(cp, controlplanev1.ClearingEndpointReason, "m")
		if cp.Status.Endpoint != tc.want {
			t.Errorf("%s, deleting: status.endpoint %q, want %q", tc.name, cp.Status.Endpoint, tc.want)
		}
	}
}
