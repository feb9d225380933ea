package controlplane

import (
	"strconv"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

func TestNextVersion(t *testing.T) {
	cases := []struct {
		spec, running string
		initialized   bool
		want          string
	}{
		{"v1.32", "v1.29", true, "v1.30"},
		{"1.32.1", "1.29.3", true, "1.30"},
		{"v1.32", "v1.30", true, "v1.31"},
		{"v1.32", "v1.31", true, "v1.32"},
		{"v1.32.1", "v1.31.4", true, "v1.32.1"},
		{"v1.31.2", "v1.31.1", true, "v1.31.2"},
		// Not initialized: created at spec.version, nothing to step.
		{"v1.32", "v1.29", false, "v1.32"},
		{"v1.32", "", false, "v1.32"},
		// A running version CAPT cannot read (a control plane from before status.version).
		{"v1.32", "", true, "v1.32"},
		{"v1.32", "latest", true, "v1.32"},
		// A lowered version (admission refuses it; an old object may carry one).
		{"v1.29", "v1.32", true, "v1.29"},
	}
	for _, tc := range cases {
		if got := nextVersion(tc.spec, tc.running, tc.initialized); got != tc.want {
			t.Errorf("nextVersion(%q, %q, %v) = %q, want %q", tc.spec, tc.running, tc.initialized, got, tc.want)
		}
	}
}

func TestRollingOutCondition(t *testing.T) {
	cases := []struct {
		name                    string
		initialized             bool
		spec, running, applying string
		want                    metav1.ConditionStatus
		wantInMessage           string
	}{
		{"up to date", true, "v1.32", "v1.32", "v1.32", metav1.ConditionFalse, ""},
		{"creating", false, "v1.32", "", "v1.32", metav1.ConditionFalse, ""},
		{"stepping", true, "v1.32", "v1.29", "v1.30", metav1.ConditionTrue, "one minor version at a time: running v1.29, applying v1.30"},
		{"last step", true, "v1.32", "v1.31", "v1.32", metav1.ConditionTrue, "running v1.31, applying v1.32"},
		{"apply not reached", true, "v1.32", "v1.31", "", metav1.ConditionTrue, "from v1.31 to v1.32"},
	}
	for _, tc := range cases {
		c := rollingOutCondition(tc.initialized, tc.spec, tc.running, tc.applying, "")
		wantReason := controlplanev1.NotRollingOutReason
		if tc.want == metav1.ConditionTrue {
			wantReason = controlplanev1.RollingOutReason
		}
		if c.Status != tc.want || c.Reason != wantReason || !strings.Contains(c.Message, tc.wantInMessage) {
			t.Errorf("%s: %+v", tc.name, c)
		}
	}
}

func TestVersionEvidence(t *testing.T) {
	ws := func(generation, observed int64, output string) *workspace.Workspace {
		w := &workspace.Workspace{}
		w.Name, w.Generation = "ws", generation
		w.Status.Conditions = []workspace.Condition{{Type: workspace.ConditionReady, Status: metav1.ConditionTrue, ObservedGeneration: observed}}
		if output != "" {
			w.Status.AtProvider.Outputs = map[string]apiextensionsv1.JSON{"cluster_version": {Raw: []byte(strconv.Quote(output))}}
		}
		return w
	}
	failed := func(w *workspace.Workspace) *workspace.Workspace {
		w.Status.Conditions = append(w.Status.Conditions, workspace.Condition{Type: workspace.ConditionSynced, Status: metav1.ConditionFalse})
		return w
	}
	cases := []struct {
		name    string
		ws      *workspace.Workspace
		v       string
		applied bool
		why     string
	}{
		{"output shows it", ws(3, 0, "1.30"), "v1.30", true, ""},
		{"output shows it, patch ignored", ws(3, 0, "1.30"), "1.30.4", true, ""},
		{"output shows the previous one", ws(3, 0, "1.29"), "v1.30", false, ""},
		{"output wins over a generation", ws(3, 3, "1.29"), "v1.30", false, ""},
		{"output not a version", ws(3, 0, "latest"), "v1.30", false, "not a Kubernetes version"},
		{"no output, generation applied", ws(3, 3, ""), "v1.30", true, ""},
		{"no output, generation not applied yet", ws(3, 2, ""), "v1.30", false, ""},
		{"no output, no generation: cannot tell", ws(3, 0, ""), "v1.30", false, "cluster_version"},
		{"output shows it, last apply failed", failed(ws(3, 0, "1.30")), "v1.30", false, ""},
	}
	for _, tc := range cases {
		applied, why := versionEvidence(tc.ws, tc.v)
		if applied != tc.applied || (tc.why == "") != (why == "") || !strings.Contains(why, tc.why) {
			t.Errorf("%s: applied %v, why %q", tc.name, applied, why)
		}
	}
}
