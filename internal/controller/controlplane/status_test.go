package controlplane

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cluster-api/util/conditions"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
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
		s          *scope
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		{"waiting for infrastructure", &scope{waitingForInfra: "CAPTCluster a/b to be provisioned"}, metav1.ConditionFalse, controlplanev1.WaitingForInfrastructureReason},
		{"no apply yet", &scope{}, metav1.ConditionFalse, controlplanev1.WaitingForWorkspaceReason},
		{"apply has not reported", &scope{apply: &infrav1.WorkspaceTemplateApply{}}, metav1.ConditionFalse, controlplanev1.WaitingForWorkspaceReason},
		{"apply ready", &scope{apply: applyWithReady(metav1.ConditionTrue, infrav1.ReadyReason, 2, 2)}, metav1.ConditionTrue, infrav1.ReadyReason},
		{"apply failing is mirrored", &scope{apply: applyWithReady(metav1.ConditionFalse, infrav1.WorkspaceNotSyncedReason, 2, 2)}, metav1.ConditionFalse, infrav1.WorkspaceNotSyncedReason},
		{"ready apply changed since", &scope{apply: applyWithReady(metav1.ConditionTrue, infrav1.ReadyReason, 1, 2)}, metav1.ConditionFalse, controlplanev1.WorkspaceUpdatingReason},
	}
	for _, tc := range cases {
		got := workspaceReadyCondition(tc.s)
		if got.Status != tc.wantStatus || got.Reason != tc.wantReason {
			t.Errorf("%s: got %s/%s, want %s/%s", tc.name, got.Status, got.Reason, tc.wantStatus, tc.wantReason)
		}
	}
}

func TestEndpointAndSecretsConditions(t *testing.T) {
	withEndpoint := &controlplanev1.CAPTControlPlane{Spec: controlplanev1.CAPTControlPlaneSpec{ControlPlaneEndpoint: infrav1.APIEndpoint{Host: "h", Port: 443}}}
	empty := &controlplanev1.CAPTControlPlane{}
	bad := &observed.Problem{Reason: controlplanev1.EndpointInvalidReason, Message: "output cluster_endpoint has scheme \"http\""}
	cases := []struct {
		name       string
		s          *scope
		cp         *controlplanev1.CAPTControlPlane
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		{"problem", &scope{endpointChecked: true, endpointProblem: bad}, withEndpoint, metav1.ConditionFalse, controlplanev1.EndpointInvalidReason},
		{"read (the pass's write persists the spec before the status)", &scope{endpointChecked: true}, withEndpoint, metav1.ConditionTrue, infrav1.ReadyReason},
		{"not read this pass, kept", &scope{}, withEndpoint, metav1.ConditionTrue, infrav1.ReadyReason},
		{"not read, none yet", &scope{}, empty, metav1.ConditionFalse, controlplanev1.WaitingForWorkspaceReason},
	}
	for _, tc := range cases {
		tc.s.cp = tc.cp
		got := endpointReadyCondition(tc.s)
		if got.Status != tc.wantStatus || got.Reason != tc.wantReason {
			t.Errorf("endpoint %s: got %s/%s, want %s/%s", tc.name, got.Status, got.Reason, tc.wantStatus, tc.wantReason)
		}
	}
	if got := secretsReadyCondition(&scope{published: &published{checked: true}}); got.Status != metav1.ConditionTrue {
		t.Errorf("secrets checked: %+v", got)
	}
	if got := secretsReadyCondition(&scope{published: &published{checked: true, problem: &observed.Problem{Reason: controlplanev1.SecretOwnedByOtherReason, Message: "x"}}}); got.Reason != controlplanev1.SecretOwnedByOtherReason {
		t.Errorf("secrets owned by other: %+v", got)
	}
	if got := secretsReadyCondition(&scope{}); got.Status != metav1.ConditionFalse || got.Reason != controlplanev1.WaitingForWorkspaceReason {
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
	tokenTrue := c(controlplanev1.TokenReadyCondition, metav1.ConditionTrue, controlplanev1.TokenMintedReason)
	tokenFailed := c(controlplanev1.TokenReadyCondition, metav1.ConditionFalse, controlplanev1.IdentityNotFoundReason)
	cases := []struct {
		name                     string
		ws, ep, sec              metav1.Condition
		token                    *metav1.Condition
		versionApplied           bool
		wantAvailable, wantReady metav1.ConditionStatus
		wantReadyReason          string
	}{
		{"all good", wsTrue, epTrue, secTrue, nil, true, metav1.ConditionTrue, metav1.ConditionTrue, infrav1.ReadyReason},
		{"endpoint error", wsTrue, epBad, secTrue, nil, true, metav1.ConditionFalse, metav1.ConditionFalse, controlplanev1.EndpointInvalidReason},
		{"workspace failed", wsFailed, epTrue, secTrue, nil, true, metav1.ConditionFalse, metav1.ConditionFalse, infrav1.WorkspaceNotSyncedReason},
		// A first apply that fails: the failure is the reason, not the endpoint waiting for it.
		{"first apply failed", wsFailed, epWaiting, secWaiting, nil, false, metav1.ConditionFalse, metav1.ConditionFalse, infrav1.WorkspaceNotSyncedReason},
		{"upgrading keeps it available", wsUpdating, epTrue, secTrue, nil, false, metav1.ConditionTrue, metav1.ConditionFalse, controlplanev1.WorkspaceUpdatingReason},
		{"version not applied yet", wsTrue, epTrue, secTrue, nil, false, metav1.ConditionTrue, metav1.ConditionFalse, controlplanev1.WorkspaceUpdatingReason},
		// A token that cannot be refreshed: the published one still works, the control
		// plane serves, but it is not Ready.
		{"token not refreshed", wsTrue, epTrue, secTrue, &tokenFailed, true, metav1.ConditionTrue, metav1.ConditionFalse, controlplanev1.IdentityNotFoundReason},
	}
	for _, tc := range cases {
		token := tokenTrue
		if tc.token != nil {
			token = *tc.token
		}
		available := availableCondition(tc.ws, tc.ep, tc.sec)
		ready := readyCondition(available, tc.ws, token, rollingOutCondition(true, "v1.32.0", "v1.32.0", "", ""), tc.versionApplied, "v1.32.0")
		if available.Status != tc.wantAvailable || ready.Status != tc.wantReady || ready.Reason != tc.wantReadyReason {
			t.Errorf("%s: available %s/%s, ready %s/%s", tc.name, available.Status, available.Reason, ready.Status, ready.Reason)
		}
		for _, cc := range []metav1.Condition{tc.ws, tc.ep, tc.sec, token} {
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
	setStatus(&scope{cp: cp, endpointChecked: true, endpointProblem: &observed.Problem{Reason: controlplanev1.EndpointOutputMissingReason, Message: "x"}})
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
	got := transitions(before, after, "https://cp:443")
	if len(got) != 1 || got[0].eventType != "Warning" || got[0].reason != controlplanev1.EndpointInvalidReason {
		t.Errorf("transitions = %+v", got)
	}
	available := append(slices.Clone(after[:3]), c(controlplanev1.AvailableCondition, metav1.ConditionTrue, controlplanev1.AvailableReason))
	if got := transitions(after, available, "https://cp:443"); len(got) != 1 || got[0].eventType != "Normal" || got[0].reason != controlplanev1.AvailableCondition {
		t.Errorf("transitions to available = %+v", got)
	}
	if again := transitions(after, after, "https://cp:443"); len(again) != 0 {
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
		setStatus(&scope{cp: cp})
		if cp.Status.Endpoint != tc.want {
			t.Errorf("%s: status.endpoint %q, want %q", tc.name, cp.Status.Endpoint, tc.want)
		}
		cp.Status.Endpoint = "stale:1"
		now := metav1.Now()
		cp.DeletionTimestamp = &now
		setStatus(&scope{cp: cp, Pass: observed.Pass{Deletion: &observed.Step{Reason: controlplanev1.ClearingEndpointReason, Message: "m"}}})
		if cp.Status.Endpoint != tc.want {
			t.Errorf("%s, deleting: status.endpoint %q, want %q", tc.name, cp.Status.Endpoint, tc.want)
		}
	}
}

// availableCP is a control plane as a healthy pass leaves it.
func availableCP() *controlplanev1.CAPTControlPlane {
	cp := &controlplanev1.CAPTControlPlane{Spec: controlplanev1.CAPTControlPlaneSpec{
		Version: "v1.32.0", ControlPlaneEndpoint: infrav1.APIEndpoint{Host: "h", Port: 443}}}
	setStatus(&scope{cp: cp, apply: applyWithReady(metav1.ConditionTrue, infrav1.ReadyReason, 0, 0),
		runningVersion: "v1.32.0", endpointChecked: true,
		published: &published{checked: true, kubeconfig: &controlplanev1.KubeconfigStatus{Source: controlplanev1.KubeconfigSourceModule}}})
	return cp
}

// TestFailedReadIsUnknown: a pass that could not read an input reports the conditions
// that depend on it Unknown (InternalError), and Available, Ready and the contract's
// fields keep what they said: a transient failure never reaches the Cluster.
func TestFailedReadIsUnknown(t *testing.T) {
	timeout := fmt.Errorf("reading the Workspace's connection secret: %w", apierrors.NewTimeoutError("the server was unable to return a response", 1))
	cp := availableCP()
	if !conditions.IsTrue(cp, controlplanev1.AvailableCondition) || !cp.Status.Ready || !cp.Status.SecretsReady {
		t.Fatalf("set-up: not available: %+v", cp.Status)
	}
	// The connection secret read failed: the endpoint and the secrets were not checked.
	setStatus(&scope{cp: cp, apply: applyWithReady(metav1.ConditionTrue, infrav1.ReadyReason, 0, 0), runningVersion: "v1.32.0", Pass: observed.Pass{Err: timeout}})
	for _, typ := range []string{controlplanev1.EndpointReadyCondition, controlplanev1.SecretsReadyCondition, controlplanev1.TokenReadyCondition} {
		got := conditions.Get(cp, typ)
		if got.Status != metav1.ConditionUnknown || got.Reason != infrav1.InternalErrorReason || !strings.Contains(got.Message, "connection secret: Timeout") {
			t.Errorf("%s = %s/%s %q, want Unknown/InternalError naming the read", typ, got.Status, got.Reason, got.Message)
		}
	}
	for _, typ := range []string{controlplanev1.AvailableCondition, infrav1.ReadyCondition, controlplanev1.WorkspaceReadyCondition} {
		if !conditions.IsTrue(cp, typ) {
			t.Errorf("%s changed on a failed read: %+v", typ, conditions.Get(cp, typ))
		}
	}
	if !cp.Status.Ready || !cp.Status.SecretsReady || !cp.Status.Initialized || cp.Status.Phase != controlplanev1.PhaseReady {
		t.Errorf("contract fields changed on a failed read: ready %v secretsReady %v initialized %v phase %s",
			cp.Status.Ready, cp.Status.SecretsReady, cp.Status.Initialized, cp.Status.Phase)
	}

	// A new control plane whose first pass fails says Unknown, not "waiting".
	fresh := &controlplanev1.CAPTControlPlane{}
	setStatus(&scope{cp: fresh, Pass: observed.Pass{Err: errors.New("getting CAPTCluster a/b: boom")}})
	for _, typ := range []string{controlplanev1.WorkspaceReadyCondition, controlplanev1.AvailableCondition, infrav1.ReadyCondition} {
		if got := conditions.Get(fresh, typ); got == nil || got.Status != metav1.ConditionUnknown || got.Reason != infrav1.InternalErrorReason {
			t.Errorf("fresh %s = %+v, want Unknown/InternalError", typ, got)
		}
	}
	if fresh.Status.Ready {
		t.Error("a control plane never seen available is ready")
	}
}

// TestDeletingFromScope: Deleting is true on every pass of a deleting control plane,
// with the step it reached, and the failure of that step, even when the pass failed
// before its first step.
func TestDeletingFromScope(t *testing.T) {
	refused := fmt.Errorf("clearing Cluster.spec.controlPlaneEndpoint: %w",
		apierrors.NewForbidden(schema.GroupResource{Group: "cluster.x-k8s.io", Resource: "clusters"}, "demo", errors.New("denied by policy no-endpoint-change")))
	for _, tc := range []struct {
		name                   string
		s                      scope
		wantReason, wantInText string
	}{
		{"before the first step", scope{Pass: observed.Pass{Err: errors.New("getting owner Cluster: boom")}}, infrav1.DeletingReason, "failed: getting owner Cluster: boom"},
		{"step refused", scope{Pass: observed.Pass{Deletion: &observed.Step{Reason: controlplanev1.ClearingEndpointReason, Message: "Clearing the control plane endpoint"}, Err: refused}},
			controlplanev1.ClearingEndpointReason, "denied by policy no-endpoint-change"},
		{"waiting", scope{Pass: observed.Pass{Deletion: &observed.Step{Reason: infrav1.WaitingForWorkspaceDeletionReason, Message: "Waiting for Workspace w to be destroyed"}}},
			infrav1.WaitingForWorkspaceDeletionReason, "Workspace w"},
	} {
		cp := availableCP()
		now := metav1.Now()
		cp.DeletionTimestamp = &now
		s := tc.s
		s.cp = cp
		setStatus(&s)
		d := conditions.Get(cp, infrav1.DeletingCondition)
		if d == nil || d.Status != metav1.ConditionTrue || d.Reason != tc.wantReason || !strings.Contains(d.Message, tc.wantInText) {
			t.Errorf("%s: Deleting = %+v, want True/%s containing %q", tc.name, d, tc.wantReason, tc.wantInText)
		}
		if conditions.IsTrue(cp, infrav1.ReadyCondition) || conditions.IsTrue(cp, controlplanev1.AvailableCondition) || cp.Status.Ready {
			t.Errorf("%s: a deleting control plane is still Ready or Available", tc.name)
		}
	}
}
